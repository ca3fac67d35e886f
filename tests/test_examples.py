"""Every jobs file in ``examples/`` validates with only the extras its header names.

A header that says ``pip install jobrunner[postgres]`` may need psycopg; any other
example must validate, imports included, without the optional drivers, so the
validation runs with the extras it does not name made unimportable.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import env

ROOT = Path(__file__).resolve().parents[1]
# Each extra of pyproject.toml and the module it installs.
EXTRAS = {"postgres": "psycopg", "gevent": "gevent"}
_NAMED = re.compile(r"jobrunner\[([a-z,]+)\]")


def jobs_files() -> list[Path]:
    return [
        path
        for path in sorted((ROOT / "examples").glob("*.y*ml"))
        if re.search(r"^version:", path.read_text(encoding="utf-8"), re.MULTILINE)
    ]


def named_extras(path: Path) -> set[str]:
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    return {extra for group in _NAMED.findall("\n".join(header)) for extra in group.split(",")}


@pytest.mark.parametrize("path", jobs_files(), ids=lambda p: p.name)
def test_example_validates_with_the_extras_its_header_names(path: Path) -> None:
    blocked = [EXTRAS[extra] for extra in sorted(set(EXTRAS) - named_extras(path))]
    code = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None\n"
        "from jobrunner.cli import main\n"
        "sys.exit(main(['validate', sys.argv[1]]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path.relative_to(ROOT))],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith(f"{path.relative_to(ROOT)}: OK")


def test_there_are_jobs_files_in_examples() -> None:
    assert len(jobs_files()) >= 4

"""Every YAML and Python snippet of README.md and docs/*.md works as written.

What a newcomer copies must work, and other people write docs at the same time, so
the rules are few. A fenced block (```yaml or ```python, indented or not) is checked
according to what it is:

- **A complete jobs file**: a ```yaml block with a top-level ``version:`` key. It is
  validated as is (``jobrunner validate --no-imports``: the functions it names are
  examples). ``${VAR}`` references are given placeholder values (``REDIS_URL`` and
  ``DATABASE_URL`` loopback URLs, anything else a dummy string).
- **A fragment of one**: any other ```yaml block whose top-level keys are keys of
  ``jobs.yaml`` (``instances:``, ``tasks:``, ``schedules:``, ``defaults:``...). It is
  wrapped into a minimal file (``version: 1``, plus a stand-in for each task or
  instance it names but does not define) and validated.
- **Marked blocks**: an HTML comment on the line right before the fence says what a
  block is, and is invisible in the rendered page:

  - ``<!-- docs-test: instance -->``: the keys of one instance (``serializer:``,
    ``consumer:`` ...); wrapped into ``instances: {example: ...}`` and validated.
  - ``<!-- docs-test: parse-only -->``: YAML that is not a jobs file (Docker
    Compose, Kubernetes, a list of alternatives): only parsed.
  - ``<!-- docs-test: skip -->``: not checked at all (a deliberately broken file).
  - ``<!-- docs-test: compile-only -->`` (Python): compiled, not run (it needs a module
    the page does not build, such as generated handles).

- **Python**: compiled. A block that calls ``jobrunner.load(`` is also run, in a
  subprocess, against a real ``jobrunner run`` consumer of the nearest complete jobs
  file above it in the same page (the private Redis standing in for ``REDIS_URL`` and
  for any loopback Redis URL written out, each task function it names stubbed to return
  ``"ok"``); when it sends a task, that task must run.

YAML is read as jobrunner reads it: only ``true`` and ``false`` are booleans, so
``on: [error]`` keeps its key ``on``.

A block that fits none of these fails with its file and line: mark it.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobrunner.config import load_config, load_schema
from jobrunner.errors import ConfigError
from tests.support.processes import Runner, env

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>yaml|python)[ \t]*\n(?P<body>.*?)^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)
_MARK = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[a-z-]+)\s*-->\s*$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")
PLACEHOLDERS = {
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgresql://jobrunner@127.0.0.1:5432/jobrunner",
    "JOBRUNNER_SECRET": "docs-secret",
}


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int
    lang: str
    text: str
    mark: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = _MARK.search(before)
            found.append(
                Snippet(
                    page,
                    text.count("\n", 0, match.start()) + 1,
                    match.group("lang"),
                    textwrap.dedent(match.group("body")),
                    mark.group("kind") if mark else None,
                )
            )
    return found


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2's booleans, as jobrunner's own loader has."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
_LOOPBACK_REDIS = re.compile(r"redis://127\.0\.0\.1:6379/\d+")


SNIPPETS = snippets()
TOP_LEVEL = set(load_schema()["properties"])


def environ_for(text: str) -> dict[str, str]:
    return {name: PLACEHOLDERS.get(name, "docs-value") for name in _VARIABLE.findall(text)}


def validate(text: str, snippet: Snippet, folder: Path) -> None:
    path = folder / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path, check_imports=False, environ=environ_for(text))
    except ConfigError as exc:
        pytest.fail(f"{snippet.where}: the snippet does not validate:\n{exc.format()}\n{text}")


def wrap_fragment(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with ``version: 1`` and stand-ins for the tasks and instances it names."""
    wrapped: dict[str, Any] = {"version": 1, **data}
    tasks = dict(wrapped.get("tasks") or {})
    instances = dict(wrapped.get("instances") or {})
    definitions = [*tasks.values(), *(wrapped.get("schedules") or {}).values()]
    for definition in definitions:
        if not isinstance(definition, dict):
            continue
        task = definition.get("task")
        if isinstance(task, str) and task not in tasks:
            tasks[task] = {"function": "examples.tasks:count_beans"}
        instance = definition.get("instance")
        if isinstance(instance, str) and instance not in instances:
            instances[instance] = {"backend": "sqlite", "filename": f"{instance}.db"}
    if tasks:
        wrapped["tasks"] = tasks
    if instances:
        wrapped["instances"] = instances
    return wrapped


@pytest.mark.parametrize(
    "snippet", [s for s in SNIPPETS if s.lang == "yaml"], ids=lambda s: s.where
)
def test_yaml_snippet(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.mark == "skip":
        return
    try:
        data = yaml.load(snippet.text, Loader=_Loader)
    except yaml.YAMLError as exc:
        pytest.fail(f"{snippet.where}: the snippet is not valid YAML:\n{exc}")
    if snippet.mark == "parse-only":
        return
    if snippet.mark == "instance":
        assert isinstance(data, dict), f"{snippet.where}: an instance's keys are a mapping"
        wrapped = {"version": 1, "instances": {"example": data}}
        validate(yaml.safe_dump(wrapped, sort_keys=False), snippet, tmp_path)
        return
    assert snippet.mark is None, f"{snippet.where}: unknown mark {snippet.mark!r}"
    keys = {str(key) for key in data} if isinstance(data, dict) else set()
    fragment = bool(keys) and keys <= TOP_LEVEL | {k for k in keys if k.startswith("x-")}
    assert fragment, (
        f"{snippet.where}: neither a jobs file nor a fragment of one (top level: {data!r:.80}); "
        "mark it as described in tests/test_docs_snippets.py"
    )
    if "version" in data:
        validate(snippet.text, snippet, tmp_path)
    else:
        validate(yaml.safe_dump(wrap_fragment(data), sort_keys=False), snippet, tmp_path)


PYTHON = [s for s in SNIPPETS if s.lang == "python"]


@pytest.mark.parametrize("snippet", PYTHON, ids=lambda s: s.where)
def test_python_snippet_compiles(snippet: Snippet) -> None:
    compile(snippet.text, snippet.where, "exec")


def jobs_file_above(snippet: Snippet) -> Snippet:
    above = [
        s
        for s in SNIPPETS
        if s.page == snippet.page
        and s.lang == "yaml"
        and s.line < snippet.line
        and re.search(r"^version:", s.text, re.MULTILINE)
    ]
    assert above, f"{snippet.where}: no complete jobs file above it to run it against"
    return above[-1]


def stub_functions(data: dict[str, Any], project: Path) -> None:
    """A module for every ``function:`` of ``data``, each function returning "ok"."""
    for section in ("tasks", "schedules"):
        for definition in (data.get(section) or {}).values():
            function = definition.get("function") if isinstance(definition, dict) else None
            if not isinstance(function, str):
                continue
            module, _, name = function.partition(":")
            path = project.joinpath(*module.split(".")).with_suffix(".py")
            path.parent.mkdir(parents=True, exist_ok=True)
            for folder in path.relative_to(project).parents:
                (project / folder / "__init__.py").touch()
            with path.open("a", encoding="utf-8") as fh:
                fh.write(f"\ndef {name}(*args, **kwargs):\n    return 'ok'\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "snippet",
    [s for s in PYTHON if "jobrunner.load(" in s.text and s.mark != "compile-only"],
    ids=lambda s: s.where,
)
def test_python_snippet_runs_against_a_real_consumer(
    snippet: Snippet, project: Path, redis_url: str
) -> None:
    jobs = jobs_file_above(snippet)
    config = project / "jobs.yaml"
    # Never the shared Redis of the machine: the test's private one stands in for it.
    config.write_text(_LOOPBACK_REDIS.sub(redis_url, jobs.text), encoding="utf-8")
    stub_functions(yaml.load(jobs.text, Loader=_Loader), project)
    (project / "snippet.py").write_text(snippet.text, encoding="utf-8")
    variables = {**environ_for(jobs.text), "REDIS_URL": redis_url}
    with Runner(config, **variables) as runner:
        runner.wait_for(" jobrunner: watching ")
        done = subprocess.run(
            [sys.executable, "snippet.py"],
            cwd=project,
            env=env(**variables),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{snippet.where}:\n{done.stderr}"
        if "app.tasks." in snippet.text or "enqueue" in snippet.text:
            runner.wait_for(" executed in ")
    assert "Traceback" not in runner.output


def test_every_page_with_snippets_is_seen() -> None:
    # A change to the fence syntax must not make this test check nothing.
    assert len([s for s in SNIPPETS if s.lang == "yaml"]) >= 20
    assert PYTHON

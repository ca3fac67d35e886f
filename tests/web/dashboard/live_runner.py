"""What the browser tests share: a ``jobrunner run`` config on SQLite or Redis, the
dashboard address it logs, and the pages a phone-width window must fit."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from tests.support.processes import Runner

_ADDRESS = re.compile(r"INFO jobrunner\.http: dashboard on (http://\S+)/")

CONFIG = """
version: 1
http: {{listen: "127.0.0.1:0"}}
instances:
  default:
    {storage}
    events: {{history: true}}
tasks:
  record: {{function: sample_tasks:record, retries: 0}}
{extra}schedules:
  tick: {{function: sample_tasks:record, cron: "0 4 * * *", args: [{out}, tick]}}
"""

# Every page of the dashboard's navigation, and a schedule's own page.
PAGES = ("/", "/runs", "/schedules", "/schedules/tick", "/queue", "/dead-letters", "/config")

# A phone held upright (CSS pixels), as the issue asks.
PHONE = (390, 844)

# The document's width and the viewport's, and (to tell why they differ) what sticks out
# beyond the viewport outside the tables, which scroll inside themselves on a phone.
WIDTHS = """(() => {
  const inner = window.innerWidth;
  const wider = Array.from(document.querySelectorAll("body *"))
    .filter((e) => !e.closest("table") && e.getBoundingClientRect().right > inner + 0.5)
    .map((e) => e.tagName.toLowerCase() + "." + (e.getAttribute("class") || ""));
  return [document.documentElement.scrollWidth, inner, wider];
})()"""


def write_config(folder: Path, storage: str, extra: str = "") -> Path:
    """``folder/jobs.yaml`` on ``storage`` (YAML under ``default:``), its runs recorded in
    ``folder/out.jsonl``; ``extra`` is added to its tasks."""
    path = folder / "jobs.yaml"
    out = str(folder / "out.jsonl")
    text = textwrap.dedent(CONFIG).format(storage=storage, extra=extra, out=f'"{out}"')
    path.write_text(text.lstrip("\n"))
    return path


def storages(tmp_path: Path, redis_url: str) -> dict[str, tuple[Path, str]]:
    """Per backend: a folder (with a ``producer`` folder in it) and the storage's YAML."""
    folders = {name: tmp_path / name for name in ("sqlite", "redis")}
    for folder in folders.values():
        (folder / "producer").mkdir(parents=True)
    return {
        "sqlite": (
            folders["sqlite"],
            f"backend: sqlite\n    filename: {folders['sqlite'] / 'jobs.db'}",
        ),
        "redis": (folders["redis"], f"backend: redis\n    url: {redis_url}"),
    }


def dashboard_address(runner: Runner) -> str:
    """The dashboard's base URL (no trailing slash) that ``runner`` logged."""
    output = runner.wait_for("INFO jobrunner.http: dashboard on ")
    found = _ADDRESS.search(output)
    assert found, output
    return found.group(1)

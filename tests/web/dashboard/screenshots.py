"""Take the screenshots of docs/dashboard.md: ``python -m tests.web.dashboard.screenshots DIR``.

Starts a real ``jobrunner run`` on SQLite in a temporary folder, gives it some work
(runs that pass and fail, a delayed task, a dead letter, a paused schedule, a
rejected reload), and saves each page wide and the overview at phone width.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import jobrunner
from tests.support.processes import Runner
from tests.web.dashboard.browser import chromium

CONFIG = """
version: 1
http: {listen: "127.0.0.1:0"}
instances:
  default: {backend: sqlite, filename: jobs.db, events: {history: true}}
tasks:
  add: {function: sample_tasks:add}
  fail: {function: sample_tasks:fail, retries: 1, retry_delay: 1s}
  send_report: {function: sample_tasks:echo}
schedules:
  heartbeat: {function: sample_tasks:add, cron: "*/5 * * * *", args: [1, 2]}
  eu_report:
    task: send_report
    cron: {minute: "*/15", hour: "8-18", day_of_week: "1-5"}
    timezone: Europe/Berlin
    args: [eu]
  nightly_backup: {function: sample_tasks:echo, cron: "0 3 * * *"}
"""
PAGES = {
    "overview": "/",
    "runs": "/runs",
    "schedules": "/schedules",
    "schedule": "/schedules/eu_report",
    "queue": "/queue",
    "dead-letters": "/dead-letters",
    "configuration": "/config",
}


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copy(Path(__file__).parents[2] / "support" / "sample_tasks.py", folder)
        config = folder / "jobs.yaml"
        config.write_text(textwrap.dedent(CONFIG).lstrip())
        with Runner(config, cwd=folder) as runner:
            output = runner.wait_for("INFO jobrunner.http: dashboard on ")
            base = output.split("dashboard on ", 1)[1].split()[0].rstrip("/")
            app = jobrunner.load(config)
            for n in range(12):
                app.tasks.add(n, n)
            app.tasks.fail("<script>alert('not run')</script> is shown as text")
            app.tasks.send_report.schedule(args=("us",), delay=3600)
            ghost = jobrunner.load(_with_ghost(config, folder))
            ghost.tasks.ghost()
            runner.wait_for("moved to the dead letters")
            time.sleep(3)  # the failing task's retry
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1100, "height": 700})
                page.on("dialog", lambda dialog: dialog.accept())
                page.goto(f"{base}/schedules/nightly_backup")
                page.click("form[action$='/pause'] button")
                page.wait_for_selector(".notice")
                config.write_text(config.read_text().replace("retries: 1,", "retries: -1,"))
                runner.wait_for("reload rejected")
                for name, path in PAGES.items():
                    page.goto(base + path)
                    page.screenshot(path=out / f"dashboard-{name}.png", full_page=True)
                phone = browser.new_page(viewport={"width": 390, "height": 760})
                phone.goto(base + "/")
                phone.screenshot(path=out / "dashboard-phone.png", full_page=True)
            app.close()
            ghost.close()
            runner.stop()


def _with_ghost(config: Path, folder: Path) -> Path:
    other = folder / "producer"
    other.mkdir()
    text = config.read_text().replace("filename: jobs.db", f"filename: {folder / 'jobs.db'}")
    path = other / "jobs.yaml"
    path.write_text(text.replace("tasks:\n", "tasks:\n  ghost: {function: sample_tasks:add}\n"))
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""The dashboard in a real headless Chromium against a real ``jobrunner run``.

On SQLite and on Redis: a run enqueued from Python appears on the open overview
without a reload (server-sent events); a schedule paused from its page is reported
paused by ``jobrunner list``; a dead letter requeued from its page runs; at phone
width no page overflows sideways. The two backends run concurrently. Screenshots are
kept in each test's tmp folder.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from tests.integration.helpers import values, wait_for_records
from tests.support.processes import Runner, cli
from tests.web.dashboard.browser import chromium
from tests.web.dashboard.live_runner import (
    PAGES,
    PHONE,
    WIDTHS,
    dashboard_address,
    storages,
    write_config,
)


def _scenario(browser: Any, folder: Path, storage: str) -> None:
    config = write_config(folder, storage)
    out = folder / "out.jsonl"
    shots = folder / "screenshots"
    shots.mkdir()
    with Runner(config, cwd=folder.parent) as runner:  # where sample_tasks.py is
        base = dashboard_address(runner)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("dialog", lambda dialog: dialog.accept())

        # 1. A run enqueued from Python appears on the open overview, without a reload.
        page.goto(f"{base}/")
        page.wait_for_selector("#live.on", timeout=30_000)  # the event stream is open
        page.evaluate("window.notReloaded = true")
        app = jobrunner.load(config)
        result = app.tasks.record(str(out), "from-python")
        page.wait_for_selector(f'tr.run.complete[data-id="{result.id}"]', timeout=30_000)
        assert page.evaluate("window.notReloaded") is True
        page.screenshot(path=shots / "overview.png", full_page=True)

        # 2. Pause a schedule from its page; `jobrunner list` reports it paused.
        page.goto(f"{base}/schedules/tick")
        page.click("form[action$='/schedules/tick/pause'] button")
        page.wait_for_selector(".notice:has-text('Paused tick')")
        listed = cli("list", str(config), "--format", "json", cwd=folder.parent)
        assert listed.returncode == 0, listed.stderr
        assert '"state": "paused"' in listed.stdout
        assert '"paused_by": "dashboard 127.0.0.1"' in listed.stdout
        page.screenshot(path=shots / "schedule-paused.png", full_page=True)

        # 3. A message for a task this runner does not know becomes a dead letter; once
        #    the task is added (hot reload), the dead letter requeued from the page runs.
        ghost = "  ghost: {function: sample_tasks:record, retries: 0}\n"
        producer = jobrunner.load(write_config(folder / "producer", storage, ghost))
        producer.tasks.ghost(str(out), "requeued")
        page.goto(f"{base}/dead-letters")
        page.wait_for_selector("td.reason:has-text('unknown task')", timeout=30_000)
        page.screenshot(path=shots / "dead-letter.png", full_page=True)
        write_config(folder, storage, ghost)
        runner.wait_for(" jobrunner: reloaded ")
        page.click("form[action$='/requeue'] button")
        page.wait_for_selector(".notice:has-text('Requeued dead letter')")
        wait_for_records(out, 2)
        assert values(out) == ["from-python", "requeued"]
        page.goto(f"{base}/dead-letters")
        assert page.locator("table.letters").count() == 0

        # 4. At phone width no page is wider than the screen (tables scroll inside).
        phone = browser.new_page(viewport={"width": PHONE[0], "height": PHONE[1]})
        for path in PAGES:
            phone.goto(base + path)
            scroll_width, inner_width, wider = phone.evaluate(WIDTHS)
            assert scroll_width <= inner_width == PHONE[0], (path, scroll_width, inner_width, wider)
        phone.goto(f"{base}/")
        phone.screenshot(path=shots / "phone.png", full_page=True)
        phone.close()
        app.close()
        producer.close()
        page.close()  # its event stream too: a graceful stop waits for open responses
        assert runner.stop() == 0


@pytest.mark.slow
def test_dashboard_in_chromium_on_sqlite_and_redis(
    tmp_path: Path, project: Path, redis_url: str
) -> None:
    backends = storages(tmp_path, redis_url)

    # Playwright's sync API is bound to its thread: one browser per backend.
    def run(name: str) -> None:
        with chromium() as browser:
            _scenario(browser, *backends[name])

    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(run, name) for name in backends]:
            future.result()
    for folder, _ in backends.values():
        assert sorted(p.name for p in (folder / "screenshots").iterdir()) == [
            "dead-letter.png",
            "overview.png",
            "phone.png",
            "schedule-paused.png",
        ]

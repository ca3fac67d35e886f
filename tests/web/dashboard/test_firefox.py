"""The dashboard in a real headless Firefox (Debian's ``firefox-esr``) against a real
``jobrunner run``.

On SQLite and on Redis: a run enqueued from Python appears on the open overview
without a reload (server-sent events); a schedule paused from its page (the form
with its CSRF token, after the confirm() question) is reported paused by
``jobrunner list``; at phone width no page overflows sideways. One Firefox serves
both backends in turn; its processes and profile are gone afterwards. Screenshots
are kept in each test's tmp folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import jobrunner
from tests.integration.helpers import values, wait_for_records
from tests.support.processes import Runner, cli
from tests.web.dashboard.firefox import Firefox, firefox, group_members
from tests.web.dashboard.live_runner import (
    PAGES,
    PHONE,
    WIDTHS,
    dashboard_address,
    storages,
    write_config,
)
from tests.web.support import wait_until

PAUSE = "form[action$='/schedules/tick/pause']"


def _scenario(browser: Firefox, folder: Path, storage: str) -> None:
    config = write_config(folder, storage)
    out = folder / "out.jsonl"
    shots = folder / "screenshots"
    shots.mkdir()
    with Runner(config, cwd=folder.parent) as runner:  # where sample_tasks.py is
        base = dashboard_address(runner)
        tab = browser.new_tab(1200, 900)

        # 1. A run enqueued from Python appears on the open overview, without a reload.
        tab.goto(f"{base}/")
        tab.wait_for("document.querySelector('#live.on') !== null")  # the event stream is open
        tab.evaluate("window.notReloaded = true")
        app = jobrunner.load(config)
        result = app.tasks.record(str(out), "from-python")
        row = f'tr.run.complete[data-id="{result.id}"]'
        tab.wait_for(f"document.querySelector('{row}') !== null")
        assert tab.evaluate("window.notReloaded") is True
        wait_for_records(out, 1)
        assert values(out) == ["from-python"]
        tab.screenshot(shots / "overview.png")

        # 2. Pause a schedule from its page; `jobrunner list` reports it paused.
        tab.goto(f"{base}/schedules/tick")
        csrf = tab.evaluate(f'document.querySelector("{PAUSE} input[name=csrf]").value')
        assert len(csrf) >= 16, csrf
        asked = len(browser.prompts)
        tab.click(f"{PAUSE} button")
        tab.wait_for("document.querySelector('.notice')?.textContent.includes('Paused tick')")
        assert browser.prompts[asked:] == ["Pause schedule tick in every runner?"]
        listed = cli("list", str(config), "--format", "json", cwd=folder.parent)
        assert listed.returncode == 0, listed.stderr
        assert '"state": "paused"' in listed.stdout
        assert '"paused_by": "dashboard 127.0.0.1"' in listed.stdout
        tab.screenshot(shots / "schedule-paused.png")
        tab.close()  # its event stream too: a graceful stop waits for open responses

        # 3. At phone width no page is wider than the screen (tables scroll inside).
        phone = browser.new_tab(*PHONE)
        for path in PAGES:
            phone.goto(base + path)
            scroll_width, inner_width, wider = phone.evaluate(WIDTHS)
            assert scroll_width <= inner_width == PHONE[0], (path, scroll_width, inner_width, wider)
        phone.goto(f"{base}/")
        assert phone.evaluate("document.querySelectorAll('tr.run').length") == 1
        phone.screenshot(shots / "phone.png")
        phone.close()
        app.close()
        assert runner.stop() == 0


@pytest.mark.slow
def test_dashboard_in_firefox_on_sqlite_and_redis(
    tmp_path: Path, project: Path, redis_url: str
) -> None:
    backends = storages(tmp_path, redis_url)
    with firefox() as browser:
        pid, profile = browser.pid, browser.profile
        for folder, storage in backends.values():
            _scenario(browser, folder, storage)
    for folder, _ in backends.values():
        assert sorted(p.name for p in (folder / "screenshots").iterdir()) == [
            "overview.png",
            "phone.png",
            "schedule-paused.png",
        ]
    # Nothing of that Firefox is left behind.
    assert not profile.exists()
    wait_until(lambda: not group_members(pid), what=f"Firefox processes of group {pid} ended")

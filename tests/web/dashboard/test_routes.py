"""Every page and action of the dashboard over a real SQLite storage (Starlette's TestClient).

The actions go through the real stores and huey: a pause is read back with
``ScheduleState``, a revoke with huey's own flags, a requeue from the queue.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jobrunner.delivery import store_for
from jobrunner.errors import Issue
from jobrunner.events import Event, history_for
from jobrunner.scheduling._state import ScheduleState
from tests.web.dashboard.support import CONFIG, bury, csrf_of, make_client, post

PAGES = ["/", "/runs", "/schedules", "/schedules/tick", "/queue", "/dead-letters", "/config"]


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(CONFIG)


@pytest.fixture
def site(config: Path) -> Iterator[Any]:
    client, app, dash = make_client(config)
    with client:
        yield client, app, dash
    app.close()


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(site: Any, path: str) -> None:
    client, _, _ = site
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<main id="main">' in response.text


def test_fragment_is_main_only(site: Any) -> None:
    client, _, _ = site
    response = client.get("/schedules", headers={"X-Dashboard-Fragment": "1"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="schedule-tick"' in response.text


def test_pages_show_what_the_storage_holds(site: Any) -> None:
    client, app, _ = site
    app.tasks.add(1, 2)
    app.tasks.add.schedule(args=(3, 4), delay=3600)
    overview = client.get("/").text
    # A producer's delayed task waits in the queue with its eta until a consumer takes it.
    assert '<dd data-count="pending">2</dd>' in overview
    queue = client.get("/queue").text
    assert queue.count('<tr data-id="') == 2
    assert queue.count("<td>now</td>") == 1
    schedules = client.get("/schedules").text
    assert "every 5 minutes" in schedules
    assert "Europe/Berlin" in schedules


def test_unknown_schedule_is_404(site: Any) -> None:
    client, _, _ = site
    assert client.get("/schedules/nope").status_code == 404
    token = csrf_of(client)
    response = post(client, "/schedules/nope/pause", token, confirm="yes")
    assert response.status_code == 404


def test_action_without_confirmation_asks_and_changes_nothing(site: Any) -> None:
    client, app, _ = site
    response = post(client, "/schedules/tick/pause", csrf_of(client))
    assert response.status_code == 200
    assert 'name="confirm" value="yes"' in response.text
    assert ScheduleState(app.huey().storage).paused("tick") is None


def test_pause_and_resume(site: Any) -> None:
    client, app, _ = site
    state = ScheduleState(app.huey().storage)
    token = csrf_of(client)
    response = post(client, "/schedules/tick/pause", token, confirm="yes", back="/schedules")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/schedules?notice=Paused")
    pause = state.paused("tick")
    assert pause is not None
    assert pause.by == "dashboard testclient"
    assert "paused" in client.get("/schedules/tick").text
    assert post(client, "/schedules/tick/resume", token, confirm="yes").status_code == 303
    assert state.paused("tick") is None


def test_trigger_enqueues_one_run(site: Any) -> None:
    client, app, _ = site
    response = post(client, "/schedules/tick/trigger", csrf_of(client), confirm="yes")
    assert response.status_code == 303
    assert app.huey().pending_count() == 1
    assert "tick" in client.get("/queue").text


def test_revoke_and_restore_a_task(site: Any) -> None:
    client, app, _ = site
    token = csrf_of(client)
    assert post(client, "/tasks/add/revoke", token, confirm="yes").status_code == 303
    assert app.tasks.add.is_revoked()
    assert post(client, "/tasks/add/restore", token, confirm="yes").status_code == 303
    assert not app.tasks.add.is_revoked()


def test_revoke_and_restore_a_queued_run(site: Any) -> None:
    client, app, _ = site
    result = app.tasks.add(1, 2)
    token = csrf_of(client)
    path = f"/queue/default/{result.id}"
    assert post(client, f"{path}/revoke", token, confirm="yes").status_code == 303
    assert app.huey().is_revoked(result.id)
    assert "revoked" in client.get("/queue").text
    assert post(client, f"{path}/restore", token, confirm="yes").status_code == 303
    assert not app.huey().is_revoked(result.id)


def test_requeue_and_purge_dead_letters(site: Any) -> None:
    client, app, _ = site
    app_huey = app.huey()
    first = bury(app_huey, b"first", "jobrunner.tasks.gone", "unknown task gone")
    bury(app_huey, b"second", None, "cannot be deserialized")
    page = client.get("/dead-letters").text
    assert "unknown task gone" in page
    assert "cannot be deserialized" in page
    token = csrf_of(client, "/dead-letters")
    response = post(client, f"/dead-letters/default/{first}/requeue", token, confirm="yes")
    assert response.status_code == 303
    assert app_huey.storage.queue_size() == 1
    assert post(client, "/dead-letters/default/purge", token, confirm="yes").status_code == 303
    store = store_for(app_huey.storage)
    assert store is not None
    assert store.dead_letters() == []


def test_back_cannot_leave_the_site(site: Any) -> None:
    client, _, _ = site
    token = csrf_of(client)
    response = post(client, "/schedules/tick/pause", token, confirm="yes", back="//evil.example/")
    assert response.headers["location"].startswith("/?notice=")


def _actions(app: Any) -> list[str]:
    letter = bury(app.huey(), b"x", None, "cannot be deserialized")
    queued = app.tasks.add(1, 2)
    return [
        "/schedules/tick/pause",
        "/schedules/tick/trigger",
        "/tasks/add/revoke",
        f"/queue/default/{queued.id}/revoke",
        f"/dead-letters/default/{letter}/requeue",
        "/dead-letters/default/purge",
    ]


def _unchanged(app: Any) -> None:
    app_huey = app.huey()
    store = store_for(app_huey.storage)
    assert store is not None
    assert ScheduleState(app_huey.storage).paused("tick") is None
    assert not app.tasks.add.is_revoked()
    assert app_huey.storage.queue_size() == 1  # the one queued run, not revoked
    assert not app_huey.is_revoked(app_huey.pending()[0].id)
    assert len(store.dead_letters()) == 1


@pytest.mark.parametrize("token", [None, "", "0" * 64], ids=["missing", "empty", "wrong"])
def test_post_without_a_valid_csrf_token_is_refused(site: Any, token: str | None) -> None:
    client, app, _ = site
    csrf_of(client)  # the browser has its cookie; the form lacks the matching token
    for path in _actions(app):
        response = post(client, path, token, confirm="yes")
        assert response.status_code == 403, path
        assert "CSRF" in response.text
    _unchanged(app)


def test_post_with_another_browsers_token_is_refused(config: Path, site: Any) -> None:
    client, app, _dash = site
    other, _, _ = make_client(config)
    other.app = client.app  # same server, another browser (cookie jar)
    stolen = csrf_of(other)
    response = post(client, "/schedules/tick/pause", stolen, confirm="yes")
    assert response.status_code == 403
    assert ScheduleState(app.huey().storage).paused("tick") is None


def test_read_only_refuses_every_action(config: Path) -> None:
    client, app, _ = make_client(config, read_only=True)
    with client:
        pages = [client.get(path).text for path in PAGES]
        assert all('<form class="action"' not in page for page in pages)
        token = "0" * 64
        for path in _actions(app):
            response = post(client, path, token, confirm="yes")
            assert response.status_code == 403, path
            assert "read-only" in response.text
        _unchanged(app)
    app.close()


def test_token_guards_pages_events_and_actions(config: Path) -> None:
    client, app, _ = make_client(config, token="s3cret-token")
    with client:
        response = client.get("/queue?x=1", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=/queue%3Fx%3D1"
        assert client.get("/events").status_code == 401
        assert post(client, "/schedules/tick/pause", "0" * 64, confirm="yes").status_code == 401
        bearer = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/", headers=bearer).status_code == 200
        wrong = client.get("/", headers={"Authorization": "Bearer nope"}, follow_redirects=False)
        assert wrong.status_code == 303
        login = client.post("/login", data={"token": "nope", "next": "/"}, follow_redirects=False)
        assert login.status_code == 401
        assert "s3cret-token" not in login.text
        login = client.post(
            "/login", data={"token": "s3cret-token", "next": "/queue"}, follow_redirects=False
        )
        assert login.status_code == 303
        assert login.headers["location"] == "/queue"
        assert "s3cret-token" not in login.headers["set-cookie"]
        page = client.get("/config")
        assert page.status_code == 200
        assert "s3cret-token" not in page.text
        token = csrf_of(client)
        assert post(client, "/schedules/tick/pause", token, confirm="yes").status_code == 303
        assert ScheduleState(app.huey().storage).paused("tick") is not None
    app.close()


SCRIPT = "<script>alert('x')</script>"


def test_attacker_text_is_escaped(site: Any) -> None:
    client, app, _ = site
    history = history_for(app.huey().storage)
    assert history is not None
    history.setup()
    error = f"RuntimeError: {SCRIPT}"
    failed = Event("error", time.time(), instance="default", id="r1", task="add", error=error)
    failed.traceback = f"Traceback (most recent call last):\n{error}"
    history.write([failed])
    bury(app.huey(), b"x", f"jobrunner.tasks.{SCRIPT}", f"unknown task {SCRIPT}")
    for path in ("/runs", "/", "/dead-letters", "/?notice=" + SCRIPT):
        page = client.get(path).text
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, path


def test_runs_are_filtered_by_task_schedule_outcome_and_time(site: Any) -> None:
    client, app, _ = site
    history = history_for(app.huey().storage)
    assert history is not None
    history.setup()
    now = time.time()
    history.write(
        [
            Event("complete", now - 7200, instance="default", id="old", task="add"),
            Event("complete", now - 5, instance="default", id="ok", task="add", duration=0.25),
            Event("error", now - 4, instance="default", id="bad", task="record", error="E"),
            Event("complete", now - 3, instance="default", id="sch", task="add", schedule="tick"),
            Event("started", now - 2, instance="default", id="run", task="add"),
        ]
    )

    def ids(query: str) -> list[str]:
        return re.findall(r'<tr class="run [\w-]+" data-id="(\w+)">', client.get(query).text)

    assert ids("/runs") == ["sch", "bad", "ok", "old"]  # how runs ended, newest first
    assert ids("/runs?task=record") == ["bad"]
    assert ids("/runs?outcome=error") == ["bad"]
    assert ids("/runs?schedule=tick") == ["sch"]
    assert ids("/runs?since=3600") == ["sch", "bad", "ok"]
    assert "250 ms" in client.get("/runs?task=add").text
    assert ids("/schedules/tick") == ["sch"]


def test_configuration_shows_the_last_rejected_reload_from_the_history(site: Any) -> None:
    client, app, _ = site
    assert "No reload was rejected." in client.get("/config").text
    history = history_for(app.huey().storage)
    assert history is not None
    history.setup()
    issue = Issue("/srv/jobs.yaml", 7, 48, "tasks.fail.retries", "-1 is less than 0", "hint")
    rejected = Event("reload-rejected", time.time(), error="1 error")
    rejected.data = {"errors": [issue.as_dict()]}
    history.write([rejected])
    page = client.get("/config").text
    assert "Last reload rejected" in page
    assert "/srv/jobs.yaml:7:48: tasks.fail.retries: -1 is less than 0" in page


def test_schedules_are_listed_by_pages(write_config: Callable[..., Path]) -> None:
    many = "".join(
        f'  s{n:02}: {{function: sample_tasks:add, cron: "{n} 3 * * *"}}\n' for n in range(30)
    )
    client, app, _ = make_client(write_config(CONFIG + many))  # after tick and nightly
    with client:
        first = client.get("/schedules").text
        assert first.count('<tr id="schedule-') == 25
        assert "page 1 of 2" in first
        second = client.get("/schedules?page=1").text
        assert second.count('<tr id="schedule-') == 32 - 25
    app.close()

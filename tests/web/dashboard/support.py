"""Helpers of the dashboard tests: a dashboard over a real SQLite storage, forms, dead letters."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import huey
from starlette.testclient import TestClient

import jobrunner
from jobrunner.delivery import store_for
from jobrunner.web import WebContext, make_app
from jobrunner.web.dashboard import Dashboard, dashboard_routes, owns

CONFIG = """
version: 1
instances:
  default: {backend: sqlite, filename: jobs.db, events: {history: true}}
tasks:
  add: {function: sample_tasks:add}
  record: {function: sample_tasks:record, retries: 0}
schedules:
  tick: {function: sample_tasks:add, cron: "*/5 * * * *", args: [1, 2]}
  nightly: {task: add, cron: "0 3 * * *", timezone: Europe/Berlin, args: [1, 2]}
"""

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def make_client(config: Path, **options: Any) -> tuple[TestClient, jobrunner.App, Dashboard]:
    """A dashboard served as ``jobrunner dashboard`` serves it (the endpoint's app factory)."""
    app = jobrunner.load(config)
    dash = Dashboard(app=lambda: app, **options)
    context = WebContext(get_app=lambda: app, token=dash.token)
    web = make_app(context, dashboard_routes(dash), credential_checks=[owns])
    return TestClient(web), app, dash


def csrf_of(client: TestClient, path: str = "/schedules") -> str:
    """The CSRF token of the forms on ``path`` (the client keeps the cookie)."""
    found = _CSRF.search(client.get(path).text)
    assert found, f"no form with a CSRF token on {path}"
    return found.group(1)


def bury(app_huey: huey.Huey, data: bytes, task: str | None, reason: str) -> int:
    """Put ``data`` among the dead letters as a consumer does: enqueue, take, bury."""
    store = store_for(app_huey.storage)
    assert store is not None
    store.setup()
    app_huey.storage.enqueue(data, 0)
    taken = store.take("test-host:1:abc", [])
    assert taken is not None
    return store.bury("test-host:1:abc", taken, task, reason, time.time())


def post(client: TestClient, path: str, token: str | None, **fields: str) -> Any:
    data = {"back": "/", **fields}
    if token is not None:
        data["csrf"] = token
    return client.post(path, data=data, follow_redirects=False)

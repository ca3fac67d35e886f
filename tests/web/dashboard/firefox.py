"""A real headless Firefox (Debian's ``firefox-esr``) driven over WebDriver BiDi.

Playwright's Firefox is a patched build downloaded from a CDN, and geckodriver is not
a Debian package (nor a real one on PyPI), so the test speaks the W3C WebDriver BiDi
protocol that Firefox serves itself (``--remote-debugging-port``) over one websocket.
Only the few commands the dashboard tests need are wrapped. ``browsingContext.setViewport``
gives a true phone-width viewport, which a window cannot (Firefox keeps windows at
least 500 px wide).

Firefox runs in its own process group with a fresh profile in a temporary folder; both
are gone when :func:`firefox` returns, even when the test failed. A missing browser
fails the test with the command that installs it (``.ci/run`` does); it is never skipped.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

FIREFOX = os.environ.get("JOBRUNNER_FIREFOX", "/usr/bin/firefox-esr")
_LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")
_PROMPT = "browsingContext.userPromptOpened"
_REMOTE = ["--remote-debugging-port", "0"]  # any free port: Firefox prints the one it took


class BiDiError(Exception):
    """An error answer of the browser (the command, its error and message)."""


class Firefox:
    """One BiDi session of a launched Firefox; :meth:`new_tab` opens pages."""

    def __init__(self, websocket: Any, pid: int, profile: Path) -> None:
        self._ws = websocket
        self.pid = pid  # also its process group
        self.profile = profile
        self._ids = itertools.count(1)
        self.prompts: list[str] = []  # the questions of confirm() and the like, in order

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command; wait for its answer, handling events that come meanwhile."""
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv(timeout=120))
            if message.get("method") == _PROMPT:
                self._accept(message["params"])
            elif message.get("id") == ident:
                if message["type"] == "error":
                    raise BiDiError(f"{method}: {message['error']}: {message['message']}")
                result: dict[str, Any] = message["result"]
                return result

    def _accept(self, prompt: dict[str, Any]) -> None:
        # Not waited for: the command that opened the prompt (a click) may only answer
        # once the prompt is gone, and this answer is read (and dropped) by that loop.
        self.prompts.append(prompt["message"])
        command = {"context": prompt["context"], "accept": True}
        ident = next(self._ids)
        message = {"id": ident, "method": "browsingContext.handleUserPrompt", "params": command}
        self._ws.send(json.dumps(message))

    def new_tab(self, width: int, height: int) -> Tab:
        """A new tab whose viewport is ``width`` x ``height`` CSS pixels."""
        context = self.send("browsingContext.create", type="tab")["context"]
        viewport = {"width": width, "height": height}
        self.send("browsingContext.setViewport", context=context, viewport=viewport)
        return Tab(self, context)


class Tab:
    """One top-level browsing context."""

    def __init__(self, browser: Firefox, context: str) -> None:
        self.browser = browser
        self.context = context

    def goto(self, url: str) -> None:
        self.browser.send(
            "browsingContext.navigate", context=self.context, url=url, wait="complete"
        )

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        answer = self.browser.send(
            "script.evaluate",
            expression=expression,
            target={"context": self.context},
            awaitPromise=True,
        )
        if answer["type"] == "exception":
            raise BiDiError(f"{expression}: {answer['exceptionDetails']['text']}")
        return _value(answer["result"])

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll ``expression`` until it is truthy; return its value.

        A page that is navigating cannot run scripts for a moment: that is waited out too.
        """
        deadline = time.monotonic() + timeout
        while True:
            with suppress(BiDiError):
                value = self.evaluate(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout}s in Firefox: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click (move, press, release) in the middle of the first match."""
        nodes = self.browser.send(
            "browsingContext.locateNodes",
            context=self.context,
            locator={"type": "css", "value": selector},
            maxNodeCount=1,
        )["nodes"]
        assert nodes, f"nothing matches {selector} in Firefox"
        element = {"sharedId": nodes[0]["sharedId"]}
        self.browser.send(
            "script.callFunction",
            functionDeclaration="(e) => e.scrollIntoView({block: 'center'})",
            arguments=[element],
            target={"context": self.context},
            awaitPromise=False,
        )
        middle = {"type": "element", "element": element}
        steps = [
            {"type": "pointerMove", "x": 0, "y": 0, "origin": middle},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerUp", "button": 0},
        ]
        mouse = {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}}
        self.browser.send(
            "input.performActions", context=self.context, actions=[{**mouse, "actions": steps}]
        )

    def screenshot(self, path: Path) -> None:
        """The whole page (not only the viewport) as a PNG."""
        shot = self.browser.send(
            "browsingContext.captureScreenshot", context=self.context, origin="document"
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        self.browser.send("browsingContext.close", context=self.context)


def _value(remote: dict[str, Any]) -> Any:
    """A BiDi remote value as Python (what the dashboard tests read: JSON-like values)."""
    kind, value = remote["type"], remote.get("value", ())
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_value(item) for item in value]
    if kind == "object":
        return {key: _value(item) for key, item in value}
    if kind == "number" and isinstance(value, str):
        return float(value)  # "NaN", "Infinity", "-0"
    if kind in ("string", "number", "boolean"):
        return value
    return remote  # a node, a function...: its description


@contextmanager
def firefox() -> Iterator[Firefox]:
    """A launched headless Firefox; its processes and profile are gone afterwards."""
    if not (os.path.exists(FIREFOX) or shutil.which(FIREFOX)):
        pytest.fail(f"no Firefox at {FIREFOX}: apt-get install -y firefox-esr (as .ci/run does)")
    from websockets.sync.client import connect

    profile = Path(tempfile.mkdtemp(prefix="jobrunner-firefox-"))
    log = profile.parent / f"{profile.name}.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--profile", str(profile), *_REMOTE],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its content processes go with it: one group to end
        )
    try:
        url = _listening(process, log)
        with connect(f"{url}/session", max_size=None, open_timeout=60) as websocket:
            browser = Firefox(websocket, process.pid, profile)
            # The prompts are answered by this client, so it can tell what was asked.
            always = {"unhandledPromptBehavior": {"default": "ignore"}}
            browser.send("session.new", capabilities={"alwaysMatch": always})
            browser.send("session.subscribe", events=[_PROMPT])
            try:
                yield browser
            finally:
                with suppress(Exception):  # it may hang up before it answers
                    browser.send("browser.close")
    finally:
        _end(process)
        shutil.rmtree(profile, ignore_errors=True)
        log.unlink(missing_ok=True)


def _listening(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> str:
    """The websocket address Firefox printed at start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"Firefox served no WebDriver BiDi within {timeout}s:\n{log.read_text()}")


def _end(process: subprocess.Popen[bytes]) -> None:
    """Wait for Firefox to quit (it was asked to), else kill its whole process group."""
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    # Content processes can outlive a parent that crashed: end the group in any case.
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def group_members(pgid: int) -> list[int]:
    """The processes of group ``pgid`` still running (zombies left to init not counted)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with suppress(OSError):
            # The name (field 2) may hold spaces: the fields after its ")" are fixed.
            state, _ppid, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
            if int(group) == pgid and state != "Z":
                members.append(int(entry.name))
    return members

"""Helpers of the hot-reload integration tests: save files the ways editors and Kubernetes do."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import jobrunner

# Written into each test project beside sample_tasks.py.
RELOAD_TASKS = '''
import os
import time

import sample_tasks


def shout(path, value):
    return sample_tasks.record(path, str(value).upper())


def hold(gate, path, value):
    """Record value once the file ``gate`` exists (a test opens it), within 60 s."""
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.02)
    return sample_tasks.record(path, value)
'''

SAVE_STYLES = ("plain", "atomic", "recreate", "configmap")


def write_tasks(project: Path) -> None:
    (project / "reload_tasks.py").write_text(RELOAD_TASKS)


def save(path: Path, text: str, style: str = "plain") -> None:
    """Write ``text`` (dedented) to ``path`` in the given ``style``.

    - plain: truncate and write in place;
    - atomic: write a temporary file, then rename it over (vim, VS Code, JetBrains);
    - recreate: delete, then create anew;
    - configmap: a Kubernetes ConfigMap update (new data folder, ``..data`` flipped).
    """
    body = textwrap.dedent(text).lstrip("\n")
    if style == "plain":
        with open(path, "w") as fh:
            fh.write(body)
    elif style == "atomic":
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(body)
        os.replace(temp, path)
    elif style == "recreate":
        path.unlink()
        path.write_text(body)
    elif style == "configmap":
        publish_configmap(path, body)
    else:
        raise ValueError(style)


def publish_configmap(path: Path, body: str) -> None:
    """Publish ``body`` as ``path`` the way kubelet's atomic writer updates a ConfigMap volume."""
    folder = path.parent
    data = folder / f"..{time.time_ns()}"
    data.mkdir()
    (data / path.name).write_text(body)
    tmp = folder / "..data_tmp"
    tmp.symlink_to(data.name)
    os.replace(tmp, folder / "..data")
    if not path.is_symlink():
        if path.exists():
            path.unlink()
        path.symlink_to(f"..data/{path.name}")


def enqueue(config: Path, task: str, *args: object) -> None:
    """Enqueue ``task`` as a producer that loads the file now."""
    app = jobrunner.load(config)
    try:
        app.tasks[task](*args)
    finally:
        app.close()

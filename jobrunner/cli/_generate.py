"""``jobrunner generate FILE [-o OUTPUT] [--check]``: write (or check) the typed handles module."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from jobrunner.config import load_config
from jobrunner.errors import JobRunnerError
from jobrunner.handles._generate import generate


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write typed task handles (a Python module) for a jobs.yaml",
        description="Write a Python module with one typed handle per task (the task "
        "function's signature, imported now) and per schedule (docs/handles.md). With "
        "--check, write nothing: exit 1 with a diff when the module is stale.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="the module to write (default: handles.output in FILE)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare instead of writing: exit 1 with a diff when the module is stale",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.file, check_imports=True)
    for warning in loaded.warnings:
        print(warning.format(), file=sys.stderr)
    config = loaded.config
    output = Path(args.output) if args.output else config.handles.output
    if output is None:
        raise JobRunnerError(
            f"no output module for {args.file}: pass -o PATH, or set "
            "`handles: {output: app/jobs.py}` in the file"
        )
    generated = generate(config, output)
    shown = _shown(output)
    for note in generated.notes:
        print(f"note: {note}", file=sys.stderr)
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if args.check:
        if current == generated.text:
            print(f"{shown}: up to date")
            return 0
        diff = difflib.unified_diff(
            (current or "").splitlines(keepends=True),
            generated.text.splitlines(keepends=True),
            f"{shown} (on disk)" if current is not None else f"{shown} (missing)",
            f"{shown} (generated from {args.file})",
        )
        sys.stdout.writelines(diff)
        print(
            f"{shown} is stale: regenerate it with `jobrunner generate {args.file}"
            f"{'' if not args.output else ' -o ' + args.output}`",
            file=sys.stderr,
        )
        return 1
    if current != generated.text:
        _write(output, generated.text)
    print(
        f"{'wrote' if current != generated.text else 'unchanged:'} {shown} "
        f"({_count(len(config.tasks), 'task')}, {_count(len(config.schedules), 'schedule')})"
    )
    return 0


def _write(path: Path, text: str) -> None:
    """Replace ``path`` whole: an editor or type checker never reads half a module."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp's 0600 is for secrets, not modules
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

"""``jobrunner plan FILE [NAME...] --count N``: when schedules fire next, in their zone and UTC.

The times are computed by the code the scheduler fires with (see
``jobrunner.scheduling._plan``), so the preview is what will happen, DST changes included.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from jobrunner.cli._load import load_quietly
from jobrunner.errors import UnknownNameError
from jobrunner.scheduling._plan import PlannedRun, Preview, now_utc, preview


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="preview the next fire times of schedules",
        description="Print the next fire times of each schedule (or the named ones) in the "
        "schedule's time zone and in UTC, with a plain-English reading of its cron.",
    )
    parser.add_argument("file", metavar="FILE", help="the jobs.yaml")
    parser.add_argument("names", nargs="*", metavar="NAME", help="only these schedules")
    parser.add_argument(
        "-c", "--count", type=_positive, default=10, metavar="N", help="runs per schedule (10)"
    )
    parser.add_argument(
        "--from",
        dest="start",
        type=parse_moment,
        metavar="TIME",
        help="preview from TIME instead of now (ISO 8601, e.g. 2026-03-29T00:00+01:00; "
        "UTC when no offset is given)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    schedules = load_quietly(args.file).schedules
    for name in args.names:
        if name not in schedules:
            raise UnknownNameError("schedule", name, schedules)
    names = list(dict.fromkeys(args.names)) or list(schedules)
    start = args.start or now_utc()
    previews = [preview(schedules[name], start, args.count) for name in names]
    if args.format == "json":
        print(
            json.dumps(
                {"from": start.isoformat(), "schedules": [_json(p) for p in previews]}, indent=2
            )
        )
    elif not previews:
        print(f"{args.file}: no schedules")
    else:
        print("\n\n".join(format_preview(p) for p in previews))
    return 0


def format_preview(item: Preview) -> str:
    """A schedule's preview as text: its reading, then one line per run."""
    notes = [f'cron "{item.cron}" in {item.timezone}']
    if item.jitter:
        notes.append(f"each run delayed by a fixed jitter below {_seconds(item.jitter)}")
    if not item.enabled:
        notes.append("DISABLED (enabled: false): these are the times it would fire")
    lines = [f"{item.name}: {item.description}", f"  {'; '.join(notes)}"]
    if not item.runs:
        lines.append("  never fires (no date matches the cron)")
        return "\n".join(lines)
    width = max(len(item.timezone), *(len(_local(run)) for run in item.runs))
    header = (
        f"  {item.timezone:<{width}}   {'UTC':<20}   jitter"
        if item.jitter
        else (f"  {item.timezone:<{width}}   UTC")
    )
    lines.append(header)
    for run in item.runs:
        line = f"  {_local(run):<{width}}   {run.tick:%Y-%m-%d %H:%M} UTC"
        if item.jitter:
            line += f"   +{run.jitter:.1f}s"
        lines.append(line)
    return "\n".join(lines)


def _local(run: PlannedRun) -> str:
    return run.local.strftime("%a %Y-%m-%d %H:%M %Z")


def _json(item: Preview) -> dict[str, Any]:
    return {
        "name": item.name,
        "cron": item.cron,
        "timezone": item.timezone,
        "description": item.description,
        "enabled": item.enabled,
        "jitter": item.jitter,
        "runs": [
            {
                "local": run.local.isoformat(),
                "utc": run.tick.isoformat(),
                "jitter": round(run.jitter, 6),
                "starts": run.starts.isoformat(),
            }
            for run in item.runs
        ],
    }


def _seconds(value: float) -> str:
    return f"{value:g}s"


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time for ``--from``; naive means UTC."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-03-29T00:00 or 2026-03-29T00:00+01:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value

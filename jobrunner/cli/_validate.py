"""``jobrunner validate FILE...``: report every error of each file, as text or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from jobrunner.app import gc_paused
from jobrunner.config import load_config
from jobrunner.errors import MAX_SHOWN, ConfigError, Issue, format_issues


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check jobs.yaml files and report every error",
        description="Check each file against the schema and the semantic rules (crons, time "
        "zones, references, imports). Exit 1 when any file has an error.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="a jobs.yaml file")
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (json for CI and editors)",
    )
    parser.add_argument(
        "--no-imports",
        action="store_true",
        help="do not import the task functions (as jobrunner.load() does)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    results = [_check(file, imports=not args.no_imports) for file in args.files]
    if args.format == "json":
        print(json.dumps({"valid": all(r["valid"] for r in results), "files": results}, indent=2))
    else:
        for result in results:
            _print_text(result)
    return 0 if all(r["valid"] for r in results) else 1


def _check(file: str, *, imports: bool) -> dict[str, Any]:
    errors: list[Issue] = []
    warnings: list[Issue] = []
    summary = ""
    total = 0
    try:
        with gc_paused():  # a short-lived process: nothing it allocates here is garbage
            loaded = load_config(file, check_imports=imports)
    except ConfigError as exc:
        errors = list(exc.issues)
        total = exc.count
    else:
        warnings = loaded.warnings
        config = loaded.config
        summary = (
            f"{_count(len(config.instances), 'instance')}, "
            f"{_count(len(config.tasks), 'task')}, "
            f"{_count(len(config.schedules), 'schedule')}"
        )
    return {
        "file": file,
        "valid": not errors,
        "summary": summary,
        # At most MAX_SHOWN of them; error_count says how many there are in all.
        "errors": [e.as_dict() for e in errors[:MAX_SHOWN]],
        "error_count": total,
        "warnings": [w.as_dict() for w in warnings],
    }


def _print_text(result: dict[str, Any]) -> None:
    errors = [Issue(**item) for item in result["errors"]]
    for line in format_issues(errors, result["error_count"]):
        print(line)
    for item in result["warnings"]:
        print(Issue(**item).format())
    if result["valid"]:
        print(f"{result['file']}: OK ({result['summary']})")
    else:
        print(f"{result['file']}: {_count(result['error_count'], 'error')}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"

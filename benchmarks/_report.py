"""Tables: what the suite prints and writes into docs/performance.md."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._stats import Measure

COMPARISON_COLUMNS = ("backend", "case", "jobrunner", "huey", "jobrunner/huey", "target")
BEGIN = "<!-- benchmarks:begin (written by `python -m benchmarks --write`) -->"
END = "<!-- benchmarks:end -->"


@dataclass
class Section:
    """One table: a title, a line on what it measures, columns and rows."""

    title: str
    note: str
    columns: Sequence[str] = COMPARISON_COLUMNS
    rows: list[list[str]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", self.note, ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


def ratio(jobrunner: Measure | None, huey: Measure | None) -> float | None:
    if jobrunner is None or huey is None or huey.median == 0:
        return None
    return jobrunner.median / huey.median


def check(section: Section, label: str, ok: bool, rule: str) -> str:
    """``rule: ok`` or ``rule: MISS`` (remembered for the summary)."""
    if not ok:
        section.misses.append(f"{section.title} / {label}: {rule}")
    return f"{rule}: {'ok' if ok else 'MISS'}"


def comparison(
    section: Section,
    backend: str,
    case: str,
    jobrunner: Measure | None,
    huey: Measure | None,
    target: str = "",
) -> None:
    """Append one jobrunner-vs-huey row; ``target`` is its already-checked goal, if any."""
    r = ratio(jobrunner, huey)
    section.rows.append(
        [
            backend,
            case,
            jobrunner.format() if jobrunner else "-",
            huey.format() if huey else "-",
            _ratio_text(r),
            target,
        ]
    )


def _ratio_text(r: float | None) -> str:
    if r is None:
        return "-"
    return f"{r:.2g}x" if r < 0.1 else f"{r:.2f}x"


def document(header: Sequence[str], sections: Sequence[Section]) -> str:
    parts = ["\n".join(header) + "\n"]
    parts += [section.markdown() for section in sections]
    misses = [miss for section in sections for miss in section.misses]
    if misses:
        parts.append("**Targets missed:**\n\n" + "\n".join(f"- {m}" for m in misses) + "\n")
    else:
        parts.append("All targets met in this run.\n")
    return "\n".join(parts)


def write(path: Path, text: str) -> None:
    """Put ``text`` between the markers of ``path`` (kept prose around it), or append it."""
    block = f"{BEGIN}\n\n{text.strip()}\n\n{END}"
    old = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(old):
        new = pattern.sub(lambda _: block, old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")

"""Read again only the definitions whose lines changed: a hot reload of a large file.

Composing the YAML nodes of a 20,000-definition file is most of a reload's time, and a
reload usually changes one definition. When the text allows it (:func:`layout`), it is cut
into its top-level keys, and ``tasks:`` and ``schedules:`` into their definitions, each a
run of lines. A definition whose lines are the ones the previous load read, starting on
the same line, takes over the value read then; the other definitions and every other
top-level key are composed one by one, each at its own line, so every node keeps its
true line and column. A definition taken over knows where its key is; any other
position asked inside it composes the whole file once (an error in an unchanged
definition: rare, and its position is as exact as ever).

Anything the cut cannot be sure of reads the whole file, as a first load does: anchors,
aliases and merge keys, directives and document markers, the constructs libyaml and
PyYAML read differently, a top-level line that is not a plain key, a definition whose
name is quoted or whose lines do not compose into exactly itself, a repeated name, any
issue, and more than :data:`MAX_CHANGED` changed definitions. A definition holding ``$``
is read again each time: interpolation changes its value in place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from jobrunner.config import _yaml
from jobrunner.config._limits import MAX_VALUES
from jobrunner.config._yaml import Document, Path_, build_mapping, libyaml_agrees, read_yaml
from jobrunner.errors import Issue

SECTIONS = ("tasks", "schedules")
_MAP_TAG = "tag:yaml.org,2002:map"
#: Above this share of changed definitions, one compose of the whole file is cheaper.
MAX_CHANGED = 0.05

# A directive or a document marker.
_MARKER = re.compile(r"\n(?:%|-{3}|\.{3})")
# A line of content at column 0 (group 1: its key, when it is one), and one at an indent.
_TOP = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_-]*):(?=[ \n]|$)|[^ #\n])", re.MULTILINE)
_NOTHING_MORE = re.compile(r"[ ]*(?:#[^\n]*)?(?:\n|$)")
_INDENTED = re.compile(r"^ +[^ #\n]", re.MULTILINE)
_FIRST_CONTENT = re.compile(r"^( *)[^ #\n]", re.MULTILINE)


@functools.cache
def _at_indent(indent: int) -> re.Pattern[str]:
    name = r"([A-Za-z0-9_][A-Za-z0-9_.-]*):(?=[ \n]|$)"
    return re.compile(rf"^ {{{indent}}}(?:{name}|[^ #\n])", re.MULTILINE)


@functools.cache
def _shallower(indent: int) -> re.Pattern[str]:
    return re.compile(rf"^ {{0,{indent - 1}}}[^ #\n]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Piece:
    """One definition as a load read it."""

    line: int  # of its key, from 0
    text: str  # its lines
    value: Any
    key_at: tuple[int, int]  # line and column of its key, from 1


Pieces = dict[tuple[str, str], Piece]


@dataclass(slots=True)
class Span:
    """A key and the lines up to the next key of its mapping."""

    name: str
    line: int  # of the key, from 0
    at: int  # where its first line starts in the text
    until: int  # where the line after its last starts (the text's length for the last)


@dataclass
class Layout:
    """Where each top-level key, and each definition of tasks and schedules, stands."""

    text: str
    sections: list[Span]
    entries: dict[str, list[Span]]  # by section written as a block of definitions
    indents: dict[str, int]

    def lines(self, span: Span) -> str:
        return self.text[span.at : span.until]


class Source:
    """What a load read: the next load of the file takes its unchanged pieces from it.

    The pieces are cut when first asked for, by that next load: a start-up does not pay
    for them. ``data`` is the document's values; interpolation later changes in place
    only definitions that hold ``$``, never taken over.
    """

    def __init__(self, text: str, data: Any, pieces: Pieces | None = None) -> None:
        self.text = text
        self.data = data
        self._pieces = pieces

    def pieces(self) -> Pieces | None:
        """The definitions the next read may take over, if the text can be cut."""
        if self._pieces is None:
            plan = layout(self.text)
            self._pieces = _pieces_of(self.data, plan) if plan is not None else {}
        return self._pieces or None


def read(
    text: str, file: str, previous: Source | None, keep: bool
) -> tuple[Document, list[Issue], Source | None]:
    """``read_yaml``, in pieces where ``previous`` allows it; and, with ``keep`` or
    ``previous``, the :class:`Source` the next read of the file may take pieces from."""
    kept = previous.pieces() if previous is not None else None
    if kept is not None and (plan := layout(text)) is not None:
        found = _read_in_pieces(file, plan, kept)
        if found is not None:
            doc, issues, pieces = found
            return doc, issues, Source(text, doc.data, pieces)
    doc, issues = read_yaml(text, file)
    keep = (keep or previous is not None) and not issues
    return doc, issues, (Source(text, doc.data) if keep else None)


def layout(text: str) -> Layout | None:
    """How ``text`` cuts into pieces, or None when it cannot be cut safely."""
    # A value takes two characters at least: a longer text may need read_yaml's count.
    if (
        len(text) >= 2 * MAX_VALUES
        or "&" in text  # an anchor; an alias without one fails to compose, whole or in pieces
        or "<<" in text  # a merge key
        or text.startswith(("%", "---", "..."))
        or _MARKER.search(text)
        or not libyaml_agrees(text)
    ):
        return None
    sections = _spans(text, _TOP.finditer(text), 0, 0, len(text))
    if not sections or _INDENTED.search(text, 0, sections[0].at):
        return None  # indented text ahead of the first key
    if len({s.name for s in sections}) != len(sections):
        return None
    entries: dict[str, list[Span]] = {}
    indents: dict[str, int] = {}
    for section in sections:
        if section.name in SECTIONS:
            found = _entries(text, section)
            if found is not None:
                entries[section.name], indents[section.name] = found
    return Layout(text, sections, entries, indents)


def _spans(
    text: str, starts: Iterator[re.Match[str]], origin: int, line: int, end: int
) -> list[Span] | None:
    """A span per match of ``starts``, each a key (group 1); ``origin`` is on ``line``."""
    spans: list[Span] = []
    for found in starts:
        name, at = found.group(1), found.start()
        if name is None:
            return None  # content that is not a plain key
        line += text.count("\n", spans[-1].at if spans else origin, at)
        if spans:
            spans[-1].until = at
        spans.append(Span(name, line, at, end))
    return spans


def _entries(text: str, section: Span) -> tuple[list[Span], int] | None:
    body = text.find("\n", section.at, section.until) + 1
    if not body or not _NOTHING_MORE.match(text, section.at + len(section.name) + 1, body):
        return None  # `tasks: {...}` or `tasks: []`: read as one piece
    first = _FIRST_CONTENT.search(text, body, section.until)
    if first is None:
        return None
    indent = len(first.group(1))
    if _shallower(indent).search(text, body, section.until):
        return None
    starts = _at_indent(indent).finditer(text, first.start(), section.until)
    spans = _spans(text, starts, section.at, section.line, section.until)
    return (spans, indent) if spans else None


class _Whole(Exception):
    """The text must be read whole."""


def _read_in_pieces(
    file: str, plan: Layout, previous: Pieces
) -> tuple[Document, list[Issue], Pieces] | None:
    if not plan.sections:
        return None
    most = MAX_CHANGED * sum(len(spans) for spans in plan.entries.values())
    changed = 0
    # The root as the whole read places it (its first key, the first line's start), without
    # the pairs: the ones read are in doc.parts, and the others compose the text whole.
    first = yaml.Mark(file, 0, plan.sections[0].line, 0, None, 0)
    root = yaml.MappingNode(_MAP_TAG, [], start_mark=first, end_mark=first)
    doc = Document(file, None, root, text=plan.text)
    issues: list[Issue] = []
    pieces: Pieces = {}
    data: dict[str, Any] = {}
    constructor = yaml.SafeLoader("")
    try:
        for top in plan.sections:
            cuts = plan.entries.get(top.name)
            if cuts is None:
                data[top.name] = _piece(plan, top, (), 0, doc, constructor, issues)
                continue
            values: dict[str, Any] = {}
            keys = doc.keys[top.name] = {}
            doc.cut.add(top.name)
            for span in cuts:
                if span.name in values:
                    return None  # a repeated name: the whole read reports it
                chunk = plan.lines(span)
                piece = previous.get((top.name, span.name))
                if piece is None or piece.line != span.line or piece.text != chunk:
                    changed += 1
                    if changed > most:
                        return None  # one compose of the whole text is cheaper
                    column = plan.indents[top.name]
                    value = _piece(plan, span, (top.name,), column, doc, constructor, issues)
                    piece = Piece(span.line, chunk, value, (span.line + 1, column + 1))
                values[span.name] = piece.value
                keys[span.name] = piece.key_at
                if "$" not in chunk:
                    pieces[(top.name, span.name)] = piece
            data[top.name] = values
    except (_Whole, yaml.YAMLError):
        return None
    finally:
        constructor.dispose()
    if issues:
        return None  # reported by the whole read, as it reports them
    doc.data = data
    return doc, issues, pieces


def _piece(
    plan: Layout,
    span: Span,
    path: Path_,
    column: int,
    doc: Document,
    constructor: yaml.SafeLoader,
    issues: list[Issue],
) -> Any:
    """The value of the key that starts ``span``, composed at its own lines."""
    node = _yaml.compose("\n" * span.line + plan.lines(span))
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        raise _Whole
    key_node, value_node = node.value[0]
    mark = key_node.start_mark
    if (
        not isinstance(key_node, yaml.ScalarNode)
        or key_node.style
        or key_node.value != span.name
        or (mark.line, mark.column) != (span.line, column)
    ):
        raise _Whole
    value = build_mapping(node, path, doc, constructor, issues, set())[span.name]
    doc.parts[(*path, span.name)] = (key_node, value_node)
    return value


def _pieces_of(data: Any, plan: Layout) -> Pieces:
    """The pieces of a document read whole, whose values are ``data``."""
    pieces: Pieces = {}
    if not isinstance(data, dict):
        return pieces
    for section, spans in plan.entries.items():
        values = data.get(section)
        # Each cut must be a key of the section, and each key a cut: a line that only looks
        # like a key (inside a value of several lines) is not one, and makes one cut more.
        # Every key of the section is on a line of its own at its indent, and so is a cut.
        if not isinstance(values, dict) or list(values) != [span.name for span in spans]:
            continue
        column = plan.indents[section] + 1
        for span in spans:
            chunk = plan.lines(span)
            if "$" not in chunk:
                at = (span.line + 1, column)
                pieces[(section, span.name)] = Piece(span.line, chunk, values[span.name], at)
    return pieces

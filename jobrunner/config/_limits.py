"""What a jobs file may hold, and how much of a value a message shows.

A hostile file must cost little to refuse: over :data:`MAX_VALUES` values it is
refused before a node tree is built (counted on the parser's events when the text
is long enough to hold that many), and nested aliases are counted on the node graph
(each distinct node once) before anything is expanded into copies. Messages quote
long values shortened.
"""

from __future__ import annotations

from typing import Any

import yaml

from jobrunner.errors import Issue

MAX_VALUES = 1_000_000
"""Values a file may hold, each alias counted as a copy of what it refers to."""

# A value takes two characters at least ("1,"): a shorter text cannot hold MAX_VALUES.
_COUNT_FROM = 2 * MAX_VALUES
_NODE_EVENTS = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)


def too_many_values(text: str, loader: Any) -> bool:
    """Whether ``text`` has more than MAX_VALUES nodes, counted on the parser's events.

    Composing a node tree that large takes a gigabyte; the events come one at a time.
    """
    if len(text) < _COUNT_FROM:
        return False
    count = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_VALUES:
                    return True
    except yaml.YAMLError:
        return False  # the syntax error is reported by the real parse
    return False


def too_large(file: str) -> Issue:
    """The one error of a file over :data:`MAX_VALUES`."""
    return Issue(
        file,
        0,
        0,
        "",
        f"the file holds more than {MAX_VALUES:,} values (each alias counted as a copy "
        "of what it refers to); refused",
        "split the file, or use fewer nested aliases",
    )


def expanded_size(root: yaml.Node, limit: int) -> int:
    """How many values ``root`` stands for with every alias expanded; stops past ``limit``.

    Each distinct node is visited once (a node reached through several aliases is
    counted from its memoised size), without recursion: a deeply nested file must
    not exhaust the stack here.
    """
    sizes: dict[int, int] = {}
    started: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            size = 1 + sum(sizes.get(id(child), 1) for child in _children(node))
            sizes[key] = size
            if size > limit:
                return size
            continue
        if key in sizes or key in started:
            continue  # counted already, or a recursive alias (an error reported later)
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def quote(value: Any) -> str:
    """``value`` as an error message shows it: a long string shortened (:func:`shorten`)."""
    if isinstance(value, str):
        return shorten(value)
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:60]}... ({len(text):,} characters)"


def shorten(text: str, limit: int = 60) -> str:
    """``text`` quoted as Python does, cut after ``limit`` characters with its length said."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"

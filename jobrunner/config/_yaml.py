"""Read a YAML file into plain Python values plus a map of where each value stands.

PyYAML's safe loader is used for scalars; the node tree is walked here so that
every value keeps its line and column, and so that a duplicate key is an error
(PyYAML silently keeps the last one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from jobrunner.config._limits import MAX_VALUES, expanded_size, shorten, too_large, too_many_values
from jobrunner.errors import Issue

Path_ = tuple[str | int, ...]


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_INT_TAG = "tag:yaml.org,2002:int"


@dataclass
class Document:
    """Values of one YAML file, and where each value stands (1-based line, column).

    Positions are read off the YAML node tree when asked for, not recorded for
    every value up front: a valid file asks for a few per task, and recording
    them all made loading a large file grow faster than its size
    (docs/performance.md, config load).
    """

    file: str
    data: Any
    root: yaml.Node | None = None
    # Values that could not be read (an unsupported tag): already reported, left as None.
    broken: set[Path_] = field(default_factory=set)
    # Per mapping node (by id): how many of its pairs came from merge keys (`<<:`).
    merged: dict[int, int] = field(default_factory=dict)
    # Issues found but not kept (beyond MAX_KEPT): only their number is reported.
    omitted: int = 0
    # Values read from the environment by ${VAR}: never shown in a message (_secrets.py).
    secrets: set[str] = field(default_factory=set)
    _index: dict[int, dict[Any, tuple[yaml.Node, yaml.Node]]] = field(default_factory=dict)
    # A document read in pieces (_splice.py) has no root until a position is asked that its
    # pieces cannot give: then ``text`` is composed whole. Until then, ``parts`` holds the
    # (key node, value node) of each piece read, by path, and ``cut`` the sections read
    # definition by definition, whose key positions the splice puts in ``keys``.
    text: str | None = None
    parts: dict[Path_, tuple[yaml.Node, yaml.Node]] = field(default_factory=dict)
    cut: set[str] = field(default_factory=set)
    # Where each key of a top-level section stands, by section: found once per section.
    keys: dict[Any, dict[Any, tuple[int, int]]] = field(default_factory=dict)

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The closest known position of ``path``: itself, else its nearest parent.

        With ``key``, a mapping entry is placed at its key rather than its value
        (an unknown key is reported at the key).
        """
        if key and len(path) == 2:
            # Each definition's position (its Location) is asked for: a lookup in its
            # section's key positions instead of a walk from the root.
            known = self._section_keys(path[0]).get(path[1])
            if known is not None:
                return known
        key_node, node = self._closest(path)
        if node is None:
            return (1, 1)
        mark = key_node.start_mark if key and key_node is not None else node.start_mark
        return mark.line + 1, mark.column + 1

    def key_positions(self, path: Path_) -> dict[Any, tuple[int, int]]:
        """Where each key of the mapping at ``path`` stands: one lookup for a whole section."""
        if len(path) == 1:
            return dict(self._section_keys(path[0]))
        return self._positions(self._node(path))

    def _section_keys(self, section: str | int) -> dict[Any, tuple[int, int]]:
        found = self.keys.get(section)
        if found is None:
            found = self.keys[section] = self._positions(self._node((section,)))
        return found

    def _positions(self, node: yaml.Node | None) -> dict[Any, tuple[int, int]]:
        if not isinstance(node, yaml.MappingNode):
            return {}
        return {
            name: (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            for name, (key_node, _) in self._mapping_index(node).items()
        }

    def is_plain(self, path: Path_) -> bool:
        """Whether the value at ``path`` is a scalar written without quotes."""
        node = self._node(path)
        return isinstance(node, yaml.ScalarNode) and not node.style

    def column_in(self, path: Path_, offset: int) -> tuple[int, int]:
        """The position of character ``offset`` of the string at ``path``, when computable."""
        line, column = self.where(path)
        node = self._node(path)
        # Only a scalar written on one line, plain or quoted, maps characters to columns.
        if (
            isinstance(node, yaml.ScalarNode)
            and node.start_mark.line == node.end_mark.line
            and (node.style or None) in (None, "'", '"')
        ):
            quote = 0 if not node.style else 1
            return line, column + quote + offset
        return line, column

    def issue(
        self,
        path: Path_,
        message: str,
        hint: str | None = None,
        *,
        key: bool = False,
        severity: str = "error",
    ) -> Issue:
        line, column = self.where(path, key=key)
        return Issue(self.file, line, column, dotted(path), message, hint, severity)

    def _node(self, path: Path_) -> yaml.Node | None:
        """The value node of ``path`` itself, or None."""
        _, node, rest = self._start(path)
        for part in rest:
            child = None if node is None else self._child(node, part)
            if child is None:
                return None
            node = child[1]
        return node

    def _closest(self, path: Path_) -> tuple[yaml.Node | None, yaml.Node | None]:
        """The (key node, value node) of ``path``, or of its longest prefix that exists."""
        key_node, node, rest = self._start(path)
        if node is None:
            return None, None
        for part in rest:
            child = self._child(node, part)
            if child is None:
                break
            key_node, node = child
        return key_node, node

    def _start(self, path: Path_) -> tuple[yaml.Node | None, yaml.Node | None, Path_]:
        """Where a walk down ``path`` begins: the piece read that holds it, else the root."""
        if self.text is not None:
            for depth in (2, 1):
                part = self.parts.get(path[:depth]) if len(path) >= depth else None
                if part is not None:
                    return part[0], part[1], path[depth:]
            # Inside a section of definitions, not in one read: compose the whole text (it
            # composes whole too). Elsewhere the root stands in: a name the file does not
            # have is placed where the root is, as with the whole tree.
            if path and path[0] in self.cut:
                text, self.text = self.text, None
                try:
                    self.root = compose(text)
                except yaml.YAMLError:
                    self.root = None
        return None, self.root, path

    def _child(self, node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
        if isinstance(node, yaml.SequenceNode):
            if isinstance(part, int) and 0 <= part < len(node.value):
                return None, node.value[part]
            return None
        if not isinstance(node, yaml.MappingNode):
            return None
        index = self._index.get(id(node))
        if index is None:
            index = self._index[id(node)] = self._mapping_index(node)
        return index.get(part)

    def _mapping_index(self, node: yaml.MappingNode) -> dict[Any, tuple[yaml.Node, yaml.Node]]:
        # The same choice as _build: a merged key gives way to a later one, an own
        # key repeated is an error and the first one stays.
        merged = self.merged.get(id(node), 0)
        index: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
        own: set[Any] = set()
        for i, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            name = key_node.value
            if i >= merged:
                if name in own:
                    continue
                own.add(name)
            index[name] = (key_node, value_node)
        return index


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# libyaml's parser, when PyYAML has it, composes about 7x faster than the pure-Python one
# (docs/performance.md). The two disagree on a few constructs (found by fuzzing them against
# each other): tabs, "?", "!" tags, a comment right after a block scalar indicator, CR and
# non-ASCII line breaks or BOMs. A text with any of these, or one libyaml refuses, is parsed
# by the pure-Python parser alone, whose error messages are the ones _syntax_issue explains.
# Left over: an empty value inside {...} is placed one column later by libyaml.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_BLOCK_SCALAR_COMMENT = re.compile(r"[|>][-+0-9]*#")


def libyaml_agrees(text: str) -> bool:
    """Whether ``text`` has none of the constructs libyaml and PyYAML read differently."""
    # A search per character: many times faster than one character class on a large text.
    if not text.isascii() or any(c in text for c in "\t?!\r"):
        return False
    return ("|" not in text and ">" not in text) or not _BLOCK_SCALAR_COMMENT.search(text)


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text``: libyaml's parser where it reads ``text`` as PyYAML's does."""
    if _FAST_LOADER is not None and libyaml_agrees(text):
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
            return node
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


MAX_KEPT = 1_000
"""Issues of one kind kept while reading; the rest are only counted (``Document.omitted``)."""


def read_yaml(text: str, file: str) -> tuple[Document, list[Issue]]:
    """Parse ``text``; return the document and the issues found (syntax, duplicates)."""
    if too_many_values(text, _FAST_LOADER or yaml.SafeLoader):
        return Document(file, None), [too_large(file)]
    try:
        node = compose(text)
    except yaml.MarkedYAMLError as exc:
        return Document(file, None), [_syntax_issue(exc, text, file)]
    except yaml.YAMLError as exc:
        return Document(file, None), [Issue(file, 0, 0, "", f"YAML error: {shorten(str(exc))}")]
    doc = Document(file, None, node)
    if node is None:
        return doc, []
    # Before building anything: nested aliases (a "billion laughs") expand a few hundred
    # bytes into billions of values; counted on the node graph, that costs its size. An
    # alias needs an anchor (`&name`): without `&` the values are the nodes, which
    # too_many_values has bounded already, and this walk (a fifth of a large file's
    # load) is skipped.
    if "&" in text and expanded_size(node, MAX_VALUES) > MAX_VALUES:
        doc.root = None
        return doc, [too_large(file)]
    issues: list[Issue] = []
    constructor = yaml.SafeLoader("")
    doc.data = _build(node, (), doc, constructor, issues, set())
    # The loader refers to itself, so without this it and every node it constructed
    # (two Marks each) would wait for the cyclic collector (docs/performance.md).
    constructor.dispose()
    return doc, issues


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, file: str) -> Issue:
    problem = exc.problem or exc.context or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    context = exc.context_mark if exc.context else None
    # "end of stream" problems (an unclosed quote or bracket) are reported by PyYAML
    # past the last line; where the unclosed thing starts is what the user must fix.
    if context is not None and ("end of stream" in problem or "<stream end>" in problem):
        mark = context
    line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    if mark is not None and mark.index >= len(text.rstrip()):
        line, column = _last_character(text)
    message = f"YAML syntax error: {problem}"
    if context is not None and exc.context:
        where = (context.line + 1, context.column + 1)
        if where != (line, column) and context.index < len(text.rstrip()):
            message += f" ({exc.context} at line {where[0]}, column {where[1]})"
        else:
            message += f" ({exc.context})"
    hint = "check the indentation and quoting around this position"
    if "end of stream" in problem or "<stream end>" in problem:
        hint = "the file ends inside an unclosed quote, bracket or brace; close it"
    elif "'\\t'" in problem:
        hint = "YAML does not allow tabs for indentation; indent with spaces"
    elif "mapping values are not allowed" in problem:
        hint = "quote a value that contains ': ', or fix the indentation of this line"
    elif problem.startswith("expected <block end>"):
        hint = "this line is not indented like the keys above it"
    return Issue(file, line, column, "", message, hint)


def _last_character(text: str) -> tuple[int, int]:
    """Line and column of the last non-blank character (where an unclosed thing ends)."""
    lines = text.rstrip().splitlines() or [""]
    return len(lines), len(lines[-1])


def _build(
    node: yaml.Node,
    path: Path_,
    doc: Document,
    constructor: yaml.SafeLoader,
    issues: list[Issue],
    parents: set[int],
) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node, path, doc, constructor, issues)
    if id(node) in parents:
        mark = node.start_mark
        issues.append(
            Issue(doc.file, mark.line + 1, mark.column + 1, dotted(path), "recursive YAML alias")
        )
        return None
    if isinstance(node, yaml.MappingNode):
        return build_mapping(node, path, doc, constructor, issues, parents)
    if isinstance(node, yaml.SequenceNode):
        parents.add(id(node))
        items = [
            _build(item, (*path, i), doc, constructor, issues, parents)
            for i, item in enumerate(node.value)
        ]
        parents.discard(id(node))
        return items
    return _scalar(node, path, doc, constructor, issues)


def build_mapping(
    node: yaml.MappingNode,
    path: Path_,
    doc: Document,
    constructor: yaml.SafeLoader,
    issues: list[Issue],
    parents: set[int],
) -> Any:
    merged = doc.merged.get(id(node))
    if merged is None:
        # An alias visits its node again, already flattened: count once.
        tags = [key_node.tag for key_node, _ in node.value]
        own = len(tags) - tags.count(_MERGE_TAG)
        try:
            # Only merge (`<<`) and value (`=`) keys change anything: most mappings have none.
            if own < len(tags) or _VALUE_TAG in tags:
                constructor.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            # A merge key (`<<:`) whose value is not a mapping or a list of mappings.
            mark = exc.problem_mark or node.start_mark
            issues.append(
                Issue(
                    doc.file,
                    mark.line + 1,
                    mark.column + 1,
                    dotted(path),
                    f"invalid merge key: {exc.problem}",
                    "`<<:` takes an alias of a mapping (<<: *defaults) or a list of them",
                )
            )
            doc.broken.add(path)
            return None
        merged = doc.merged[id(node)] = len(node.value) - own
    result: dict[Any, Any] = {}
    first: dict[Any, yaml.Node] = {}
    parents.add(id(node))
    for i, (key_node, value_node) in enumerate(node.value):
        if isinstance(key_node, yaml.ScalarNode):
            if key_node.tag != _STR_TAG:
                # Reports a tag the safe loader refuses. YAML 1.1 reads `off:`, `yes:` or
                # `1:` as a bool or a number; as a name (a schedule called `off`) the
                # user meant the text as written.
                _scalar(key_node, path, doc, constructor, issues)
            key: Any = key_node.value
        else:
            key = str(_build(key_node, path, doc, constructor, issues, parents))
        if i >= merged:
            # A key of the mapping itself; one that came from a merge key gives way.
            if key in first and len(issues) >= MAX_KEPT:
                doc.omitted += 1
                continue
            if key in first:
                mark, line = key_node.start_mark, first[key].start_mark.line + 1
                child = (*path, key)
                issues.append(
                    Issue(
                        doc.file,
                        mark.line + 1,
                        mark.column + 1,
                        dotted(child),
                        f"duplicate key {shorten(str(key))} (first defined at line {line})",
                        "YAML keeps only the last value of a repeated key; remove or rename one",
                    )
                )
                continue
            first[key] = key_node
        if type(value_node) is yaml.ScalarNode and value_node.tag == _STR_TAG:
            result[key] = value_node.value  # most values: a string, without a call and a path
        else:
            result[key] = _build(value_node, (*path, key), doc, constructor, issues, parents)
    parents.discard(id(node))
    return result


def _scalar(
    node: yaml.Node, path: Path_, doc: Document, constructor: yaml.SafeLoader, issues: list[Issue]
) -> Any:
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        # What the safe constructor returns for a string, without its bookkeeping:
        # most scalars of a file are strings (docs/performance.md, config load).
        return node.value
    value = node.value
    if (
        node.tag == _INT_TAG
        and isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and (value[0] != "0" or value == "0")
    ):
        # A plain decimal number, as the constructor reads it (a leading 0 is octal there).
        return int(value)
    try:
        return constructor.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # An explicit tag the safe loader refuses (!!python/object, !custom) or a value
        # that does not fit its tag (!!int x): report it and go on with the rest.
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "could not determine a constructor" in problem:
            message = f"unsupported YAML tag {tag}"
        else:
            message = f"invalid {tag} value: {problem}"
        doc.broken.add(path)
        issues.append(
            Issue(
                doc.file,
                line,
                column,
                dotted(path),
                message,
                "jobrunner reads plain YAML; remove the tag or fix the value",
            )
        )
        return None

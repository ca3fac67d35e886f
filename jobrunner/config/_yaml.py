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

from jobrunner.errors import Issue

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """Values of one YAML file and the positions (1-based line, column) of each."""

    file: str
    data: Any
    # Position of each value, and separately of each mapping key (errors about a
    # key, such as an unknown one, point at the key rather than its value).
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    plain: set[Path_] = field(default_factory=set)
    # Scalars written on one line, with their style (None plain, "'" or '"' quoted): the
    # column of a character inside such a value can be computed (a cron field, say).
    inline: dict[Path_, str | None] = field(default_factory=dict)
    # Values that could not be read (an unsupported tag): already reported, left as None.
    broken: set[Path_] = field(default_factory=set)

    def column_in(self, path: Path_, offset: int) -> tuple[int, int]:
        """The position of character ``offset`` of the string at ``path``, when computable."""
        line, column = self.where(path)
        if path in self.inline:
            quote = 0 if self.inline[path] is None else 1
            return line, column + quote + offset
        return line, column

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The closest known position of ``path``: itself, else its nearest parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

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
_DISAGREE = re.compile(r"[\t?!\r\x80-\U0010ffff]|[|>][-+0-9]*#")


def _compose(text: str) -> yaml.Node | None:
    if _FAST_LOADER is not None and _DISAGREE.search(text) is None:
        try:
            node: yaml.Node | None = yaml.compose(text, Loader=_FAST_LOADER)
            return node
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def read_yaml(text: str, file: str) -> tuple[Document, list[Issue]]:
    """Parse ``text``; return the document and the issues found (syntax, duplicates)."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        return Document(file, None), [_syntax_issue(exc, text, file)]
    except yaml.YAMLError as exc:
        return Document(file, None), [Issue(file, 0, 0, "", f"YAML error: {exc}")]
    doc = Document(file, None)
    if node is None:
        return doc, []
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
    position = (node.start_mark.line + 1, node.start_mark.column + 1)
    doc.values[path] = position
    if id(node) in parents:
        issues.append(Issue(doc.file, *position, dotted(path), "recursive YAML alias"))
        return None
    if isinstance(node, yaml.MappingNode):
        try:
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
        result: dict[Any, Any] = {}
        parents.add(id(node))
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, doc, constructor, issues)
            if not isinstance(key, str):
                # YAML 1.1 reads `off:`, `yes:` or `1:` as a bool or a number; as a name
                # (a schedule called `off`) the user meant the text as written.
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key)
            child = (*path, key)
            key_position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first = doc.keys[child]
                issues.append(
                    Issue(
                        doc.file,
                        *key_position,
                        dotted(child),
                        f"duplicate key {key!r} (first defined at line {first[0]})",
                        "YAML keeps only the last value of a repeated key; remove or rename one",
                    )
                )
                continue
            doc.keys[child] = key_position
            result[key] = _build(value_node, child, doc, constructor, issues, parents)
        parents.discard(id(node))
        return result
    if isinstance(node, yaml.SequenceNode):
        parents.add(id(node))
        items = [
            _build(item, (*path, i), doc, constructor, issues, parents)
            for i, item in enumerate(node.value)
        ]
        parents.discard(id(node))
        return items
    if isinstance(node, yaml.ScalarNode):
        style = node.style or None  # libyaml says "" for plain, PyYAML None
        if style is None:
            doc.plain.add(path)
        if node.start_mark.line == node.end_mark.line and style in (None, "'", '"'):
            doc.inline[path] = style
    return _scalar(node, path, doc, constructor, issues)


def _scalar(
    node: yaml.Node, path: Path_, doc: Document, constructor: yaml.SafeLoader, issues: list[Issue]
) -> Any:
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

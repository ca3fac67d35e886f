"""Read a YAML file into plain Python values plus a map of where each value stands.

PyYAML's safe loader is used for scalars; the node tree is walked here so that
every value keeps its line and column, and so that a duplicate key is an error
(PyYAML silently keeps the last one).
"""

from __future__ import annotations

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


def read_yaml(text: str, file: str) -> tuple[Document, list[Issue]]:
    """Parse ``text``; return the document and the issues found (syntax, duplicates)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "check the indentation and quoting around this position"
        if "\t" in text and "tab" in problem:
            hint = "YAML does not allow tabs for indentation; use spaces"
        return Document(file, None), [
            Issue(file, line, column, "", f"YAML syntax error: {problem}", hint)
        ]
    except yaml.YAMLError as exc:
        return Document(file, None), [Issue(file, 0, 0, "", f"YAML error: {exc}")]
    doc = Document(file, None)
    if node is None:
        return doc, []
    issues: list[Issue] = []
    constructor = yaml.SafeLoader("")
    doc.data = _build(node, (), doc, constructor, issues)
    return doc, issues


def _build(
    node: yaml.Node, path: Path_, doc: Document, constructor: yaml.SafeLoader, issues: list[Issue]
) -> Any:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        constructor.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = constructor.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                # Config keys are names; a number or null as a key is almost always a typo.
                key = str(key)
            child = (*path, key)
            position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                first = doc.keys[child]
                issues.append(
                    Issue(
                        doc.file,
                        *position,
                        dotted(child),
                        f"duplicate key {key!r} (first defined at line {first[0]})",
                        "YAML keeps only the last value of a repeated key; remove or rename one",
                    )
                )
                continue
            doc.keys[child] = position
            result[key] = _build(value_node, child, doc, constructor, issues)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, i), doc, constructor, issues) for i, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.ScalarNode) and node.style is None:
        doc.plain.add(path)
    return constructor.construct_object(node, deep=True)

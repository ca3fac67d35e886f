"""Annotations of a task function as source text for the generated module, with their imports.

An annotation is turned into an expression tree whose root names are each tied to an
import (``from module import name``), then printed. Two sources:

- evaluated annotations (objects: ``int``, ``list[Customer]``, ``Optional[str]``) are
  rebuilt from the objects (``__module__`` / ``__qualname__``, ``typing.get_origin``);
- postponed ones (``from __future__ import annotations``: strings) keep their text; each
  root name is found among the task module's own imports (also those under
  ``TYPE_CHECKING``, which never ran), its top-level definitions, or the builtins.

What cannot be resolved (a local class, a TypeVar, a name defined nowhere) becomes
``Any``, and the caller reports it.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Unresolved(Exception):
    """An annotation that cannot be written down in the generated module."""


@dataclass(frozen=True, order=True)
class Import:
    """``from module import name`` (``name`` may be a dotted path into ``module``)."""

    module: str
    name: str


@dataclass
class Imports:
    """The names the generated module's annotations need, each under a unique local name."""

    reserved: set[str] = field(default_factory=set)
    local: dict[Import, str] = field(default_factory=dict)

    def name_for(self, what: Import) -> str:
        if what in self.local:
            return self.local[what]
        preferred = what.name
        taken = self.reserved | set(self.local.values())
        local = preferred
        if local in taken:
            local = f"_{preferred}"
            counter = 2
            while local in taken:
                local = f"_{preferred}_{counter}"
                counter += 1
        self.local[what] = local
        return local

    def lines(self, first_party: Callable[[str], bool], indent: str = "") -> list[str]:
        """The import statements as isort (ruff's ``I`` rules) lays them out: sections
        (standard library, third party, first party) apart, one line per module."""
        by_module: dict[str, list[str]] = {}
        for what, local in self.local.items():
            if what.module == "builtins" and local == what.name:
                continue  # a builtin under its own name needs no import
            alias = "" if local == what.name else f" as {local}"
            by_module.setdefault(what.module, []).append(f"{what.name}{alias}")
        sections: list[list[str]] = [[], [], []]
        for module in sorted(by_module, key=str.lower):
            top = module.split(".")[0]
            section = 0 if top in sys.stdlib_module_names else 2 if first_party(top) else 1
            names = sorted(by_module[module], key=_isort_key)
            line = f"{indent}from {module} import {', '.join(names)}"
            if len(line) > 88:
                inner = "".join(f"{indent}    {n},\n" for n in names)
                line = f"{indent}from {module} import (\n{inner}{indent})"
            sections[section].append(line)
        out: list[str] = []
        for lines in sections:
            if lines:
                out += [*([""] if out else []), *lines]
        return out


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions and variables."""
    bare = name.split(" as ")[0]
    kind = 0 if bare.isupper() and len(bare) > 1 else 1 if bare[:1].isupper() else 2
    return kind, bare


Resolver = Callable[[str], Import]


def render(annotation: Any, func: Callable[..., Any], imports: Imports) -> str:
    """``annotation`` (an object or a postponed string) of ``func`` as source text."""
    tree = _parse(annotation) if isinstance(annotation, str) else _from_object(annotation)
    return _Printer(_module_resolver(func), imports).expr(tree)


def _parse(text: str) -> ast.expr:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise Unresolved(f"{text!r} is not an expression") from None


# -- evaluated annotations -------------------------------------------------------------


class _Ref(ast.expr):
    """A leaf standing for an object to import (a class, a typing special form)."""

    def __init__(self, obj: Any) -> None:
        super().__init__()
        self.obj = obj


def _from_object(obj: Any) -> ast.expr:
    if obj is None or obj is type(None):
        return ast.Constant(None)
    if obj is Ellipsis:
        return ast.Constant(Ellipsis)
    if isinstance(obj, typing.ForwardRef):
        return _parse(obj.__forward_arg__)
    if isinstance(obj, (str, int, bool, bytes)):
        return ast.Constant(obj)  # a Literal[...] member
    if isinstance(obj, list):
        return ast.List([_from_object(o) for o in obj])
    origin = typing.get_origin(obj)
    args = typing.get_args(obj)
    if origin is typing.Union or origin is types.UnionType:
        parts = [_from_object(a) for a in args]
        tree = parts[0]
        for part in parts[1:]:
            tree = ast.BinOp(tree, ast.BitOr(), part)
        return tree
    if origin is typing.Annotated:
        return _from_object(args[0])
    if origin is not None:
        head = _Ref(typing.Literal if origin is typing.Literal else origin)
        if not args:
            return head
        if origin.__module__ == "collections.abc" and origin.__name__ == "Callable":
            params, result = args[0], args[-1]
            # get_args flattens Callable[[int], str] to ([int], str)
            items: list[ast.expr] = [_from_object(params), _from_object(result)]
        else:
            items = [_from_object(a) for a in args]
        index = items[0] if len(items) == 1 else ast.Tuple(items)
        return ast.Subscript(head, index)
    if isinstance(obj, typing.TypeVar):
        raise Unresolved(f"type variable {obj}")
    return _Ref(obj)


def _import_of(obj: Any) -> Import:
    """Where ``obj`` can be imported from, checked by importing it back."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "_name", None)
    if module is None or qualname is None or "<" in qualname:
        raise Unresolved(repr(obj))
    target: Any = sys.modules.get(module)
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not obj:
        raise Unresolved(f"{obj!r} is not importable as {module}.{qualname}")
    return Import(module, qualname)


# -- postponed annotations -------------------------------------------------------------


def _module_resolver(func: Callable[..., Any]) -> Resolver:
    """Find a root name of ``func``'s module's annotations: its imports, its definitions."""
    module = inspect.getmodule(func)
    known = _module_imports(module) if module is not None else {}

    def resolve(name: str) -> Import:
        if name in known:
            return known[name]
        value = getattr(module, name, None) if module is not None else None
        if value is not None and not isinstance(value, types.ModuleType):
            return _import_of(value)
        if hasattr(builtins, name):
            return Import("builtins", name)
        raise Unresolved(f"name {name!r} is neither imported nor defined in {module!r}")

    return resolve


def _module_imports(module: types.ModuleType) -> dict[str, Import]:
    """Every name ``module`` binds with an import statement, wherever it stands."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return {}
    package = module.__package__ or ""
    found: dict[str, Import] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                source = f"{base}.{source}".strip(".")
            for alias in node.names:
                found.setdefault(alias.asname or alias.name, Import(source, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    parent, _, leaf = alias.name.rpartition(".")
                    found.setdefault(alias.asname, _module_import(parent, leaf))
                else:
                    root = alias.name.split(".")[0]
                    found.setdefault(root, Import("", root))
    return found


def _module_import(parent: str, leaf: str) -> Import:
    return Import(parent, leaf) if parent else Import("", leaf)


# -- printing --------------------------------------------------------------------------


class _Printer:
    """Source text with the formatter's conventions (double quotes, ``a | b``, no parens)."""

    def __init__(self, resolve: Resolver, imports: Imports) -> None:
        self.resolve = resolve
        self.imports = imports

    def local(self, what: Import) -> str:
        if not what.module:  # `import pkg` bound a module, which is no type
            raise Unresolved(f"{what.name!r} is a module")
        return self.imports.name_for(what)

    def expr(self, node: ast.expr, *, values: bool = False) -> str:
        """``node`` as text; ``values``: inside ``Literal[...]``, where strings are values."""
        if isinstance(node, _Ref):
            if getattr(node.obj, "__module__", None) == "builtins":
                return self.imports.name_for(Import("builtins", node.obj.__qualname__))
            what = _import_of(node.obj)
            head, _, rest = what.name.partition(".")
            local = self.imports.name_for(Import(what.module, head))
            return f"{local}.{rest}" if rest else local
        if isinstance(node, ast.Name):
            return self.local(self.resolve(node.id))
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            head = self.expr(node.value)
            inside = head in {
                self.imports.local.get(Import(module, "Literal"))
                for module in ("typing", "typing_extensions")
            }
            index = node.slice
            elements = index.elts if isinstance(index, ast.Tuple) else [index]
            inner = ", ".join(self.expr(e, values=inside) for e in elements)
            return f"{head}[{inner}]"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return f"{self.expr(node.left)} | {self.expr(node.right)}"
        if isinstance(node, (ast.List, ast.Tuple)):
            inner = ", ".join(self.expr(e, values=values) for e in node.elts)
            return f"[{inner}]" if isinstance(node, ast.List) else f"({inner})"
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str) and not values:
                # A forward reference ("Customer"): its names need imports too.
                return self.expr(_parse(node.value))
            return literal(node.value)
        raise Unresolved(f"unsupported annotation syntax {ast.dump(node)}")

    def _attribute(self, node: ast.Attribute) -> str:
        """``mod.sub.Name`` where ``mod`` is an imported module: import ``Name`` itself."""
        parts = [node.attr]
        value: ast.expr = node.value
        while isinstance(value, ast.Attribute):
            parts.insert(0, value.attr)
            value = value.value
        if not isinstance(value, ast.Name):
            raise Unresolved(f"unsupported annotation syntax {ast.dump(node)}")
        root = self.resolve(value.id)
        if root.module:
            # `Outer.Inner` where Outer is a class: import Outer, keep the path.
            return ".".join([self.imports.name_for(root), *parts])
        module = root.name  # `import pkg` bound `pkg`; `pkg.sub.Name` is the path
        return self.imports.name_for(Import(".".join([module, *parts[:-1]]), parts[-1]))


def literal(value: Any) -> str:
    """``repr(value)`` with strings in double quotes where that needs no escaping."""
    if isinstance(value, (str, bytes)):
        text = repr(value)
        prefix = "b" if isinstance(value, bytes) else ""
        has_quote = ('"' in value) if isinstance(value, str) else (b'"' in value)
        if text.startswith(f"{prefix}'") and not has_quote:
            text = f'{prefix}"' + text[len(prefix) + 1 : -1].replace("\\'", "'") + '"'
        return text
    if value is Ellipsis:
        return "..."
    return repr(value)

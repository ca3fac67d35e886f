"""Import the ``module.path:attribute`` references of a config, reporting failures at their line."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobrunner.config._yaml import Document, Path_
from jobrunner.errors import Issue


def add_search_path(folder: Path) -> None:
    """Make modules beside the YAML file importable, as they are for ``python -m``.

    A console script's ``sys.path`` starts with the script's own folder, not the
    working directory, so ``examples.tasks`` would not import without this.
    """
    for entry in (str(folder), str(Path.cwd())):
        if entry not in sys.path:
            sys.path.insert(0, entry)


def import_object(reference: str) -> Any:
    """The object named by ``module.path:attribute`` (attribute may be dotted)."""
    module_name, _, attribute = reference.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj


class NotUsableError(TypeError):
    """A reference imports, but what it names cannot be used where it is referenced."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def import_callable(reference: str) -> Callable[..., Any]:
    """Like :func:`import_object`, and check the result is a plain callable."""
    obj = import_object(reference)
    if not callable(obj):
        raise NotUsableError(
            f"{reference} is {_a(type(obj).__name__)}, not a function",
            "point function: at a function defined with def",
        )
    if inspect.iscoroutinefunction(obj):
        raise NotUsableError(
            f"{reference} is an async function; huey runs plain functions",
            "wrap it in a plain function: def run(*args): return asyncio.run(coro(*args))",
        )
    # A function already decorated with @huey.task() is a TaskWrapper; run what it wraps.
    func = getattr(obj, "func", None)
    if func is not None and type(obj).__name__ == "TaskWrapper":
        return func  # type: ignore[no-any-return]
    return obj  # type: ignore[no-any-return]


def import_context_manager(reference: str) -> Any:
    """A context manager object (``with obj:``, as huey's ``context_task``) or a callable
    that makes one per run (a ``@contextmanager`` function, a class)."""
    obj = import_object(reference)
    if (hasattr(obj, "__enter__") and hasattr(obj, "__exit__")) or callable(obj):
        return obj
    raise NotUsableError(
        f"{reference} is {_a(type(obj).__name__)}, neither a context manager nor a function "
        "that makes one",
        "point context_manager: at a @contextlib.contextmanager function or an object with "
        "__enter__ and __exit__",
    )


def import_storage_class(reference: str) -> type[Any]:
    """The huey storage class named by ``reference`` (a ``BaseStorage`` subclass)."""
    from huey.storage import BaseStorage

    obj = import_object(reference)
    if not (isinstance(obj, type) and issubclass(obj, BaseStorage)):
        what = f"the class {obj.__name__}" if isinstance(obj, type) else _a(type(obj).__name__)
        raise NotUsableError(
            f"{reference} is {what}, not a huey storage class",
            "point storage_class: at a subclass of huey.storage.BaseStorage",
        )
    return obj


def _a(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def explain_import_error(reference: str, exc: BaseException) -> tuple[str, str]:
    """A message and a hint for a reference that failed to import."""
    module_name, _, attribute = reference.partition(":")
    if isinstance(exc, NotUsableError):
        return str(exc), exc.hint
    if isinstance(exc, ModuleNotFoundError):
        missing = exc.name or module_name
        if missing == module_name or module_name.startswith(missing + "."):
            return (
                f"cannot import {reference}: no module named {missing!r}",
                "check the spelling, and that the module's folder is the YAML file's "
                "folder, the working directory or on PYTHONPATH",
            )
        return (
            f"cannot import {reference}: its module needs {missing!r}, which is not installed",
            f"pip install the package that provides {missing!r}",
        )
    if isinstance(exc, AttributeError) and _imports_cleanly(module_name):
        return (
            f"cannot import {reference}: module {module_name!r} has no attribute {attribute!r}",
            "check the name after the colon",
        )
    return (
        f"cannot import {reference}: importing {module_name!r} raised {type(exc).__name__}: {exc}",
        f"run `python -c 'import {module_name}'` to see the full traceback",
    )


def _imports_cleanly(module_name: str) -> bool:
    # An AttributeError raised while the module itself runs is an import failure,
    # not a misspelled attribute; by now a module that imported is in sys.modules.
    return module_name in sys.modules


def check_references(doc: Document, references: dict[Path_, str]) -> list[Issue]:
    """One issue per reference (keyed by its config path) that does not import."""
    issues = []
    # Modules written since the interpreter last looked at a folder (a reload, a test)
    # are invisible to the cached directory listings until they are dropped.
    importlib.invalidate_caches()
    # Each reference is checked once per kind: a large file names the same functions
    # many times. None: it imports; else the message and hint of its failure.
    checked: dict[tuple[str, str], tuple[str, str] | None] = {}
    for path, reference in references.items():
        kind = _kind(path)
        key = (kind, reference)
        if key not in checked:
            checked[key] = _check(kind, reference)
        failure = checked[key]
        if failure is not None:
            issues.append(doc.issue(path, *failure))
    return issues


def _kind(path: Path_) -> str:
    if path[-1] == "storage_class":
        return "storage_class"
    return "context_manager" if "context_manager" in path[-2:] else "callable"


def _check(kind: str, reference: str) -> tuple[str, str] | None:
    try:
        if kind == "storage_class":
            import_storage_class(reference)
        elif kind == "context_manager":
            import_context_manager(reference)
        else:
            import_callable(reference)
    except (Exception, SystemExit) as exc:
        # SystemExit too: a module that calls sys.exit() on import must not end validation.
        return explain_import_error(reference, exc)
    return None

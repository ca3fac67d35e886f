"""Annotations as source text with their imports (``jobrunner.handles._annotations``)."""

from __future__ import annotations

import collections.abc
import typing
from typing import Any, Literal, NewType, Optional, TypeVar, Union

import pytest

from jobrunner.handles._annotations import Imports, Unresolved, render

UserId = NewType("UserId", int)
T = TypeVar("T")


class Outer:
    class Inner:
        pass


def _func() -> None:
    """Stands for the task function whose module the names are looked up in."""


@pytest.mark.parametrize(
    ("annotation", "text", "imports"),
    [
        (int, "int", []),
        (type(None), "None", []),
        (Optional[dict[str, list[int]]], "dict[str, list[int]] | None", []),  # noqa: UP045
        (Union[int, str, None], "int | str | None", []),  # noqa: UP007
        (Literal["a", 1, True], 'Literal["a", 1, True]', ["from typing import Literal"]),
        (
            collections.abc.Callable[[int, str], bool],
            "Callable[[int, str], bool]",
            ["from collections.abc import Callable"],
        ),
        (typing.Callable[..., Any], "Callable[..., Any]", None),
        (tuple[int, ...], "tuple[int, ...]", []),
        (UserId, "UserId", [f"from {__name__} import UserId"]),
        (Outer.Inner, "Outer.Inner", [f"from {__name__} import Outer"]),
        (typing.Annotated[int, "meta"], "int", []),
        # Postponed annotations: the text, with names found in this module.
        ("Outer.Inner | None", "Outer.Inner | None", [f"from {__name__} import Outer"]),
        ("collections.abc.Sequence[UserId]", "Sequence[UserId]", None),
        ("list['UserId']", "list[UserId]", [f"from {__name__} import UserId"]),
        ("Literal['x']", 'Literal["x"]', ["from typing import Literal"]),
    ],
)
def test_rendered_text_and_imports(annotation: Any, text: str, imports: list[str] | None) -> None:
    found = Imports()
    assert render(annotation, _func, found) == text
    if imports is not None:
        assert found.lines(lambda top: False) == imports


def test_names_that_clash_with_a_task_are_imported_under_another_name() -> None:
    found = Imports(reserved={"Outer", "list"})
    assert render(list[Outer], _func, found) == "_list[_Outer]"
    assert found.lines(lambda top: False) == [
        "from builtins import list as _list",
        "",
        f"from {__name__} import Outer as _Outer",
    ]


def test_what_cannot_be_written_down_is_unresolved() -> None:
    class Local:
        pass

    for annotation in (T, Local, "Undefined", "collections", "1 +"):
        with pytest.raises(Unresolved):
            render(annotation, _func, Imports())

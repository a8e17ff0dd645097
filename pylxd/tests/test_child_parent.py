"""A child model's parent is named once: by its ``model.Parent()`` attribute."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from pylxd.models import _model as model
from pylxd.models._collection import ChildMixin


class _Shelf(model.Model):
    _endpoint = "shelves"
    name = model.Attribute[str](readonly=True)


class _Book(ChildMixin, model.Model):
    _endpoint = "books"
    shelf: model.Parent[_Shelf] = model.Parent()
    name = model.Attribute[str](readonly=True)


class _Spine(ChildMixin, model.Model):
    """No parent yet: a base for children."""

    _endpoint = "spines"
    _key = "title"
    title = model.Attribute[str](readonly=True)


class _Page(_Spine):
    shelf: model.Parent[_Shelf] = model.Parent()
    book: model.Parent[_Book] = model.Parent()
    _parent = "book"


class _Cover(_Spine):
    shelf: model.Parent[_Shelf] = model.Parent()


@pytest.mark.parametrize(
    ("cls", "parent", "parameters"),
    [
        # the one Parent attribute names the parent
        (_Book, "shelf", ["client", "shelf", "name"]),
        # a subclass: its inherited key and its own parent
        (_Cover, "shelf", ["client", "shelf", "title"]),
        # several parents: the class says which
        (_Page, "book", ["client", "book", "title"]),
    ],
)
def test_the_verbs_take_the_parent_by_its_name(
    cls: Any, parent: str, parameters: list[str]
) -> None:
    assert cls._parent == parent
    assert list(inspect.signature(cls.get).parameters) == parameters


def test_a_base_without_a_parent_keeps_the_shared_names() -> None:
    assert "_parent" not in vars(_Spine)
    assert list(inspect.signature(_Spine.get).parameters) == ["client", "parent", "key"]

"""A child model's parent is named once: by its ``model.Parent()`` attribute."""

from __future__ import annotations

import inspect

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


def test_the_one_parent_attribute_names_the_parent() -> None:
    assert _Book._parent == "shelf"
    assert list(inspect.signature(_Book.get).parameters) == ["client", "shelf", "name"]


def test_a_base_without_a_parent_keeps_the_shared_names() -> None:
    assert "_parent" not in vars(_Spine)
    assert list(inspect.signature(_Spine.get).parameters) == [
        "client",
        "parent",
        "key",
    ]


def test_a_subclass_names_its_inherited_key_and_its_own_parent() -> None:
    assert _Cover._parent == "shelf"
    assert list(inspect.signature(_Cover.get).parameters) == [
        "client",
        "shelf",
        "title",
    ]


def test_a_class_with_several_parents_says_which() -> None:
    assert _Page._parent == "book"
    assert list(inspect.signature(_Page.get).parameters) == ["client", "book", "title"]

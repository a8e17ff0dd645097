"""Model declarations: what a model class says about its fields.

``name = Attribute[str](readonly=True)`` declares an LXD field,
``snapshots = Manager(factory)`` a sub-manager built on first use,
``instance: Parent[Instance] = Parent()`` the object a child belongs to.
:class:`ModelType` turns them into ``__slots__`` and the class's
``__attributes__``/``__managers__``/``__parents__``. They are generic in the
value they declare, so that a type checker sees ``instance.config`` as a
``dict[str, str]``. pylxd 2.4.2 users import them from
:mod:`pylxd.models._model`, which re-exports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar, overload

#: The type of a declared attribute's value (``Attribute[dict[str, str]]``).
_T = TypeVar("_T")


class _Declaration(Generic[_T]):
    """What a declaration is to a type checker: a descriptor of a ``_T`` value.

    At run time :class:`ModelType` takes declarations out of the class body
    (they become ``__slots__``), so these methods exist for the type checker
    only: ``config: Attribute[dict[str, str]] = Attribute()`` makes
    ``instance.config`` a ``dict[str, str]`` for mypy.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover

        @overload
        def __get__(self, obj: None, owner: type) -> _Declaration[_T]: ...

        @overload
        def __get__(self, obj: object, owner: type) -> _T: ...

        def __get__(self, obj: object, owner: type) -> _T | _Declaration[_T]: ...

        def __set__(self, obj: object, value: _T) -> None: ...


class Attribute(_Declaration[_T]):
    """A declared model attribute of type ``_T``.

    :param validator: a callable converting a value that is not already of
        that type (e.g. ``int``).
    :param readonly: not sent back by :meth:`Model.save`.
    :param optional: sent back only when the server provided it.
    """

    __slots__ = ("validator", "readonly", "optional")

    def __init__(
        self,
        validator: Callable[[Any], _T] | None = None,
        readonly: bool = False,
        optional: bool = False,
    ) -> None:
        self.validator = validator
        self.readonly = readonly
        self.optional = optional

    def __repr__(self) -> str:
        return f"Attribute(readonly={self.readonly}, optional={self.optional})"


class Manager(_Declaration[_T]):
    """A sub-manager declaration, built lazily on first access.

    ``snapshots = Manager(lambda instance: SnapshotManager(instance.client, instance))``
    """

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[Any], _T] | None = None) -> None:
        self.factory = factory


class Parent(_Declaration[_T]):
    """A parent declaration: the object a child model belongs to (set by kwargs).

    ``instance: Parent[Instance] = Parent()``
    """

    __slots__ = ()


class ModelType(type):
    """Collect declared attributes, managers and parents into ``__slots__``."""

    def __new__(
        mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]
    ) -> ModelType:
        attributes: dict[str, Attribute[Any]] = {}
        managers: dict[str, Manager[Any]] = {}
        parents: set[str] = set()
        for base in reversed(bases):
            attributes.update(getattr(base, "__attributes__", {}))
            managers.update(getattr(base, "__managers__", {}))
            parents.update(getattr(base, "__parents__", ()))
        inherited = set(attributes) | set(managers) | parents
        own: list[str] = []
        for key, value in list(attrs.items()):
            if isinstance(value, Attribute):
                attributes[key] = value
            elif isinstance(value, Manager):
                managers[key] = value
            elif isinstance(value, Parent):
                parents.add(key)
            else:
                continue
            del attrs[key]
            if key not in inherited:
                own.append(key)
        attrs["__slots__"] = tuple(own) + tuple(attrs.get("__slots__", ()))
        attrs["__attributes__"] = attributes
        attrs["__managers__"] = managers
        attrs["__parents__"] = frozenset(parents)
        return super().__new__(mcs, name, bases, attrs)

"""The model base: declared attributes, lazy loading, dirty tracking, save/delete.

A model class declares its LXD fields as :class:`Attribute` s; :class:`ModelType`
turns them into ``__slots__``. Values sent by the server are loaded by one
helper (:meth:`Model._load`) with one policy for fields this version does not
know: they are kept readable and warned about per ``PYLXD_WARNINGS``.
"""

from __future__ import annotations

import copy
import datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, TypeVar

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.models import _dates
from pylxd.models._attribute_dict import AttributeDict  # noqa: F401  (pylxd's name)
from pylxd.models._declarations import Parent  # noqa: F401  (pylxd's name, here)
from pylxd.models._declarations import Attribute, Manager, ModelType
from pylxd.models._unknown import MISSING, extra_field, warn_unknown_attribute

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client
    from pylxd.models.operation import Operation


#: A model class's own type, for classmethods that build its objects.
_ModelT = TypeVar("_ModelT", bound="Model")

#: "Class.attribute" names already warned about (read at call time: tests reset it).
_seen_attribute_warnings: set[str] = set()


#: JSON values that are never copied (immutable).
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _json_copy(value: Any) -> Any:
    """Deep-copy JSON data (dicts, lists, scalars) faster than ``copy.deepcopy``.

    Every object read keeps a copy of its dicts and lists (to see in-place
    edits), so scalars inside them are taken as they are, without a call each.
    """
    kind = type(value)
    if kind is dict:
        return {
            k: v if type(v) in _SCALARS else _json_copy(v) for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _SCALARS else _json_copy(v) for v in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value)


def wait_for(
    client: Client,
    response: requests.Response,
    wait: bool,
    timeout: float | None = None,
    progress: Callable[[JSONDict], Any] | None = None,
) -> Operation | None:
    """Block on the operation of an async ``response`` when ``wait`` is set.

    This is the only place that turns an async answer into a blocking call.
    ``progress(metadata)`` is given the operation's metadata as it changes
    (see :meth:`Operation.wait_for_operation`).
    """
    if not wait:
        return None
    body = exceptions.envelope_of(response)
    if body.get("type") != "async":
        return None
    kwargs: dict[str, Any] = {}
    if timeout is not None:
        kwargs["timeout"] = timeout
    if progress is not None:
        kwargs["progress"] = progress
    operation = exceptions.operation_of(response)
    return client.operations.wait_for_operation(operation, **kwargs)


def _identity_of(value: Any) -> Any:
    """A parent's identity, for :meth:`Model._identity` (no I/O)."""
    return value._identity() if isinstance(value, Model) else value


def forced_wait(client: Client | None, wait: bool) -> bool:
    """``wait``, or True when LXD answers storage and network calls with operations.

    As in pylxd: with ``storage_and_network_operations`` such calls are
    waited for, so the state read after them is the new one.
    """
    if wait or client is None:
        return wait
    return bool(client.has_api_extension("storage_and_network_operations"))


def etag_of(response: requests.Response) -> str | None:
    """The ``ETag`` LXD sent with an object (None for lists and old servers)."""
    return response.headers.get("ETag") or None


#: How many times :meth:`Model.update_with` applies its function by default.
UPDATE_RETRIES = 5


class Model(metaclass=ModelType):
    """A LXD object: attributes loaded from the server, edited and saved back."""

    __slots__ = ("client", "__dirty__", "__extra__", "__orig__", "_synced", "_etag")
    __attributes__: ClassVar[dict[str, Attribute[Any]]]
    __managers__: ClassVar[dict[str, Manager[Any]]]
    __parents__: ClassVar[frozenset[str]]

    #: The attribute that identifies an object (its URL part).
    _key: ClassVar[str] = "name"
    #: Attributes besides the key, the project and the parents that identify
    #: an object (e.g. a storage volume's ``type``); see :meth:`_identity`.
    _identity_keys: ClassVar[tuple[str, ...]] = ()
    #: What errors call this kind of object (``Network ACL 'web': ...``);
    #: the class name when None.
    _error_kind: ClassVar[str | None] = None
    NotFound = exceptions.NotFound

    def __init__(self, client: Client | None, **kwargs: Any) -> None:
        object.__setattr__(self, "_synced", False)
        object.__setattr__(self, "_etag", None)
        object.__setattr__(self, "client", client)
        object.__setattr__(self, "__dirty__", set())
        object.__setattr__(self, "__extra__", {})
        object.__setattr__(self, "__orig__", {})
        self._load(kwargs)

    # -- loading ---------------------------------------------------------
    @classmethod
    def _from_server(
        cls: type[_ModelT],
        client: Client,
        metadata: JSONDict,
        *,
        etag: str | None = None,
        **parents: Any,
    ) -> _ModelT:
        """Build a fully loaded object from the server's representation.

        :param etag: the ``ETag`` the server sent with it (see ``if_match``).
        """
        obj = cls(client, **parents, **metadata)
        obj._fill_missing(cls.__attributes__.keys() - metadata.keys() - parents.keys())
        object.__setattr__(obj, "_synced", True)
        object.__setattr__(obj, "_etag", etag)
        return obj

    def _load(self, payload: dict[str, Any], rollback: bool = False) -> None:
        """Store server values; keep local edits unless ``rollback``."""
        cls = type(self)
        attributes = cls.__attributes__
        dirty = self.__dirty__ if not rollback else ()
        orig = self.__orig__
        set_slot = object.__setattr__  # every field of every object read: a local
        for key, value in payload.items():
            attribute = attributes.get(key)
            if attribute is None:
                if key in cls.__parents__:
                    set_slot(self, key, value)
                    continue
                warn_unknown_attribute(cls.__name__, key, _seen_attribute_warnings)
                self.__extra__[key] = value
                continue
            if key in dirty:
                # Keep the local edit; remember what the server holds.
                orig[key] = _json_copy(value)
                continue
            validator = attribute.validator
            if validator is not None and validator is not type(value):
                value = validator(value)
            set_slot(self, key, value)
            if type(value) not in _SCALARS and isinstance(value, (dict, list)):
                orig[key] = _json_copy(value)
            elif key in orig:
                del orig[key]

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: an unloaded slot, a lazy
        # sub-manager, or an unknown server field kept in __extra__.
        cls = type(self)
        spec = cls.__managers__.get(name)
        if spec is not None and spec.factory is not None:
            value = spec.factory(self)
            object.__setattr__(self, name, value)
            return value
        if name in cls.__attributes__:
            if name != cls._key and not self._synced and self.client is not None:
                self.sync()
                try:
                    return object.__getattribute__(self, name)
                except AttributeError:
                    pass
            raise AttributeError(f"{self!r} has no value for {name!r}")
        value = extra_field(self, name)
        if value is not MISSING:
            return value
        if name == "api" and object.__getattribute__(self, "client") is None:
            # The ``api`` property failed on a missing client: say why.
            raise AttributeError(
                f"{self!r} has no client: it was deleted, or built without one"
            )
        raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        attribute = type(self).__attributes__.get(name)
        if attribute is not None:
            if isinstance(value, datetime.datetime):
                # LXD's JSON has times only as RFC 3339 strings, and attributes
                # hold what LXD sends (as in pylxd 2.4.2): store the string.
                value = _dates.format_time(value, name)
            if attribute.validator is not None and attribute.validator is not type(
                value
            ):
                value = attribute.validator(value)
            if name not in self.__orig__ and self._is_loaded(name):
                # Remember the loaded value (dicts and lists are already kept):
                # a stale-ETag retry compares it with the server's.
                self.__orig__[name] = self._raw_attr(name)
            self.__dirty__.add(name)
        object.__setattr__(self, name, value)

    def _raw_attr(self, name: str) -> Any:
        """Return a loaded attribute without triggering a sync (None if unloaded)."""
        try:
            value = object.__getattribute__(self, name)
        except AttributeError:
            return None
        return None if value is MISSING else value

    def _is_loaded(self, name: str) -> bool:
        try:
            value = object.__getattribute__(self, name)
        except AttributeError:
            return False
        return value is not MISSING

    def _fill_missing(self, names: Iterable[str] | None = None) -> None:
        """Set the declared attributes the server did not send to :data:`MISSING`.

        As pylxd's ``sync()`` does: they read as ``MISSING`` (falsy), and
        :meth:`marshall` leaves them out.

        :param names: the attributes that may be unset (default: all).
        """
        for name in type(self).__attributes__ if names is None else names:
            try:  # _is_loaded(), inlined: this runs for every attribute read
                object.__getattribute__(self, name)
            except AttributeError:
                object.__setattr__(self, name, MISSING)

    # -- identity --------------------------------------------------------
    def _repr_keys(self) -> tuple[str, ...]:
        key = type(self)._key
        if key in self.__attributes__:
            return (key,)
        return tuple(self.__attributes__)  # no key (e.g. StorageResources): show all

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}={self._raw_attr(key)!r}"
            for key in self._repr_keys()
            if self._is_loaded(key)
        )
        return f"{type(self).__name__}({shown})"

    def _identity(self) -> tuple[Any, ...]:
        """What tells this object apart from another of its kind (no I/O).

        The key, the project and the parent's identity, as in pylxd's
        per-model ``__eq__``; models without a key compare their loaded values.
        """
        cls = type(self)
        if cls._key not in cls.__attributes__:
            return tuple(self._raw_attr(name) for name in cls.__attributes__)
        parents = tuple(
            _identity_of(self._raw_attr(name)) for name in sorted(cls.__parents__)
        )
        own = tuple(self._raw_attr(name) for name in cls._identity_keys)
        return (self._raw_attr(cls._key), self._raw_attr("project"), *own, *parents)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Model) or not (
            isinstance(other, type(self)) or isinstance(self, type(other))
        ):
            return NotImplemented
        return self._identity() == other._identity()

    __hash__ = None  # type: ignore[assignment]

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for attr in self.__attributes__:
            yield attr, getattr(self, attr, None)

    def __dir__(self) -> list[str]:
        names = (
            set(super().__dir__()) | set(self.__attributes__) | set(self.__managers__)
        )
        return sorted(names | set(self.__extra__))

    # -- lifecycle -------------------------------------------------------
    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of this object (overridden by each model)."""
        raise TypeError(f"{type(self).__name__} does not define its API endpoint")

    @property
    def dirty(self) -> bool:
        """True when local changes (assignments or in-place edits) are not saved."""
        if self.__dirty__:
            return True
        return any(self._raw_attr(key) != value for key, value in self.__orig__.items())

    def datetime_of(self, name: str) -> datetime.datetime | None:
        """The time attribute ``name`` (``"created_at"``, ...) as an aware datetime.

        The attribute itself stays the string LXD sent, as in pylxd; None
        for LXD's "never" (``0001-01-01T00:00:00Z``) or no value (also when
        the server does not send that field).

        :raises InvalidArgument: ``name`` is no attribute of this model, or
            its value is not a time.
        """
        if name in type(self).__attributes__:
            value = getattr(self, name)
        elif name in self.__extra__:  # a field newer than this version
            value = self.__extra__[name]
        else:
            raise exceptions.InvalidArgument(
                f"{type(self).__name__} has no attribute {name!r}"
            )
        if value is MISSING:  # not sent by this server
            return None
        return _dates.parse_time(value, f"{self._subject()} {name}")

    def _subject(self) -> str:
        """How errors name this object: ``Instance 'c1'`` (no I/O).

        Models under a parent may say more (``Network forward '10.0.0.7' of
        Network 'br1'``); see :func:`pylxd.exceptions.naming`.
        """
        kind = self._error_kind or type(self).__name__
        return f"{kind} {str(self._raw_attr(self._key))!r}"

    def sync(self, rollback: bool = False) -> None:
        """Update the object from the server (``GET`` its URL).

        Local changes are kept unless ``rollback`` is True.
        """
        with exceptions.naming(self._subject()):
            response = self.api.get()
            payload = exceptions.metadata_of(response)  # named like LXD's errors
        self._load(payload, rollback=rollback)
        object.__setattr__(self, "_etag", etag_of(response))
        if rollback:
            self.__dirty__.clear()
        self._fill_missing()
        object.__setattr__(self, "_synced", True)

    def rollback(self) -> None:
        """Discard local changes, reloading the server's representation."""
        self.sync(rollback=True)

    def _invalidate(self, *names: str) -> None:
        """Forget server values that changed behind our back (no request now).

        The next read of one of them syncs the object. Local edits, assigned or
        made in place, are kept.
        """
        forgot = False
        for name in names:
            if name in self.__dirty__ or not self._is_loaded(name):
                continue
            if name in self.__orig__ and self.__orig__[name] != self._raw_attr(name):
                continue
            object.__delattr__(self, name)
            self.__orig__.pop(name, None)
            forgot = True
        if forgot:
            object.__setattr__(self, "_synced", False)

    def _mark_clean(self) -> None:
        self.__dirty__.clear()
        for key in list(self.__orig__):
            self.__orig__[key] = _json_copy(self._raw_attr(key))

    def marshall(self, skip_readonly: bool = True) -> JSONDict:
        """Return the attributes to send to the server (all writable ones)."""
        marshalled = {}
        for key, attribute in self.__attributes__.items():
            if attribute.readonly and skip_readonly:
                continue
            if attribute.optional and not hasattr(self, key):
                continue
            value = getattr(self, key)
            if value is MISSING:  # the server did not send it: not ours to send
                continue
            marshalled[key] = value
        return marshalled

    # -- optimistic concurrency ---------------------------------------------
    @property
    def etag(self) -> str | None:
        """The ``ETag`` of the server state this object was loaded from.

        Kept from ``get()`` and ``sync()`` (no extra request); None when the
        object came from a list (LXD sends no ETag for lists).
        """
        return self._raw_attr("_etag")

    def _if_match_headers(self, if_match: bool | None) -> JSONDict | None:
        """The ``If-Match`` header for a write, when optimistic concurrency is on.

        :param if_match: True/False for this call; None follows the client's
            ``if_match`` switch.
        :raises InvalidArgument: when it is on and no ETag is known.
        """
        if if_match is None:
            if_match = bool(getattr(self.client, "if_match", False))
        if not if_match:
            return None
        etag = self._raw_attr("_etag")
        if not etag:
            raise exceptions.InvalidArgument(
                f"{self._subject()}: no ETag to send with If-Match (it was loaded "
                "from a list, or not loaded yet): sync() it first, or use update_with()"
            )
        return {"If-Match": etag}

    def _write(
        self, verb: str, body: JSONDict, wait: bool, if_match: bool | None
    ) -> requests.Response:
        """Send ``body`` with ``verb``, guarded by ``If-Match`` when asked.

        :raises PreconditionFailed: (naming the object) when the ETag is stale.
        """
        headers = self._if_match_headers(if_match)
        if headers is None:
            response: requests.Response = getattr(self.api, verb)(json=body)
        else:
            with exceptions.naming(self._subject()):
                response = getattr(self.api, verb)(json=body, headers=headers)
        wait_for(self.client, response, wait)
        return response

    def update_with(
        self,
        fn: Callable[[Any], Any],
        *,
        retries: int = UPDATE_RETRIES,
        wait: bool = True,
    ) -> None:
        """Read, modify and write the object safely against concurrent writers.

        Reloads the object (``GET``, local edits dropped), calls ``fn(self)``
        to edit it, saves it with ``If-Match`` and reads it back to check the
        edit stayed (LXD's ETag check is not atomic with its write, see
        :mod:`pylxd.models._concurrency`). When another writer changed the
        object in between (HTTP 412) or undid the edit, all of it is done
        again, up to ``retries`` more times; ``fn`` must therefore only edit
        the object.

        :param fn: edits the object in place (its return value is ignored).
        :param retries: how many times to try again after a stale ETag.
        :raises PreconditionFailed: when every try met a concurrent change.
        :raises InvalidArgument: for a negative ``retries``.
        """
        from pylxd.models import _concurrency

        if not isinstance(retries, int) or retries < 0:
            raise exceptions.InvalidArgument(
                f"{self._subject()}.update_with: retries must be an int >= 0, not {retries!r}"
            )
        _concurrency.update_with(self, fn, retries, wait)

    def save(self, wait: bool = False, *, if_match: bool | None = None) -> None:
        """Save the object: ``PUT`` every writable attribute.

        :param if_match: send ``If-Match`` with the object's :attr:`etag` (None:
            the client's ``if_match`` switch); the object is then reloaded, so
            that it holds the new state and its ETag.
        :raises PreconditionFailed: when the object changed on the server
            since it was loaded (nothing was saved).
        """
        self._save_body(self.marshall(), wait, if_match)

    def _save_body(self, body: JSONDict, wait: bool, if_match: bool | None) -> None:
        guarded = self._if_match_headers(if_match) is not None
        self._write("put", body, wait, if_match)
        self._mark_clean()
        if guarded:
            self.sync()

    def delete(self, wait: bool = False) -> None:
        """Delete the object on the server (``DELETE`` its URL)."""
        response = self.api.delete()
        wait_for(self.client, response, wait)
        object.__setattr__(self, "client", None)

    def post(
        self, json: JSONDict | None = None, wait: bool = False
    ) -> requests.Response:
        """``POST`` to the object's URL, waiting for the operation if asked."""
        response = self.api.post(json=json)
        wait_for(self.client, response, wait)
        return response

    def raw_put(
        self,
        put_object: JSONDict,
        wait: bool = False,
        *,
        if_match: bool | None = None,
    ) -> requests.Response:
        """``PUT`` ``put_object`` without syncing the object back.

        :param if_match: as for :meth:`save`.
        """
        return self._write("put", put_object, wait, if_match)

    def raw_patch(
        self,
        patch_object: JSONDict,
        wait: bool = False,
        *,
        if_match: bool | None = None,
    ) -> requests.Response:
        """``PATCH`` ``patch_object`` without syncing the object back.

        :param if_match: as for :meth:`save`.
        """
        return self._write("patch", patch_object, wait, if_match)

    def put(
        self, put_object: JSONDict, wait: bool = False, *, if_match: bool | None = None
    ) -> None:
        """``PUT`` ``put_object``, then reload the object from the server.

        Waits when the server has ``storage_and_network_operations``, as pylxd.

        :param if_match: as for :meth:`save`.
        :raises PreconditionFailed: when the ETag is stale (nothing changed).
        """
        wait = forced_wait(self.client, wait)
        self.raw_put(put_object, wait=wait, if_match=if_match)
        self.sync(rollback=True)

    def patch(
        self,
        patch_object: JSONDict,
        wait: bool = False,
        *,
        if_match: bool | None = None,
    ) -> None:
        """``PATCH`` ``patch_object``, then reload the object from the server.

        Waits when the server has ``storage_and_network_operations``, as pylxd.

        :param if_match: as for :meth:`save`.
        :raises PreconditionFailed: when the ETag is stale (nothing changed).
        """
        wait = forced_wait(self.client, wait)
        self.raw_patch(patch_object, wait=wait, if_match=if_match)
        self.sync(rollback=True)

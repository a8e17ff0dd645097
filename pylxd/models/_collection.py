"""Collections under a parent object, and changes that wait: written once.

A child model declares where it lives and how errors name it; the verbs
come from here (python-gitlab's ``_path``/``_from_parent_attrs`` with CRUD
mixins is the model)::

    class StorageBucketKey(ChildMixin, BlockingMixin, model.Model):
        _endpoint = "keys"                 # <parent URL>/keys/<key>
        _key = "name"                      # the attribute in the URL (the default)
        _error_kind = "Storage bucket key" # NotFound("Storage bucket key '...' of ...")
        bucket: model.Parent[StorageBucket] = model.Parent()  # the parent

:class:`ChildMixin` classmethods take ``(client, parent, ...)`` (the managers
bind both); :class:`ParentChildMixin` ones take ``(parent, ...)``, as pylxd
2.4.2's backups and volume snapshots do. Both share :class:`_Child`.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Callable, ClassVar, ContextManager, TypeVar, cast

from pylxd import exceptions
from pylxd._types import JSONDict
from pylxd.exceptions import naming
from pylxd.models import _model as model
from pylxd.models._mixins import (
    check_config,
    check_name,
    created_name_or_none,
    found,
    listed_names,
    quote,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client


_T = TypeVar("_T", bound="_Child")

#: The verbs whose parameters take the names a child class declares.
_VERBS = ("all", "get", "exists")


def _renamed(owner: type, func: Callable[..., Any], renames: dict[str, str]) -> Any:
    """``func`` as a classmethod of ``owner`` whose parameters bear ``renames``.

    pylxd 2.4.2 callers write ``volume.snapshots.get(name="s1")`` or
    ``Snapshot.get(client, instance=i, name="s")``: the shared verbs take
    the names the class declares (``_parent``, ``_key``), positional calls
    cost nothing more, and ``inspect.signature`` shows the real names.
    """
    signature = inspect.signature(func)
    parameters = [
        p.replace(name=renames.get(p.name, p.name))
        for p in signature.parameters.values()
    ]
    declared = signature.replace(parameters=parameters)

    def verb(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:  # bind the declared names onto the shared positions
            args = declared.bind(cls, *args, **kwargs).args[1:]
        return func(cls, *args)

    verb.__name__ = func.__name__
    verb.__qualname__ = f"{owner.__qualname__}.{func.__name__}"
    verb.__doc__ = func.__doc__
    setattr(verb, "__signature__", declared)
    return classmethod(verb)


class _Child:
    """What every child collection does: ``<parent URL>/<_endpoint>/<key>``."""

    __slots__ = ()
    _endpoint: ClassVar[str]
    _key: ClassVar[str] = "name"
    #: The :class:`~pylxd.models._model.Parent` attribute (the class's only
    #: one, unless it says which).
    _parent: ClassVar[str]
    #: How errors call this kind of object (``"Network forward"``).
    _error_kind: ClassVar[str | None]
    #: Asserted by every verb of the collection.
    _api_extension: ClassVar[str | None] = None
    #: How a 404 inside the collection is refined (storage: StorageObjectNotFound).
    _refine: ClassVar[exceptions.Refine | None] = None

    if TYPE_CHECKING:  # pragma: no cover
        _from_server: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # The parent is named once, by the class's model.Parent() attribute.
        parents = cls.__dict__.get("__parents__", frozenset())
        if "_parent" not in cls.__dict__:
            if len(parents) != 1:
                return  # none yet (a base), or several: the class says which
            (cls._parent,) = parents
        renames = {"parent": cls._parent, "key": cls._key, "name": cls._key}
        for name in _VERBS:
            if name in cls.__dict__:  # the class writes its own
                continue
            func = getattr(cls, name).__func__
            while hasattr(func, "__wrapped_verb__"):
                func = func.__wrapped_verb__
            wrapped = _renamed(cls, func, renames)
            setattr(wrapped.__func__, "__wrapped_verb__", func)
            setattr(cls, name, wrapped)

    @classmethod
    def _kind(cls) -> str:
        return cls._error_kind or cls.__name__

    @classmethod
    def _collection(cls, client: Client, parent: Any) -> _APINode:
        if cls._api_extension:
            client.assert_has_api_extension(cls._api_extension)
        node: _APINode = parent.api[cls._endpoint]
        return node

    @classmethod
    def _subject_for(cls, parent: Any, key: str) -> str:
        """``Network forward '10.0.0.7' of Network 'br1'``."""
        return f"{cls._kind()} {key!r} of {parent._subject()}"

    @classmethod
    def _naming(cls, subject: str) -> ContextManager[None]:
        return naming(subject, refine=cls._refine)

    @classmethod
    def _list(cls, client: Client, parent: Any) -> list[Any]:
        """``GET <parent URL>/<collection>?recursion=1``, each item loaded."""
        with cls._naming(parent._subject()):
            response = cls._collection(client, parent).get(params={"recursion": 1})
            items = exceptions.metadata_of(
                response, (list, type(None)), items=dict, key=cls._key
            )
        return [
            cls._from_server(client, item, **{cls._parent: parent})
            for item in items or ()
        ]

    @classmethod
    def _names(cls, client: Client, parent: Any) -> list[str]:
        """``GET <parent URL>/<collection>``: the keys of the children."""
        with cls._naming(parent._subject()):
            return listed_names(cls._collection(client, parent).get())

    @classmethod
    def _created_key(
        cls,
        client: Client,
        parent: Any,
        response: requests.Response,
        before: set[str],
        kind: str | None = None,
    ) -> str:
        """The key LXD gave the child a ``POST`` (waited for) sent without one.

        LXD tells it in the operation's ``resources[kind]`` (default: the
        collection's name), or else it is the one key listed now that was not
        in ``before`` (LXD 5.0 does not tell a new volume snapshot's).

        :raises MalformedResponse: when neither tells it.
        """
        kind = kind or cls._endpoint
        key = created_name_or_none(response, kind, under=cls._endpoint)
        if key is not None:
            return key
        new = set(cls._names(client, parent)) - before
        if len(new) != 1:
            raise exceptions.MalformedResponse(
                response,
                f"LXD did not tell the name of the new {cls._kind().lower()} of "
                f"{parent._subject()} (new since the request: {sorted(new)})",
            )
        return new.pop()

    @classmethod
    def _fetch(cls: type[_T], client: Client, parent: Any, key: str) -> _T:
        """``GET <parent URL>/<collection>/<key>``, loaded, with its ETag."""
        with cls._naming(cls._subject_for(parent, key)):
            node = cls._collection(client, parent)[quote(key, cls._kind())]
            response = node.get()
            metadata = exceptions.metadata_of(response, key=cls._key)
        return cls._from_server(
            client, metadata, etag=model.etag_of(response), **{cls._parent: parent}
        )

    @classmethod
    def _post(
        cls, client: Client, parent: Any, key: str | None, body: JSONDict, wait: bool
    ) -> requests.Response:
        """``POST`` ``body`` to the collection and wait when asked."""
        subject = cls._subject_for(parent, key) if key else parent._subject()
        with cls._naming(subject):
            response = cls._collection(client, parent).post(json=body)
            model.wait_for(client, response, wait)
        return response

    @classmethod
    def _create(
        cls: type[_T],
        client: Client,
        parent: Any,
        key: str,
        body: JSONDict,
        wait: bool = True,
    ) -> _T:
        """``POST`` ``body``; the new object, loaded when waited for."""
        cls._post(client, parent, key, body, wait)
        if wait:
            return cls._fetch(client, parent, key)
        return cls._lazy(client, parent, key)

    @classmethod
    def _create_named(cls: type[_T], client: Client, parent: Any, body: JSONDict) -> _T:
        """Check the key and the ``config`` of ``body``, ``POST`` it; the new object.

        Both are refused before anything is sent (LXD would refuse them, or
        a key that is no URL segment would address the wrong object).
        """
        key = check_name(cls._kind(), body.get(cls._key))
        check_config(cls._subject_for(parent, key), body.get("config"))
        return cls._create(client, parent, key, body)

    @classmethod
    def _lazy(cls: type[_T], client: Client, parent: Any, key: str) -> _T:
        """An unloaded object (loaded on first attribute read)."""
        lazy: _T = cast(Any, cls)(client, **{cls._parent: parent, cls._key: key})
        return lazy

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of this child: ``<parent URL>/<endpoint>/<key>``."""
        parent = getattr(self, self._parent)
        node: _APINode = parent.api[self._endpoint]
        return node[quote(getattr(self, self._key), self._kind())]

    def _subject(self) -> str:
        return self._subject_for(getattr(self, self._parent), getattr(self, self._key))


class ChildMixin(_Child):
    """A child collection whose classmethods take ``(client, parent, ...)``."""

    __slots__ = ()

    @classmethod
    def all(cls, client: Client, parent: Any) -> list[Any]:
        """Return every object of the collection, fully loaded in one request.

        Implements ``GET <parent URL>/<collection>?recursion=1`` (e.g.
        ``/1.0/networks/<name>/forwards``).

        :raises NotFound: naming the parent, when it does not exist.
        """
        return cls._list(client, parent)

    @classmethod
    def get(cls, client: Client, parent: Any, key: str) -> Any:
        """Return the object keyed ``key``.

        Implements ``GET <parent URL>/<collection>/<key>``.

        :raises NotFound: naming it, when it does not exist.
        """
        return cls._fetch(client, parent, key)

    @classmethod
    def exists(cls, client: Client, parent: Any, key: str) -> bool:
        """Tell whether an object keyed ``key`` exists."""
        return found(cls._fetch, client, parent, key)


class ParentChildMixin(_Child):
    """A child collection whose classmethods take ``(parent, ...)`` (pylxd's form)."""

    __slots__ = ()

    @classmethod
    def all(cls, parent: Any) -> list[Any]:
        """Return every object of the collection, fully loaded in one request.

        Implements ``GET <parent URL>/<collection>?recursion=1``.

        :raises NotFound: naming the parent, when it does not exist.
        """
        return cls._list(parent.client, parent)

    @classmethod
    def get(cls, parent: Any, name: str) -> Any:
        """Return the object called ``name``.

        Implements ``GET <parent URL>/<collection>/<name>``.

        :raises NotFound: naming it, when it does not exist.
        """
        return cls._fetch(parent.client, parent, name)

    @classmethod
    def exists(cls, parent: Any, name: str) -> bool:
        """Tell whether an object called ``name`` exists."""
        return found(cls._fetch, parent.client, parent, name)


class WaitedMixin:
    """``rename`` and ``delete`` that wait for LXD by default.

    LXD 5.0 answers them with an operation for backups and volume
    snapshots: unlike pylxd (``wait=False``), the default is to wait for it,
    so that a listing right after shows the change.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover

        def _rename(self, new_name: str, wait: bool = False) -> requests.Response: ...

    def rename(self, new_name: str, wait: bool = True) -> None:
        """Rename the object.

        Implements ``POST <URL>`` with ``{"name": new_name}``.

        :param wait: wait for LXD's operation when it answers with one.
        :raises InvalidArgument: for a name that is empty, ``.``, ``..`` or
            holds ``/`` (nothing sent).
        """
        self._rename(new_name, wait=wait)

    def delete(self, wait: bool = True) -> None:
        """Delete the object (``DELETE <URL>``), waiting for LXD by default."""
        model.Model.delete(cast(model.Model, self), wait=wait)


class BlockingMixin:
    """Changes that finish LXD's work before returning.

    The model's ``save``, ``put``, ``patch``, ``raw_put`` and ``raw_patch``
    write through :meth:`_write`; it and ``delete`` check the API
    extension, name the object in errors, and wait for LXD's
    operation when asked, and always on servers with
    ``storage_and_network_operations`` (the ones that answer with one), as
    pylxd does; ``wait=False`` is pylxd's default.
    """

    __slots__ = ()
    _api_extension: ClassVar[str | None]
    #: Asserted by the changes only (reads work without it, as in pylxd);
    #: ``_api_extension`` when None.
    _write_extension: ClassVar[str | None] = None
    client: Client

    if TYPE_CHECKING:  # pragma: no cover

        @property
        def api(self) -> _APINode: ...

        def _subject(self) -> str: ...

        def _if_match_headers(self, if_match: bool | None) -> JSONDict | None: ...

    def _check_extension(self) -> None:
        extension = self._write_extension or self._api_extension
        if extension:
            self.client.assert_has_api_extension(extension)

    def _write(
        self,
        verb: str,
        body: JSONDict | None,
        wait: bool,
        if_match: bool | None = False,
    ) -> requests.Response:
        """The one change: ``save``, ``put``, ``patch``, ``raw_put`` and
        ``raw_patch`` (the model's) and ``delete`` all send through here."""
        self._check_extension()
        kwargs: JSONDict = {} if body is None else {"json": body}
        headers = self._if_match_headers(if_match)
        if headers is not None:
            kwargs["headers"] = headers

        def send() -> requests.Response:
            with naming(self._subject()):
                response: requests.Response = getattr(self.api, verb)(**kwargs)
                model.wait_for(
                    self.client, response, model.forced_wait(self.client, wait)
                )
            return response

        return self._sending(send)

    def _sending(self, send: Callable[[], requests.Response]) -> requests.Response:
        """Send one change (``send()``); a model whose server may fail a
        change that is safe to send again puts its retries here."""
        return send()

    def delete(self, wait: bool = False) -> None:
        """Delete the object (``DELETE`` its URL).

        :param wait: wait for LXD's operation when it answers with one.
        :raises LXDAPIExtensionNotAvailable: without the API extension.
        :raises NotFound: when the object is gone.
        :raises LXDAPIException: when LXD refuses (e.g. the object is in use).
        """
        self._write("delete", None, wait)
        object.__setattr__(self, "client", None)

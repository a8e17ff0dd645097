"""Verbs shared by the models: collections, children, renames, URL parsing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib import parse

from pylxd.models._model import JSONDict, etag_of, wait_for

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client

T = TypeVar("T")


def name_from_url(url: str) -> str:
    """Take the last segment of an LXD URL, unquoted and without its query.

    >>> name_from_url("/1.0/profiles/a%2Fb?project=p")
    'a/b'
    >>> name_from_url("/1.0/instances/c1")
    'c1'
    """
    return parse.unquote(parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def quote(part: Any) -> str:
    """Quote one URL segment (names may hold ``/`` or spaces)."""
    return parse.quote(str(part), safe="")


def found(get: Any, *args: Any) -> bool:
    """Tell whether ``get(*args)`` finds its object (False on NotFound).

    Every ``exists`` classmethod is this, with its own signature.
    """
    from pylxd import exceptions

    try:
        get(*args)
    except exceptions.NotFound:
        return False
    return True


def drop_none(**kwargs: Any) -> JSONDict:
    """Return the keyword arguments whose value is not None.

    >>> drop_none(name="p", config=None)
    {'name': 'p'}
    """
    return {key: value for key, value in kwargs.items() if value is not None}


class CollectionMixin:
    """A top-level collection ``/1.0/<_endpoint>`` keyed by ``_key``."""

    __slots__ = ()
    _endpoint: ClassVar[str]
    _key: ClassVar[str] = "name"
    #: Asserted by get/all/exists/create only.
    _api_extension: ClassVar[str | None] = None
    #: What errors call this kind of object; the class name when None.
    _error_kind: ClassVar[str | None] = None

    client: Client

    @classmethod
    def _collection(cls, client: Client) -> _APINode:
        if cls._api_extension:
            client.assert_has_api_extension(cls._api_extension)
        return client.api[cls._endpoint]

    @classmethod
    def all(cls: Any, client: Client) -> list[Any]:
        """Return every object of the collection, fully loaded in one request."""
        response = cls._collection(client).get(params={"recursion": 1})
        return [cls._from_server(client, item) for item in response.json()["metadata"]]

    @classmethod
    def get(cls: Any, client: Client, name: str) -> Any:
        """Return the object named ``name``.

        :raises NotFound: when it does not exist.
        """
        from pylxd import exceptions

        with exceptions.naming(cls._error_kind or cls.__name__, name):
            response = cls._collection(client)[quote(name)].get()
        return cls._from_server(
            client, response.json()["metadata"], etag=etag_of(response)
        )

    @classmethod
    def exists(cls, client: Client, name: str) -> bool:
        """Tell whether an object named ``name`` exists."""
        return found(cls.get, client, name)  # type: ignore[attr-defined]

    @classmethod
    def _post_collection(
        cls,
        client: Client,
        body: JSONDict,
        wait: bool = False,
        target: str | None = None,
    ) -> requests.Response:
        response = cls._collection(client).post(json=body, target=target)
        wait_for(client, response, wait)
        return response

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of this object: ``/1.0/<endpoint>/<key>``."""
        return self.client.api[self._endpoint][quote(getattr(self, self._key))]


class RenameMixin:
    """``POST {"name": new}`` to the object's URL."""

    __slots__ = ()
    _key: ClassVar[str]
    client: Client

    if TYPE_CHECKING:  # pragma: no cover

        @property
        def api(self) -> _APINode: ...

    def _rename(self, new_name: str, wait: bool = False) -> requests.Response:
        response = self.api.post(json={"name": new_name})
        wait_for(self.client, response, wait)
        object.__setattr__(self, self._key, new_name)
        return response

"""Verbs shared by the models: collections, children, renames, URL parsing."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar
from urllib import parse

from pylxd import exceptions
from pylxd.models._model import JSONDict, etag_of, wait_for

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client

T = TypeVar("T")
_C = TypeVar("_C", bound="CollectionMixin")


def name_from_url(url: str) -> str:
    """Take the last segment of an LXD URL, unquoted and without its query.

    >>> name_from_url("/1.0/profiles/a%2Fb?project=p")
    'a/b'
    >>> name_from_url("/1.0/instances/c1")
    'c1'
    """
    return parse.unquote(parse.urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


#: Names that do not address one object below a collection: ``""`` is the
#: collection itself, and ``"."``/``".."`` are dot segments that clients and
#: servers resolve away (LXD 5.0.2 took a snapshot named ``..`` and wrote it
#: over the pool's ``containers-snapshots/`` directory).
_NOT_A_SEGMENT = frozenset({"", ".", ".."})

#: A segment :func:`parse.quote` leaves as it is (its always-safe characters).
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def listed_names(response: requests.Response) -> list[str]:
    """The names in LXD's listing of object URLs (a ``GET`` without recursion).

    :raises MalformedResponse: when it is not a list of strings (None is an
        empty list), or an URL names no object (``/1.0/instances/``, ``..``):
        such a name could not be addressed again.
    """
    urls = exceptions.metadata_of(response, (list, type(None)), items=str)
    names = []
    for url in urls or ():
        path = parse.urlsplit(url).path
        name = parse.unquote(path.rsplit("/", 1)[-1])  # no trailing "/" dropped
        if name in _NOT_A_SEGMENT:
            raise exceptions.malformed(response, f"a listing holding {url!r}")
        names.append(name)
    return names


def check_name(kind: str, name: Any, *, slash: bool = False) -> str:
    """Refuse a name that cannot be one URL path segment, before sending.

    Every name that is, or will become, a segment of a URL path (the object
    of ``get``/``exists``/``delete``, the name a ``create`` or ``rename``
    sends) passes here, so that no call can address the wrong object.

    >>> check_name("Snapshot", "snap0")
    'snap0'
    >>> check_name("Snapshot", "..")
    Traceback (most recent call last):
    ...
    pylxd.exceptions.InvalidArgument: Snapshot name '..' is not allowed: ...

    :param kind: what is named (``"Snapshot"``), for the message.
    :param slash: True where LXD allows ``/`` inside the name (image
        aliases such as ``ubuntu/22.04``); :func:`quote` percent-encodes it.
    :returns: ``name``, unchanged.
    :raises InvalidArgumentType: when ``name`` is not a string.
    :raises InvalidArgument: when it is empty, ``.``, ``..`` or holds ``/``.
    """
    if not isinstance(name, str):
        raise exceptions.InvalidArgumentType(
            f"{kind} name must be a string, not {type(name).__name__} ({name!r})"
        )
    if name in _NOT_A_SEGMENT:
        raise exceptions.InvalidArgument(
            f"{kind} name {name!r} is not allowed: a name must not be empty, "
            "'.' or '..'"
        )
    if not slash and "/" in name:
        raise exceptions.InvalidArgument(
            f"{kind} name {name!r} is not allowed: a name must not contain '/'"
        )
    return name


def quote(part: Any, kind: str = "URL path segment", *, slash: bool = False) -> str:
    """Check one URL path segment with :func:`check_name`, then quote it.

    Models build every URL below a collection with this (never with the raw
    ``client.api[...]`` escape hatch), so the check cannot be skipped.

    >>> quote("ubuntu/22.04", "Image alias", slash=True)
    'ubuntu%2F22.04'
    """
    if type(part) is str and _PLAIN(part) and part not in _NOT_A_SEGMENT:
        return part  # most names: nothing to refuse or to quote
    return parse.quote(check_name(kind, part, slash=slash), safe="")


def found(get: Any, *args: Any) -> bool:
    """Tell whether ``get(*args)`` finds its object (False on NotFound).

    Every ``exists`` classmethod is this, with its own signature.
    """
    try:
        get(*args)
    except exceptions.NotFound:
        return False
    return True


def created_name(response: requests.Response, what: str, *kinds: str) -> str:
    """The name LXD gave what an operation created, from its ``resources``.

    The operation answering a ``POST`` lists the new object's URL under
    ``resources[kind]`` (``backups``, ``instances``, ...); the first of
    ``kinds`` listed wins.

    :param what: what was created (``"instance backup"``), for the message.
    :raises MalformedResponse: when LXD names none of ``kinds``.
    """
    name = created_name_or_none(response, *kinds)
    if name is None:
        raise exceptions.MalformedResponse(
            response, f"LXD did not tell the name of the new {what}"
        )
    return name


def created_name_or_none(
    response: requests.Response, *kinds: str, under: str | None = None
) -> str | None:
    """:func:`created_name`, or None when LXD names none of ``kinds``.

    :param under: the collection the new object is in (``"snapshots"``): a
        URL outside it names something else (LXD 5.0 lists only the volume
        of a new volume snapshot, under ``storage_volumes``).
    """
    metadata = response.json().get("metadata")
    resources = metadata.get("resources") if isinstance(metadata, dict) else None
    for kind in kinds:
        urls = (resources or {}).get(kind)
        if urls and isinstance(urls, list) and isinstance(urls[0], str):
            collection = parse.urlsplit(urls[0]).path.rstrip("/").split("/")[-2:-1]
            if under is None or collection == [under]:
                return name_from_url(urls[0])
    return None


def https_url(client: Client) -> str | None:
    """The ``https://host:port`` another LXD reaches ``client``'s server at.

    The client's own URL when it talks HTTPS, else the first of the
    server's ``core.https_address`` addresses; None when it has none.
    """
    api = client.api
    if api.scheme == "https":
        return f"https://{api.netloc}"
    addresses = client.host_info.get("environment", {}).get("addresses") or []
    return f"https://{addresses[0]}" if addresses else None


def required_https_url(client: Client, refusal: str) -> str:
    """:func:`https_url`, refused with ``refusal`` when the server has none.

    :raises InvalidArgument: naming what needed it (``refusal``).
    """
    url = https_url(client)
    if url is None:
        raise exceptions.InvalidArgument(refusal)
    return url


def is_incus(client: Client) -> bool:
    """Tell whether ``client`` talks to Incus: :attr:`Client.is_incus`."""
    return bool(client.is_incus)


def check_config(subject: str, config: Any, field: str = "config") -> None:
    """Refuse a config LXD would reject: it is a map of strings to strings.

    :param field: what the map is, for the message (``config``,
        ``environment``...).
    :raises TypeError: naming ``subject``, ``field`` and the offending key.
    """
    if config is None:
        return
    if not isinstance(config, dict):
        raise exceptions.InvalidArgumentType(
            f"{subject}: {field} must be a dict of strings, "
            f"not {type(config).__name__} {config!r}"
        )
    for key, value in config.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise exceptions.InvalidArgumentType(
                f"{subject}: {field}[{key!r}] must be a string, "
                f"not {type(value).__name__} {value!r}"
            )


def drop_none(**kwargs: Any) -> JSONDict:
    """Return the keyword arguments whose value is not None.

    >>> drop_none(name="p", config=None)
    {'name': 'p'}
    """
    return {key: value for key, value in kwargs.items() if value is not None}


class InstancePart:
    """What sits at a fixed path below an instance (``instance.files``,
    ``instance.logs``, ...): it holds the instance and knows its URL.

    Subclasses declare ``_path``, the segments below ``/1.0/instances/<name>``.
    """

    __slots__ = ("instance",)
    _path: ClassVar[tuple[str, ...]]

    def __init__(self, instance: Any) -> None:
        self.instance = instance

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.instance!r}>"

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of ``/1.0/instances/<name>/<_path>`` (no I/O)."""
        return functools.reduce(getattr, self._path, self.instance.api)


class CollectionMixin:
    """A top-level collection ``/1.0/<_endpoint>`` keyed by ``_key``."""

    __slots__ = ()
    _endpoint: ClassVar[str]
    _key: ClassVar[str] = "name"
    #: Asserted by get/all/exists/create only.
    _api_extension: ClassVar[str | None] = None
    #: What errors call this kind of object; the class name when None.
    _error_kind: ClassVar[str | None] = None
    #: True where LXD allows ``/`` in a name (image aliases).
    _name_slash: ClassVar[bool] = False

    client: Client

    if TYPE_CHECKING:  # pragma: no cover
        _from_server: Any

    @classmethod
    def _collection(cls, client: Client) -> _APINode:
        if cls._api_extension:
            client.assert_has_api_extension(cls._api_extension)
        return client.api[cls._endpoint]

    @classmethod
    def all(cls, client: Client) -> list[Any]:
        """Return every object of the collection, fully loaded in one request."""
        response = cls._collection(client).get(params={"recursion": 1})
        items = exceptions.metadata_of(response, list, items=dict, key=cls._key)
        return [cls._from_server(client, item) for item in items]

    @classmethod
    def get(cls, client: Client, name: str) -> Any:
        """Return the object named ``name``.

        :raises NotFound: when it does not exist.
        """
        kind = cls._error_kind or cls.__name__
        with exceptions.naming(kind, name):
            node = cls._collection(client)[quote(name, kind, slash=cls._name_slash)]
            response = node.get()
            # inside naming(): a malformed answer is named like LXD's errors
            metadata = exceptions.metadata_of(response, key=cls._key)
        return cls._from_server(client, metadata, etag=etag_of(response))

    @classmethod
    def exists(cls, client: Client, name: str) -> bool:
        """Tell whether an object named ``name`` exists."""
        return found(cls.get, client, name)

    @classmethod
    def _post_collection(
        cls,
        client: Client,
        body: JSONDict,
        wait: bool = False,
        target: str | None = None,
    ) -> requests.Response:
        if isinstance(body, dict) and cls._key in body:
            kind = cls._error_kind or cls.__name__
            check_name(kind, body[cls._key], slash=cls._name_slash)
        response = cls._collection(client).post(json=body, target=target)
        wait_for(client, response, wait)
        return response

    @classmethod
    def _create_named(
        cls,
        client: Client,
        name: str,
        fields: JSONDict,
        *,
        wait: bool = False,
        string_config: bool = False,
    ) -> Any:
        """``POST`` ``name`` and the ``fields`` not None; the object as stored.

        :param string_config: refuse a ``config`` that is not strings to
            strings before sending (LXD would refuse it).
        """
        kind = cls._error_kind or cls.__name__
        check_name(kind, name, slash=cls._name_slash)
        if string_config:
            check_config(f"{kind} {name!r}", fields.get("config"))
        with exceptions.naming(kind, name):
            cls._post_collection(client, drop_none(name=name, **fields), wait=wait)
        return cls.get(client, name)

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of this object: ``/1.0/<endpoint>/<key>``."""
        kind = self._error_kind or type(self).__name__
        name = quote(getattr(self, self._key), kind, slash=self._name_slash)
        return self.client.api[self._endpoint][name]


class DescribedCollectionMixin(CollectionMixin):
    """A collection whose objects are created from a name, a description and a config.

    Projects and network zones are; their ``config`` is strings to strings.
    """

    __slots__ = ()

    @classmethod
    def create(
        cls: type[_C],
        client: Client,
        name: str,
        description: str | None = None,
        config: dict[str, str] | None = None,
    ) -> _C:
        """Create an object of the collection and return it as stored.

        Implements ``POST /1.0/<collection>`` (``/1.0/projects``,
        ``/1.0/network-zones``...), waiting for LXD when it answers with an
        operation.

        :param config: the object's configuration, strings to strings.
        :raises InvalidArgument: for a name that cannot be one (nothing sent).
        :raises InvalidArgumentType: for a config that is not strings to
            strings (nothing sent; LXD would refuse it).
        :raises Conflict: when an object of that name exists.
        """
        fields = {"description": description, "config": config}
        created: _C = cls._create_named(
            client, name, fields, wait=True, string_config=True
        )
        return created


class RenameMixin:
    """``POST {"name": new}`` to the object's URL."""

    __slots__ = ()
    _key: ClassVar[str]
    client: Client

    if TYPE_CHECKING:  # pragma: no cover

        @property
        def api(self) -> _APINode: ...

        def _subject(self) -> str: ...

        #: The model's ``get`` classmethod (its key parameters vary by model).
        get: ClassVar[Callable[..., Any]]

    def _rename_and_get(self, new_name: str, wait: bool = False) -> Any:
        """Rename (errors name both names) and return the object as stored."""
        check = getattr(self, "_check_extension", None)
        if check is not None:  # a BlockingMixin: its write extension
            check()
        with exceptions.naming(f"{self._subject()} (renaming to {new_name!r})"):
            self._rename(new_name, wait=wait)
        return self.get(self.client, new_name)

    def _rename(self, new_name: str, wait: bool = False) -> requests.Response:
        kind = getattr(self, "_error_kind", None) or type(self).__name__
        check_name(kind, new_name, slash=getattr(self, "_name_slash", False))
        response = self.api.post(json={"name": new_name})
        wait_for(self.client, response, wait)
        object.__setattr__(self, self._key, new_name)
        return response

"""LXD networks: ``/1.0/networks``, their state, leases, forwards, peers and load balancers.

Network calls used to be answered synchronously; since the
``storage_and_network_operations`` API extension LXD answers them with a
background operation. Every mutating call here blocks until LXD is done
either way (through :func:`pylxd.models._model.wait_for`), so code written
for synchronous answers keeps its meaning.

Errors name the object they are about: ``NotFound("Network 'br1': Network not
found")``. LXD 5.0 reports some duplicates as a plain 400/500; they are raised
as :class:`~pylxd.exceptions.Conflict`, like the 409s of other resources.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from pylxd import exceptions, managers
from pylxd._types import JSONDict
from pylxd.exceptions import InvalidArgumentType, naming
from pylxd.models import _model as model
from pylxd.models._mixins import (
    CollectionMixin,
    RenameMixin,
    check_name,
    drop_none,
    found,
    quote,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd._transport import _APINode
    from pylxd.client import Client


def url_list(value: list[str] | None) -> list[str]:
    """``used_by`` as a list: LXD sends ``null`` for "used by nothing"."""
    return [] if value is None else list(value)


# -- argument checks ----------------------------------------------------------
def check_config(subject: str, config: Any) -> None:
    """Refuse a config LXD would reject: it is a map of strings to strings.

    :raises TypeError: naming ``subject`` and the offending key.
    """
    if config is None:
        return
    if not isinstance(config, dict):
        raise exceptions.InvalidArgumentType(
            f"{subject}: config must be a dict of strings, not {type(config).__name__}"
        )
    for key, value in config.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise exceptions.InvalidArgumentType(
                f"{subject}: config[{key!r}] must be a string, "
                f"not {type(value).__name__} {value!r}"
            )


# -- shared verbs -------------------------------------------------------------
class BlockingMixin:
    """Changes that finish LXD's work before returning.

    ``save``, ``delete``, ``put``, ``patch``, ``raw_put`` and ``raw_patch``
    check the API extension, name the object in errors, and wait for LXD's
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

        def marshall(self, skip_readonly: bool = True) -> JSONDict: ...

        def _mark_clean(self) -> None: ...

        def _subject(self) -> str: ...

        def sync(self, rollback: bool = False) -> None: ...

        def _if_match_headers(self, if_match: bool | None) -> JSONDict | None: ...

    def _check_extension(self) -> None:
        extension = self._write_extension or self._api_extension
        if extension:
            self.client.assert_has_api_extension(extension)

    def _change(
        self,
        verb: str,
        body: JSONDict | None,
        wait: bool,
        if_match: bool | None = False,
    ) -> requests.Response:
        self._check_extension()
        kwargs: JSONDict = {} if body is None else {"json": body}
        headers = self._if_match_headers(if_match)
        if headers is not None:
            kwargs["headers"] = headers
        with naming(self._subject()):
            response: requests.Response = getattr(self.api, verb)(**kwargs)
            model.wait_for(self.client, response, model.forced_wait(self.client, wait))
        return response

    def save(self, wait: bool = False, *, if_match: bool | None = None) -> None:
        """Save the object: ``PUT`` every writable attribute.

        :param wait: wait for LXD's operation when it answers with one.
        :param if_match: send ``If-Match`` with the object's ETag (None: the
            client's switch); the object is reloaded afterwards.
        :raises LXDAPIExtensionNotAvailable: without the API extension.
        :raises NotFound: when the object is gone.
        :raises PreconditionFailed: when it changed since it was loaded.
        :raises LXDAPIException: when LXD refuses the change.
        """
        guarded = self._if_match_headers(if_match) is not None
        self._change("put", self.marshall(), wait, if_match)
        self._mark_clean()
        if guarded:
            self.sync()

    def delete(self, wait: bool = False) -> None:
        """Delete the object (``DELETE`` its URL).

        :param wait: wait for LXD's operation when it answers with one.
        :raises LXDAPIExtensionNotAvailable: without the API extension.
        :raises NotFound: when the object is gone.
        :raises LXDAPIException: when LXD refuses (e.g. the object is in use).
        """
        self._change("delete", None, wait)
        object.__setattr__(self, "client", None)

    def raw_put(
        self, put_object: JSONDict, wait: bool = False, *, if_match: bool | None = None
    ) -> requests.Response:
        """``PUT`` ``put_object`` as given, without reloading the object."""
        return self._change("put", put_object, wait, if_match)

    def raw_patch(
        self,
        patch_object: JSONDict,
        wait: bool = False,
        *,
        if_match: bool | None = None,
    ) -> requests.Response:
        """``PATCH`` ``patch_object`` as given, without reloading the object."""
        return self._change("patch", patch_object, wait, if_match)

    def put(
        self, put_object: JSONDict, wait: bool = False, *, if_match: bool | None = None
    ) -> None:
        """``PUT`` ``put_object``, then reload the object from the server."""
        self.raw_put(put_object, wait=wait, if_match=if_match)
        self.sync(rollback=True)

    def patch(
        self,
        patch_object: JSONDict,
        wait: bool = False,
        *,
        if_match: bool | None = None,
    ) -> None:
        """``PATCH`` ``patch_object`` (merging config), then reload the object."""
        self.raw_patch(patch_object, wait=wait, if_match=if_match)
        self.sync(rollback=True)


class ChildMixin:
    """A collection under a parent object: ``<parent URL>/<_endpoint>/<key>``.

    ``_parent`` names the :class:`~pylxd.models._model.Parent` attribute; the
    classmethods take ``(client, parent, ...)``, as bound by the managers.
    """

    __slots__ = ()
    _endpoint: ClassVar[str]
    _key: ClassVar[str] = "name"
    _parent: ClassVar[str]
    _kind: ClassVar[str]
    _api_extension: ClassVar[str | None] = None

    @classmethod
    def _collection(cls, client: Client, parent: Any) -> _APINode:
        if cls._api_extension:
            client.assert_has_api_extension(cls._api_extension)
        return parent.api[cls._endpoint]

    @classmethod
    def _subject_for(cls, parent: Any, key: str) -> str:
        return f"{cls._kind} {key!r} of {parent._subject()}"

    @classmethod
    def all(cls: Any, client: Client, parent: Any) -> list[Any]:
        """Return every object of the collection, fully loaded in one request.

        Implements ``GET <parent URL>/<collection>?recursion=1`` (e.g.
        ``/1.0/networks/<name>/forwards``).

        :raises NotFound: naming the parent, when it does not exist.
        """
        with naming(parent._subject()):
            response = cls._collection(client, parent).get(params={"recursion": 1})
        return [
            cls._from_server(client, item, **{cls._parent: parent})
            for item in response.json()["metadata"] or ()
        ]

    @classmethod
    def get(cls: Any, client: Client, parent: Any, key: str) -> Any:
        """Return the object keyed ``key``.

        Implements ``GET <parent URL>/<collection>/<key>``.

        :raises NotFound: naming it, when it does not exist.
        """
        with naming(cls._subject_for(parent, key)):
            response = cls._collection(client, parent)[quote(key, cls._kind)].get()
        return cls._from_server(
            client,
            response.json()["metadata"],
            etag=model.etag_of(response),
            **{cls._parent: parent},
        )

    @classmethod
    def exists(cls: Any, client: Client, parent: Any, key: str) -> bool:
        """Tell whether an object keyed ``key`` exists."""
        return found(cls.get, client, parent, key)

    @classmethod
    def _create(cls: Any, client: Client, parent: Any, key: str, body: JSONDict) -> Any:
        """``POST`` ``body`` to the collection, wait, and return the new object."""
        with naming(cls._subject_for(parent, key)):
            response = cls._collection(client, parent).post(json=body)
            model.wait_for(client, response, True)
        return cls.get(client, parent, key)

    @property
    def api(self) -> _APINode:
        """The ``_APINode`` of this child: ``<parent URL>/<endpoint>/<key>``."""
        parent = getattr(self, self._parent)
        return parent.api[self._endpoint][quote(getattr(self, self._key), self._kind)]

    def _subject(self) -> str:
        return self._subject_for(getattr(self, self._parent), getattr(self, self._key))


# -- networks -----------------------------------------------------------------
class NetworkState(model.AttributeDict):
    """The state of a network: ``addresses``, ``counters``, ``hwaddr``, ``mtu``,
    ``state``, ``type`` and the ``bond``/``bridge``/``vlan``/``ovn`` details.

    Read by :meth:`Network.state` from ``GET /1.0/networks/<name>/state``.
    """

    #: Where it is read from, under the network's URL (a value, not a model).
    _endpoint: ClassVar[str] = "state"


class Network(CollectionMixin, RenameMixin, BlockingMixin, model.Model):
    """A LXD network, ``/1.0/networks/<name>``.

    Creating and modifying networks needs the ``network`` API extension,
    checked before any request (reading them does not, as in pylxd). ``used_by`` holds LXD's URLs (use
    :func:`pylxd.models._mixins.name_from_url` to get names). Unmanaged
    networks (host interfaces) can be read but not changed.
    """

    _endpoint = "networks"
    _write_extension = "network"

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    type = model.Attribute[str](readonly=True)
    config = model.Attribute[dict[str, str]]()
    managed = model.Attribute[bool](readonly=True)
    used_by = model.Attribute[list[str]](url_list, readonly=True)
    status = model.Attribute[str](readonly=True, optional=True)
    locations = model.Attribute[list[str]](readonly=True, optional=True)
    project = model.Attribute[str](readonly=True, optional=True)

    forwards = model.Manager(
        lambda net: managers.NetworkForwardManager(net.client, net)
    )
    peers = model.Manager(lambda net: managers.NetworkPeerManager(net.client, net))
    load_balancers = model.Manager(
        lambda net: managers.NetworkLoadBalancerManager(net.client, net)
    )

    @classmethod
    def allocations(
        cls, client: Client, all_projects: bool = False
    ) -> list[model.AttributeDict]:
        """Return the addresses in use: ``addresses``, ``used_by``, ``type``, ``nat``, ``hwaddr``.

        Implements ``GET /1.0/network-allocations`` (Incus, API extension
        ``network_allocations``), for the client's project or all of them.

        :raises LXDAPIExtensionNotAvailable: without ``network_allocations``.
        """
        client.assert_has_api_extension("network_allocations")
        params = {"all-projects": "true"} if all_projects else {}
        response = client.api["network-allocations"].get(params=params)
        return [model.AttributeDict(a) for a in response.json()["metadata"] or ()]

    @classmethod
    def get(cls, client: Client, name: str) -> Network:
        """Get a network by name.

        Implements ``GET /1.0/networks/<name>``.

        :raises NotFound: naming the network, when it does not exist.
        """
        return super().get(client, name)

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        description: str | None = None,
        type: str | None = None,
        config: dict[str, str] | None = None,
        wait: bool = True,
    ) -> Network:
        """Create a network and return it as stored.

        Implements ``POST /1.0/networks``. LXD picks addresses for a bridge
        whose config lacks ``ipv4.address``/``ipv6.address``; pass ``"none"``
        to get a bridge without any.

        :param type: the network type (``bridge``, ``macvlan``, ...; LXD's
            default is ``bridge``).
        :param config: the network configuration, a dict of strings.
        :param wait: wait for LXD's operation when it answers with one
            (always, on servers with ``storage_and_network_operations``).
        :raises LXDAPIExtensionNotAvailable: without the ``network`` extension.
        :raises Conflict: when a network of that name exists.
        :raises LXDAPIException: when LXD refuses the definition (nothing is
            left created).
        """
        client.assert_has_api_extension("network")
        check_name("Network", name)
        check_config(f"Network {name!r}", config)
        body = drop_none(name=name, description=description, type=type, config=config)
        with naming(f"Network {name!r}"):
            cls._post_collection(client, body, wait=model.forced_wait(client, wait))
        return cls.get(client, name)

    def rename(self, new_name: str, wait: bool = True) -> Network:
        """Rename the network and return it under its new name.

        Implements ``POST /1.0/networks/<name>``.

        :param wait: wait for LXD's operation when it answers with one
            (always, on servers with ``storage_and_network_operations``).

        :raises Conflict: when ``new_name`` is taken.
        :raises LXDAPIException: when the network is in use.
        """
        self._check_extension()
        check_name("Network", new_name)
        with naming(f"{self._subject()} (renaming to {new_name!r})"):
            self._rename(new_name, wait=model.forced_wait(self.client, wait))
        return self.get(self.client, new_name)

    def state(self) -> NetworkState:
        """Return the network's state.

        Implements ``GET /1.0/networks/<name>/state``.
        """
        with naming(self._subject()):
            response = self.api.state.get()
        return NetworkState(response.json()["metadata"])

    def leases(self) -> list[model.AttributeDict]:
        """Return the DHCP leases of a managed network.

        Implements ``GET /1.0/networks/<name>/leases`` (extension
        ``network_leases``). Each lease has ``hostname``, ``hwaddr``,
        ``address``, ``type`` and ``location``.
        """
        self.client.assert_has_api_extension("network_leases")
        with naming(self._subject()):
            response = self.api.leases.get()
        return [model.AttributeDict(item) for item in response.json()["metadata"] or ()]

    def __str__(self) -> str:
        return json.dumps(self.marshall(skip_readonly=False), indent=2)

    def __repr__(self) -> str:
        return _json_repr(self, ("config", "description", "name", "type"))


def _json_repr(obj: model.Model, names: tuple[str, ...]) -> str:
    """pylxd's repr of networks: ``Network(config={...}, name="br0", ...)``.

    Only loaded values are shown (no request), as JSON.
    """
    shown = ", ".join(
        f"{name}={json.dumps(obj._raw_attr(name))}"
        for name in names
        if obj._is_loaded(name)
    )
    return f"{type(obj).__name__}({shown})"


def _forward_body(
    body: JSONDict, description: str | None, ports: list[JSONDict] | None
) -> JSONDict:
    """pylxd's ``NetworkForward.create(client, network, config)``: the whole body."""
    if description is not None or ports is not None:
        raise InvalidArgumentType(
            "NetworkForward.create: with a definition dict, give the other "
            "fields inside it, not as arguments"
        )
    return dict(body)


class NetworkForward(ChildMixin, BlockingMixin, model.Model):
    """A network address forward, ``/1.0/networks/<net>/forwards/<address>``.

    Reached through ``network.forwards``. Changes need the API extension
    ``network_forward`` (reads are sent as they are, as in pylxd).
    """

    _endpoint = "forwards"
    _key = "listen_address"
    _parent = "network"
    _kind = "Network forward"
    _write_extension = "network_forward"

    network: model.Parent[Network] = model.Parent()
    listen_address = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    ports = model.Attribute[list[dict[str, str]]]()
    location = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def get(
        cls, client: Client, network: Network, listen_address: str
    ) -> NetworkForward:
        """Return the forward of ``listen_address`` on ``network``.

        Implements ``GET /1.0/networks/<net>/forwards/<listen_address>``.

        :raises NotFound: naming it, when it does not exist.
        """
        return super().get(client, network, listen_address)

    @classmethod
    def create(
        cls,
        client: Client,
        network: Network,
        config: JSONDict | str,
        description: str | None = None,
        ports: list[JSONDict] | None = None,
    ) -> NetworkForward:
        """Create a forward on ``network`` and return it.

        Implements ``POST /1.0/networks/<net>/forwards``. As in pylxd,
        ``config`` is the whole body: ``{"listen_address": "192.0.2.1",
        "config": {"target_address": "10.0.0.2"}, "ports": [...]}``. A
        string is taken as the listen address, with ``description`` and
        ``ports`` beside it.

        :param ports: dicts with ``protocol``, ``listen_port``,
            ``target_address``, optionally ``target_port`` and ``description``.
        :raises Conflict: when the address is already forwarded.
        """
        client.assert_has_api_extension("network_forward")
        if isinstance(config, dict):
            body = _forward_body(config, description, ports)
        else:
            body = drop_none(
                listen_address=config, description=description, ports=ports
            )
        check_name(cls._kind, body.get("listen_address"))
        address = str(body["listen_address"])
        check_config(cls._subject_for(network, address), body.get("config"))
        return cls._create(client, network, address, body)

    def __repr__(self) -> str:
        return _json_repr(self, ("config", "description", "listen_address"))

    def __str__(self) -> str:
        return json.dumps(self.marshall(skip_readonly=False), indent=2)


class NetworkPeer(ChildMixin, BlockingMixin, model.Model):
    """A network peering, ``/1.0/networks/<net>/peers/<name>`` (OVN networks).

    Reached through ``network.peers`` (API extension ``network_peer``).
    """

    _endpoint = "peers"
    _parent = "network"
    _kind = "Network peer"
    _api_extension = "network_peer"

    network: model.Parent[Network] = model.Parent()
    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    target_project = model.Attribute[str](readonly=True)
    target_network = model.Attribute[str](readonly=True)
    status = model.Attribute[str](readonly=True)
    used_by = model.Attribute[list[str]](url_list, readonly=True, optional=True)
    #: Incus 6.0: ``local`` or ``remote`` (a peer through a network integration).
    type = model.Attribute[str](readonly=True, optional=True)
    target_integration = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        network: Network,
        name: str,
        target_network: str,
        target_project: str | None = None,
        description: str | None = None,
        config: dict[str, str] | None = None,
    ) -> NetworkPeer:
        """Peer ``network`` with ``target_network`` and return the peering.

        Implements ``POST /1.0/networks/<net>/peers``. The peering is
        ``Pending`` until the target network peers back.

        :raises Conflict: when a peer of that name exists.
        """
        check_name("Network peer", name)
        check_name("Network peer target network", target_network)
        check_config(cls._subject_for(network, name), config)
        body = drop_none(
            name=name,
            target_network=target_network,
            target_project=target_project,
            description=description,
            config=config,
        )
        return cls._create(client, network, name, body)


class NetworkLoadBalancer(ChildMixin, BlockingMixin, model.Model):
    """A network load balancer, ``/1.0/networks/<net>/load-balancers/<address>``.

    Reached through ``network.load_balancers`` (Incus, API extension
    ``network_load_balancer``; OVN networks only). ``backends`` are dicts
    with ``name``, ``target_address`` and ``target_port``; ``ports`` map a
    ``listen_port`` and ``protocol`` to ``target_backend`` names.
    """

    _endpoint = "load-balancers"
    _key = "listen_address"
    _parent = "network"
    _kind = "Network load balancer"
    _api_extension = "network_load_balancer"

    network: model.Parent[Network] = model.Parent()
    listen_address = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    backends = model.Attribute[list[dict[str, str]]]()
    ports = model.Attribute[list[dict[str, Any]]]()
    location = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        network: Network,
        listen_address: str,
        description: str | None = None,
        config: dict[str, str] | None = None,
        backends: list[JSONDict] | None = None,
        ports: list[JSONDict] | None = None,
    ) -> NetworkLoadBalancer:
        """Balance ``listen_address`` over ``backends`` and return the load balancer.

        Implements ``POST /1.0/networks/<net>/load-balancers``.

        :raises LXDAPIExtensionNotAvailable: without ``network_load_balancer``.
        :raises Conflict: when the address has a load balancer already.
        """
        check_name("Network load balancer listen address", listen_address)
        check_config(cls._subject_for(network, listen_address), config)
        body = drop_none(
            listen_address=listen_address,
            description=description,
            config=config,
            backends=backends,
            ports=ports,
        )
        return cls._create(client, network, listen_address, body)

    def state(self) -> model.AttributeDict:
        """Return the health of the backends: ``{"backend_health": {address: ...}}``.

        Implements ``GET /1.0/networks/<net>/load-balancers/<address>/state``
        (API extension ``network_load_balancer_state``).
        """
        self.client.assert_has_api_extension("network_load_balancer_state")
        with naming(self._subject()):
            response = self.api.state.get()
        return model.AttributeDict(response.json()["metadata"])

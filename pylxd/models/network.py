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
import logging
from typing import TYPE_CHECKING, Any, Callable, ClassVar, TypeVar

from pylxd import exceptions, managers
from pylxd._retry import Retry, send_with_retry
from pylxd._types import JSONDict
from pylxd.exceptions import InvalidArgumentType, naming
from pylxd.models import _model as model
from pylxd.models._collection import BlockingMixin, ChildMixin
from pylxd.models._described import Described
from pylxd.models._mixins import (  # noqa: F401  (check_config: this module's name)
    CollectionMixin,
    RenameMixin,
    check_config,
    check_name,
    drop_none,
)

_T = TypeVar("_T")
logger = logging.getLogger("pylxd")

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client


def url_list(value: list[str] | None) -> list[str]:
    """``used_by`` as a list: LXD sends ``null`` for "used by nothing".

    Anything else that is not a list is kept as LXD sent it (never split:
    ``list()`` of a string would be its characters).
    """
    if value is None:
        return []
    return list(value) if isinstance(value, list) else value


#: Incus 6.0's race on a bridge: to set one up, restart or stop it (creating,
#: renaming, changing and deleting it do), it lists the host's network
#: interfaces and then reads each one; one deleted in between (another
#: bridge, a container's veth) fails the call with "Failed to delete bridge
#: children interfaces: ... does not exist" (or "No such device"). A failed create leaves no network
#: and no interface, a failed change or delete is undone (an ETag still
#: holds), and a failed rename is undone or done without starting the bridge
#: (:meth:`Network.rename` handles that). LXD 5.0 does not do this. Such calls
#: are sent again, up to 8 times over 4.5 s: in CI, with the LXD tests making
#: bridges beside Incus, 5 tries in a row once failed.
INTERFACE_RACE = Retry(
    total=8,
    backoff=0.05,
    max_backoff=1.0,
    deadline=None,
    statuses=(),
    # ip's words for the interface gone between listing and reading it
    messages=(r"delete bridge children interfaces: .*(does not exist|No such device)",),
)


def _past_interface_races(what: str, call: Callable[[], _T]) -> _T:
    """``call()``, sent again when Incus met its interface race (:data:`INTERFACE_RACE`)."""
    return send_with_retry(INTERFACE_RACE, what, call)


# -- networks -----------------------------------------------------------------
class NetworkState(model.AttributeDict):
    """The state of a network: ``addresses``, ``counters``, ``hwaddr``, ``mtu``,
    ``state``, ``type`` and the ``bond``/``bridge``/``vlan``/``ovn`` details.

    Read by :meth:`Network.state` from ``GET /1.0/networks/<name>/state``.
    """

    #: Where it is read from, under the network's URL (a value, not a model).
    _endpoint: ClassVar[str] = "state"


class Network(CollectionMixin, RenameMixin, BlockingMixin, Described):
    """A LXD network, ``/1.0/networks/<name>``.

    Creating and modifying networks needs the ``network`` API extension,
    checked before any request (reading them does not, as in pylxd). ``used_by`` holds LXD's URLs (use
    :func:`pylxd.models._mixins.name_from_url` to get names). Unmanaged
    networks (host interfaces) can be read but not changed.
    """

    _endpoint = "networks"
    _write_extension = "network"

    type = model.Attribute[str](readonly=True)
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
        return [
            model.AttributeDict(a)
            for a in exceptions.metadata_of(response, (list, type(None)), items=dict)
            or ()
        ]

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

        Sent again (:data:`INTERFACE_RACE`) when Incus fails it because a
        host interface went away while it read them.
        """
        client.assert_has_api_extension("network")
        fields = {"description": description, "type": type, "config": config}
        wait = model.forced_wait(client, wait)
        return _past_interface_races(
            f"creating network {name!r}",
            lambda: cls._create_named(
                client, name, fields, wait=wait, string_config=True
            ),
        )

    def rename(self, new_name: str, wait: bool = True) -> Network:
        """Rename the network and return it under its new name.

        Implements ``POST /1.0/networks/<name>``.

        Tried again like :meth:`create` when Incus meets a host interface
        going away. Such a failed rename may have renamed the network without
        starting its bridge again (Incus then shows it ``Unavailable``); it is
        then renamed back, which starts the bridge, before the next try. If
        the last try fails, ``name`` says where the network is.

        :param wait: wait for LXD's operation when it answers with one
            (always, on servers with ``storage_and_network_operations``).
        :raises Conflict: when ``new_name`` is taken.
        :raises LXDAPIException: when the network is in use.
        """
        wait = model.forced_wait(self.client, wait)
        old_name = self.name

        def attempt() -> Network:
            target = new_name if self.name == old_name else old_name
            try:
                renamed: Network = self._rename_and_get(target, wait=wait)
            except exceptions.LXDAPIException as err:
                if INTERFACE_RACE._transient(err) and self.exists(self.client, target):
                    logger.debug(
                        "%s: renamed to %r, its bridge not started",
                        self._subject(),
                        target,
                    )
                    object.__setattr__(self, self._key, target)
                raise
            return renamed if target == new_name else attempt()

        return _past_interface_races(f"renaming {self._subject()}", attempt)

    def _sending(self, send: Callable[[], requests.Response]) -> requests.Response:
        """Every change (``save``, ``put``, ``patch``, ``raw_put``,
        ``raw_patch`` and ``delete``), tried again like :meth:`create` when
        Incus meets a host interface going away (Incus undoes a failed
        change, so its ETag still holds)."""
        return _past_interface_races(f"changing {self._subject()}", send)

    def state(self) -> NetworkState:
        """Return the network's state.

        Implements ``GET /1.0/networks/<name>/state``.
        """
        with naming(self._subject()):
            response = self.api.state.get()
        return NetworkState(exceptions.metadata_of(response))

    def leases(self) -> list[model.AttributeDict]:
        """Return the DHCP leases of a managed network.

        Implements ``GET /1.0/networks/<name>/leases`` (extension
        ``network_leases``). Each lease has ``hostname``, ``hwaddr``,
        ``address``, ``type`` and ``location``.
        """
        self.client.assert_has_api_extension("network_leases")
        with naming(self._subject()):
            response = self.api.leases.get()
        return [
            model.AttributeDict(item)
            for item in exceptions.metadata_of(response, (list, type(None)), items=dict)
            or ()
        ]

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


class _ListenAddress(ChildMixin, BlockingMixin, model.Model):
    """What a forward and a load balancer are: an address of a network that
    listens on ``ports`` (named by ``listen_address``)."""

    _key = "listen_address"

    network: model.Parent[Network] = model.Parent()
    listen_address = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()
    ports = model.Attribute[list[dict[str, Any]]]()
    location = model.Attribute[str](readonly=True, optional=True)


class NetworkForward(_ListenAddress):
    """A network address forward, ``/1.0/networks/<net>/forwards/<address>``.

    Reached through ``network.forwards``. Changes need the API extension
    ``network_forward`` (reads are sent as they are, as in pylxd).
    """

    _endpoint = "forwards"
    _error_kind = "Network forward"
    _write_extension = "network_forward"

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
        return cls._create_named(client, network, body)

    def __repr__(self) -> str:
        return _json_repr(self, ("config", "description", "listen_address"))

    def __str__(self) -> str:
        return json.dumps(self.marshall(skip_readonly=False), indent=2)


class NetworkPeer(ChildMixin, BlockingMixin, Described):
    """A network peering, ``/1.0/networks/<net>/peers/<name>`` (OVN networks).

    Reached through ``network.peers`` (API extension ``network_peer``).
    """

    _endpoint = "peers"
    _error_kind = "Network peer"
    _api_extension = "network_peer"

    network: model.Parent[Network] = model.Parent()
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
        check_name("Network peer target network", target_network)
        body = drop_none(
            name=name,
            target_network=target_network,
            target_project=target_project,
            description=description,
            config=config,
        )
        return cls._create_named(client, network, body)


class NetworkLoadBalancer(_ListenAddress):
    """A network load balancer, ``/1.0/networks/<net>/load-balancers/<address>``.

    Reached through ``network.load_balancers`` (Incus, API extension
    ``network_load_balancer``; OVN networks only). ``backends`` are dicts
    with ``name``, ``target_address`` and ``target_port``; ``ports`` map a
    ``listen_port`` and ``protocol`` to ``target_backend`` names.
    """

    _endpoint = "load-balancers"
    _error_kind = "Network load balancer"
    _api_extension = "network_load_balancer"

    backends = model.Attribute[list[dict[str, str]]]()

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
        body = drop_none(
            listen_address=listen_address,
            description=description,
            config=config,
            backends=backends,
            ports=ports,
        )
        return cls._create_named(client, network, body)

    def state(self) -> model.AttributeDict:
        """Return the health of the backends: ``{"backend_health": {address: ...}}``.

        Implements ``GET /1.0/networks/<net>/load-balancers/<address>/state``
        (API extension ``network_load_balancer_state``).
        """
        self.client.assert_has_api_extension("network_load_balancer_state")
        with naming(self._subject()):
            response = self.api.state.get()
        return model.AttributeDict(exceptions.metadata_of(response))

"""LXD clusters: ``/1.0/cluster``, its members, groups, certificate and join tokens.

The client may talk to any member: every member answers for the whole
cluster (LXD forwards requests and operations to the member concerned). Over
HTTPS a clustered server presents the *cluster* certificate
(``cluster.crt``), so that is the certificate to pin with ``verify=``::

    cluster = client.cluster.get()
    c2 = cluster.members.get("c2")
    c2.evacuate(wait=True)                      # instances move to other members
    c2.restore(wait=True)
    token = cluster.members.create_token("c3")  # str(token) is what lxc prints
    new_server.cluster.get().join(token, "10.0.0.3:8443")
    client.instances.create(config, wait=True, target="c2")
    c2.move_instance("web", wait=True)          # a stopped container
    on_c2 = c2.targeted_client()                # every request gets ?target=c2
    on_c2.storage_pools.get("default").config   # c2's own pool config
"""

from __future__ import annotations

import copy
import types
from typing import TYPE_CHECKING, Any, Callable, cast

from pylxd import exceptions, managers
from pylxd._transport import _APINode
from pylxd.exceptions import LXDAPIException  # noqa: F401  (pylxd 2.4.2's name)
from pylxd.models import _model as model
from pylxd.models._mixins import (
    CollectionMixin,
    RenameMixin,
    check_name,
    drop_none,
    quote,
)
from pylxd.models.cluster_join_token import (  # noqa: F401  (this module's names)
    TOKEN_OPERATION_CLASS,
    ClusterJoinToken,
    _is_join_token,
)

if TYPE_CHECKING:  # pragma: no cover
    import requests

    from pylxd.client import Client
    from pylxd.models.operation import Operation

#: Evacuation modes LXD 5.0 knows (``cluster.evacuate`` on instances).
EVACUATION_MODES = ("auto", "stop", "migrate", "live-migrate")


def _check_member_name(name: Any) -> str:
    """Refuse member names LXD would accept but cannot use (LXD 5.0 renames to "")."""
    check_name("Cluster member", name)
    if not name.strip():
        raise exceptions.InvalidArgument(
            f"Cluster member name {name!r} is not allowed: it is blank"
        )
    return str(name)


class _ClassOrInstanceMethod:
    """A method callable on the class (pylxd's classmethod form) and on objects.

    ``Cluster.enable(client, "n1")`` and ``client.cluster.enable("n1")`` call
    ``on_class``; ``client.cluster.get().enable("n1")`` calls the method.
    """

    def __init__(self, on_class: Callable[..., Any]) -> None:
        self.on_class = on_class
        self.on_instance: Callable[..., Any] | None = None
        self.__doc__ = on_class.__doc__

    def instance_method(self, method: Callable[..., Any]) -> _ClassOrInstanceMethod:
        self.on_instance = method
        return self

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None or self.on_instance is None:
            return types.MethodType(self.on_class, owner)
        return types.MethodType(self.on_instance, obj)


def _operation_from(client: Client, response: requests.Response) -> Operation:
    """The operation of an async answer, built without another request."""
    from pylxd.models.operation import Operation

    return Operation._from_metadata(client, exceptions.metadata_of(response))


class Cluster(model.Model):
    """The cluster of the server the client talks to, ``/1.0/cluster``.

    There is one per server: ``client.cluster.get()``. On a standalone server
    ``enabled`` is False and ``server_name`` empty; :meth:`enable` bootstraps
    a cluster and :meth:`join` joins an existing one. ``save()`` sends
    ``PUT /1.0/cluster`` as LXD defines it (``enabled=False`` leaves the
    cluster).
    """

    _key = "server_name"

    server_name = model.Attribute[str]()
    enabled = model.Attribute[bool]()
    member_config = model.Attribute[list[dict[str, str]]]()

    members = model.Manager(lambda c: managers.ClusterMemberManager(c.client))
    groups = model.Manager(lambda c: managers.ClusterGroupManager(c.client))
    certificate = model.Manager(lambda c: managers.ClusterCertificateManager(c.client))

    @property
    def api(self) -> _APINode:
        return self.client.api.cluster

    @classmethod
    def get(cls, client: Client, *args: Any) -> Cluster:
        """Return the cluster configuration of the server.

        Implements ``GET /1.0/cluster``.
        """
        client.assert_has_api_extension("clustering")
        response = client.api.cluster.get()
        return cls._from_server(client, exceptions.metadata_of(response))

    def _enable_on_class(  # type: ignore[misc]
        cls: type[Cluster], client: Client, server_name: str
    ) -> None:
        """Turn the client's standalone server into the first member of a cluster.

        pylxd's form: ``Cluster.enable(client, "n1")`` or
        ``client.cluster.enable("n1")``. Implements ``PUT /1.0/cluster`` and
        waits for the bootstrap; returns None. On an object,
        ``cluster.enable(server_name=None, wait=True, timeout=None)`` does the
        same and returns the object, reloaded.

        :raises LXDAPIExtensionNotAvailable: without ``clustering_join``.
        :raises LXDAPIException: when LXD refuses (e.g. clustered already).
        """
        client.assert_has_api_extension("clustering_join")
        cls(client, server_name=server_name).enable(server_name)

    enable = _ClassOrInstanceMethod(_enable_on_class)
    del _enable_on_class

    @enable.instance_method  # type: ignore[no-redef]
    def enable(
        self,
        server_name: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Cluster:
        """Turn this standalone server into the first member of a new cluster.

        Implements ``PUT /1.0/cluster`` with ``{"server_name", "enabled": true}``.
        The server needs an HTTPS address first (``core.https_address`` or
        ``cluster.https_address``); LXD refuses a wildcard one.

        :param server_name: the member name (default: ``self.server_name``).
        :param timeout: seconds to wait for the bootstrap at most.
        :returns: this object, reloaded once the bootstrap is done (``wait``).
        :raises ValueError: without a usable server name.
        :raises LXDAPIException: e.g. when the server is clustered already.
        """
        name = _check_member_name(server_name or self._raw_attr("server_name"))
        response = self.api.put(json={"server_name": name, "enabled": True})
        self._finish(response, wait, timeout)
        return self

    def join(
        self,
        token: str | ClusterJoinToken,
        server_address: str,
        cluster_certificate: str | None = None,
        member_config: list[dict[str, Any]] | None = None,
        cluster_address: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Cluster:
        """Join this standalone server to a cluster with a join token.

        Implements ``PUT /1.0/cluster`` as ``lxd init`` and ``incus admin
        init`` do: the raw token goes as ``cluster_password`` (what LXD 5.0
        reads) and as ``cluster_token`` (what Incus and LXD 5.21+ read).
        Without ``cluster_certificate``, the certificate is read from
        ``cluster_address`` (default: the token's first address) and must
        match the token's fingerprint.

        :param token: the token (string or :class:`ClusterJoinToken`).
        :param server_address: ``host:port`` this server will listen on.
        :param member_config: member-specific keys, as listed by the cluster's
            ``member_config`` with ``value`` filled in.
        :raises ValueError: for a malformed token or a certificate that does
            not match the token's fingerprint.
        :raises LXDAPIException: when LXD refuses the join.
        """
        joined = ClusterJoinToken.decode(token) if isinstance(token, str) else token
        address = cluster_address or next(iter(joined.addresses), None)
        if not address:
            raise exceptions.InvalidArgument(
                f"The join token for {joined.server_name!r} lists no member address: "
                "pass cluster_address"
            )
        if cluster_certificate is None:
            cluster_certificate = joined.fetch_certificate(address)
        raw_token = token if isinstance(token, str) else token.encode()
        body = {
            "server_name": joined.server_name,
            "enabled": True,
            "server_address": server_address,
            "cluster_address": address,
            "cluster_certificate": cluster_certificate,
            "cluster_password": raw_token,
            "cluster_token": raw_token,
            "member_config": member_config or [],
        }
        response = self.api.put(json=body)
        self._finish(response, wait, timeout)
        return self

    def _finish(
        self, response: requests.Response, wait: bool, timeout: float | None
    ) -> None:
        if wait:
            model.wait_for(self.client, response, wait, timeout)
            self.sync(rollback=True)


class ClusterMember(CollectionMixin, model.Model):
    """A member of the cluster, ``/1.0/cluster/members/<server_name>``.

    ``save()`` replaces the writable fields (``PUT``): description, config,
    failure_domain, groups (at least one) and roles (LXD refuses changes to
    the ``database`` roles). Membership of cluster groups is the ``groups``
    list. LXD 5.0 answers ``GET .../state`` with "not implemented": read
    ``status`` and ``message`` instead.
    """

    _endpoint = "cluster/members"
    _key = "server_name"
    _api_extension = "clustering"
    _error_kind = "Cluster member"

    #: pylxd's parent attribute (the :class:`Cluster`, when known).
    cluster: model.Parent[Cluster] = model.Parent()
    server_name = model.Attribute[str](readonly=True)
    url = model.Attribute[str](readonly=True)
    database = model.Attribute[bool](readonly=True)
    status = model.Attribute[str](readonly=True)
    message = model.Attribute[str](readonly=True)
    architecture = model.Attribute[str](readonly=True)
    roles = model.Attribute[list[str]]()
    failure_domain = model.Attribute[str]()
    description = model.Attribute[str]()
    groups = model.Attribute[list[str]]()
    config = model.Attribute[dict[str, str]]()

    @classmethod
    def get(cls, client: Client, server_name: str) -> ClusterMember:
        """Return the member named ``server_name``.

        Implements ``GET /1.0/cluster/members/<server_name>``.

        :raises NotFound: when the cluster has no such member.
        """
        return super().get(client, server_name)

    @classmethod
    def all(cls, client: Client, *args: Any) -> list[ClusterMember]:
        """Return every member, fully loaded in one request.

        Implements ``GET /1.0/cluster/members?recursion=1``.
        """
        return super().all(client)

    @classmethod
    def create_token(cls, client: Client, server_name: str) -> ClusterJoinToken:
        """Ask for a token that lets a new server named ``server_name`` join.

        Implements ``POST /1.0/cluster/members``. The token is a pending
        operation on the member that answered: single use, and lost when that
        member restarts.

        :raises ValueError: for an empty name.
        """
        _check_member_name(server_name)
        client.assert_has_api_extension("clustering_join_token")
        response = cls._post_collection(client, {"server_name": server_name})
        return ClusterJoinToken._from_operation(
            client, exceptions.metadata_of(response)
        )

    @classmethod
    def tokens(cls, client: Client) -> list[ClusterJoinToken]:
        """Return the join tokens not used, revoked or expired yet.

        Implements ``GET /1.0/operations?recursion=1`` (tokens are running
        operations of class ``token`` on the ``cluster`` resource).
        """
        client.assert_has_api_extension("clustering_join_token")
        by_status = client.api.operations.get(params={"recursion": 1}).json()
        return [
            ClusterJoinToken._from_operation(client, op)
            for op in (by_status["metadata"] or {}).get("running") or ()
            if _is_join_token(op)
        ]

    def rename(self, new_name: str) -> ClusterMember:
        """Rename the member and return it as stored.

        Implements ``POST /1.0/cluster/members/<name>`` with ``{"server_name"}``.

        :raises ValueError: for an empty name (LXD 5.0 would accept it).
        :raises Conflict: when another member has that name.
        """
        _check_member_name(new_name)
        self.api.post(json={"server_name": new_name})
        object.__setattr__(self, "server_name", new_name)
        return self.get(self.client, new_name)

    def delete(self, wait: bool = False, force: bool = False) -> None:
        """Remove the member from the cluster.

        Implements ``DELETE /1.0/cluster/members/<name>`` (``?force=1`` with
        ``force``: remove it even if it cannot be reached or still holds
        instances; its data is left behind). As in pylxd, the first
        positional argument is ``wait``: ``member.delete(True)`` waits, it
        does not force.
        """
        response = self.api.delete(params={"force": 1}) if force else self.api.delete()
        model.wait_for(self.client, response, wait)
        object.__setattr__(self, "client", None)

    def state(self) -> model.AttributeDict:
        """Return the member's ``sysinfo`` (load, memory, uptime) and ``storage_pools`` use.

        Implements ``GET /1.0/cluster/members/<name>/state`` (Incus, API
        extension ``cluster_member_state``; LXD 5.0 answers "not implemented").

        :raises LXDAPIExtensionNotAvailable: without ``cluster_member_state``.
        """
        self.client.assert_has_api_extension("cluster_member_state")
        return model.AttributeDict(exceptions.metadata_of(self.api.state.get()))

    def evacuate(
        self, mode: str | None = None, wait: bool = False, timeout: float | None = None
    ) -> Operation:
        """Move or stop the member's instances and mark it ``Evacuated``.

        Implements ``POST /1.0/cluster/members/<name>/state``
        ``{"action": "evacuate"}``.

        :param mode: override the instances' ``cluster.evacuate`` mode
            (``auto``, ``stop``, ``migrate``, ``live-migrate``).
        :returns: the operation (finished when ``wait``; the member is then
            reloaded).
        :raises ValueError: for an unknown mode.
        """
        if mode is not None and mode not in EVACUATION_MODES:
            raise exceptions.InvalidArgument(
                f"ClusterMember.evacuate() mode must be one of {EVACUATION_MODES}, got {mode!r}"
            )
        return self._state("evacuate", mode, wait, timeout)

    def restore(self, wait: bool = False, timeout: float | None = None) -> Operation:
        """Bring an evacuated member back and restart its instances.

        Implements ``POST /1.0/cluster/members/<name>/state``
        ``{"action": "restore"}``.

        :returns: the operation (finished when ``wait``).
        """
        return self._state("restore", None, wait, timeout)

    def move_instance(
        self,
        instance: str | Any,
        live: bool = False,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Operation:
        """Move an instance of the cluster onto this member.

        Implements ``POST /1.0/instances/<name>?target=<member>`` with
        ``{"name": <name>, "migration": true}``. A container must be stopped
        (moving a running one needs ``live`` and CRIU).

        :param instance: the instance or its name (in the client's project).
        :returns: the operation (finished when ``wait``; a given instance
            object is then reloaded, its ``location`` is this member).
        """
        name = instance if isinstance(instance, str) else instance.name
        body: dict[str, Any] = {"name": name, "migration": True}
        if live:
            body["live"] = True
        node = self.client.api.instances[quote(name, "Instance")]
        response = node.post(json=body, target=str(self.server_name))
        done = model.wait_for(self.client, response, wait, timeout)
        if done is None:
            return _operation_from(self.client, response)
        if not isinstance(instance, str):
            instance.sync(rollback=True)
        return done

    def targeted_client(self) -> Client:
        """Return a client whose every request carries ``?target=<member>``.

        With it the other families act on this member: storage pools and
        networks read and write its member-specific config (and are created
        pending on it), volumes and instances are created on it,
        ``GET /1.0`` describes it. The copy shares the session; no request
        is sent.
        """
        clone = copy.copy(self.client)
        clone.api = _TargetedNode.targeting(self.client.api, str(self.server_name))
        managers.wire_client(clone)
        return clone

    def _state(
        self, action: str, mode: str | None, wait: bool, timeout: float | None
    ) -> Operation:
        self.client.assert_has_api_extension("clustering_evacuation")
        body = drop_none(action=action, mode=mode)
        response = self.api.state.post(json=body)
        done = model.wait_for(self.client, response, wait, timeout)
        if done is None:
            return _operation_from(self.client, response)
        self.sync()
        return done


class _TargetedNode(_APINode):
    """An ``_APINode`` whose requests all carry ``?target=<member>``."""

    _target: str

    @classmethod
    def targeting(cls, node: _APINode, target: str) -> _TargetedNode:
        """``node`` (its session, project, timeout), every request targeted."""
        targeted = cast(_TargetedNode, node.sibling())
        targeted.__class__ = cls  # same fields, one more: the target
        targeted._target = target
        return targeted

    def __getitem__(self, item: Any) -> _TargetedNode:
        return self.sibling(f"{self._api_endpoint}/{item}")

    def __repr__(self) -> str:
        return f"<_APINode {self._api_endpoint} target={self._target}>"

    def _send(
        self, verb: str, args: tuple[Any, ...], kwargs: dict[str, Any], **options: Any
    ) -> requests.Response:
        options["target"] = options.get("target") or self._target
        return super()._send(verb, args, kwargs, **options)


class ClusterGroup(CollectionMixin, RenameMixin, model.Model):
    """A cluster group, ``/1.0/cluster/groups/<name>`` (extension ``clustering_groups``).

    ``save()`` replaces ``description`` and ``members`` (``PUT``). Every
    member belongs to ``default``, which cannot be renamed or deleted; a group
    must be empty to be deleted.
    """

    _endpoint = "cluster/groups"
    _api_extension = "clustering_groups"
    _error_kind = "Cluster group"

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    members = model.Attribute[list[str]]()

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        description: str | None = None,
        members: list[str] | None = None,
    ) -> ClusterGroup:
        """Create a cluster group and return it as stored.

        Implements ``POST /1.0/cluster/groups``.

        :raises ValueError: for an empty name.
        :raises LXDAPIException: when the group exists or a member is unknown.
        """
        fields = {"description": description, "members": members}
        return cls._create_named(client, name, fields)

    def rename(self, new_name: str) -> ClusterGroup:
        """Rename the group (``POST /1.0/cluster/groups/<name>``) and return it."""
        self._rename(new_name)
        return self.get(self.client, new_name)


class ClusterCertificate(model.Model):
    """The certificate all members present, ``/1.0/cluster/certificate``.

    LXD has no ``GET`` here: read ``cluster.crt`` in a member's ``LXD_DIR``
    or the certificate a member presents over HTTPS.
    """

    _key = "cluster_certificate"

    cluster_certificate = model.Attribute[str]()
    cluster_certificate_key = model.Attribute[str]()
    #: pylxd's parent attribute (the :class:`Cluster`, when known).
    cluster: model.Parent[Cluster] = model.Parent()

    @property
    def api(self) -> _APINode:
        return self.client.api.cluster.certificate

    @classmethod
    def put(cls, client: Client, cert: str | bytes, key: str | bytes) -> None:  # type: ignore[override]
        """Replace the cluster certificate and key on every member.

        Implements ``PUT /1.0/cluster/certificate`` (extension
        ``clustering_update_cert``). Clients that pin the old certificate
        must pin the new one afterwards.

        :param cert: the X509 certificate, PEM.
        :param key: its private key, PEM.
        :raises ValueError: when either is not PEM.
        """
        client.assert_has_api_extension("clustering_update_cert")
        body = {
            "cluster_certificate": _pem("cluster certificate", cert),
            "cluster_certificate_key": _pem("cluster certificate key", key),
        }
        client.api.cluster.certificate.put(json=body)


def _pem(what: str, value: str | bytes) -> str:
    text = value.decode("ascii") if isinstance(value, bytes) else value
    if not isinstance(text, str) or "-----BEGIN" not in text:
        raise exceptions.InvalidArgument(
            f"The {what} must be PEM text, got {str(value)[:40]!r}"
        )
    return text

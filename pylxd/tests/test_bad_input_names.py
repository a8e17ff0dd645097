"""The bad-input matrix for names: every name that ends up in a URL path.

A name that is empty, ``.``, ``..``, holds ``/`` or is not a string cannot be
one path segment: ``..`` as a snapshot name made LXD 5.0.2 write over the
pool's ``containers-snapshots/`` directory. Each verb of each resource family
(get, exists, create, rename, delete, ...) must refuse such a name with
:class:`~pylxd.exceptions.InvalidArgument` (or ``InvalidArgumentType``)
naming the kind and the name, and send NO request at all (checked on the
fake's record). Image aliases may hold ``/`` (``ubuntu/22.04``), percent-encoded
into one segment. The same refusals run on the real daemon in
``integration/test_bad_input_names.py``.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib import parse

import pytest

from pylxd import exceptions
from pylxd.models import (
    Image,
    Instance,
    Network,
    NetworkACL,
    Profile,
    Project,
    StoragePool,
    StorageVolume,
)
from pylxd.models.image import ImageAlias
from pylxd.models.instance import Snapshot
from pylxd.models.network_zone import NetworkZone
from pylxd.models.storage_bucket import StorageBucket
from pylxd.models.storage_pool import StorageVolumeSnapshot
from pylxd.tests.test_bad_input import Ctx, ctx  # noqa: F401  (the fixture)

#: Names that are never one URL path segment.
BAD_NAMES: list[Any] = [".", "..", "", "a/b", 7]
#: The same without ``/``: image aliases and operation URLs may hold it.
NO_SLASH_CASES: list[Any] = [".", "..", "", 7]

Call = Callable[[Ctx, Any], Any]


def _pool(c: Ctx) -> StoragePool:
    return StoragePool(c.client, name="default")


def _volume(c: Ctx) -> StorageVolume:
    return StorageVolume(c.client, storage_pool=_pool(c), type="custom", name="v1")


def _bucket(c: Ctx) -> StorageBucket:
    return StorageBucket(c.client, storage_pool=_pool(c), name="b1")


def _network(c: Ctx) -> Network:
    return Network(c.client, name="br0")


def _zone(c: Ctx) -> Any:
    return NetworkZone(c.client, name="example.org")


def _image(c: Ctx) -> Image:
    return Image(c.client, fingerprint="abcdef")


#: (family, verb, kind named in the message, call(ctx, name)).
VERBS: list[tuple[str, str, str, Call]] = [
    # instances
    ("instance", "get", "Instance", lambda c, n: c.client.instances.get(n)),
    ("instance", "exists", "Instance", lambda c, n: c.client.instances.exists(n)),
    (
        "instance",
        "create",
        "Instance",
        lambda c, n: c.client.instances.create({"name": n, "source": {"type": "none"}}),
    ),
    ("instance", "rename", "Instance", lambda c, n: c.box.rename(n)),
    (
        "instance",
        "delete",
        "Instance",
        lambda c, n: Instance(c.client, name=n).delete(),
    ),
    ("instance", "copy", "Instance", lambda c, n: c.box.copy(c.client, n)),
    # snapshots
    ("snapshot", "create", "Snapshot", lambda c, n: c.box.snapshots.create(n)),
    ("snapshot", "get", "Snapshot", lambda c, n: c.box.snapshots.get(n)),
    ("snapshot", "exists", "Snapshot", lambda c, n: c.box.snapshots.exists(n)),
    (
        "snapshot",
        "rename",
        "Snapshot",
        lambda c, n: Snapshot(c.client, instance=c.box, name="s1").rename(n),
    ),
    (
        "snapshot",
        "delete",
        "Snapshot",
        lambda c, n: Snapshot(c.client, instance=c.box, name=n).delete(),
    ),
    ("snapshot", "restore", "Snapshot", lambda c, n: c.box.restore_snapshot(n)),
    # instance backups
    ("backup", "create", "Instance backup", lambda c, n: c.box.backups.create(n)),
    ("backup", "get", "Instance backup", lambda c, n: c.box.backups.get(n)),
    ("backup", "exists", "Instance backup", lambda c, n: c.box.backups.exists(n)),
    # instance log files
    ("log", "get", "Instance log file", lambda c, n: c.box.logs.get(n)),
    ("log", "delete", "Instance log file", lambda c, n: c.box.logs.delete(n)),
    # storage pools, volumes, volume snapshots and backups
    ("pool", "get", "Storage pool", lambda c, n: c.client.storage_pools.get(n)),
    ("pool", "exists", "Storage pool", lambda c, n: c.client.storage_pools.exists(n)),
    (
        "pool",
        "create",
        "Storage pool",
        lambda c, n: c.client.storage_pools.create({"name": n, "driver": "dir"}),
    ),
    (
        "pool",
        "delete",
        "Storage pool",
        lambda c, n: StoragePool(c.client, name=n).delete(),
    ),
    ("volume", "get", "Storage volume", lambda c, n: _pool(c).volumes.get("custom", n)),
    (
        "volume",
        "exists",
        "Storage volume",
        lambda c, n: _pool(c).volumes.exists("custom", n),
    ),
    (
        "volume",
        "create",
        "Storage volume",
        lambda c, n: _pool(c).volumes.create("custom", n),
    ),
    (
        "volume",
        "rename",
        "Storage volume",
        lambda c, n: _volume(c).rename({"name": n}),
    ),
    ("volume", "copy", "Storage volume", lambda c, n: _volume(c).copy(n)),
    (
        "volume",
        "delete",
        "Storage volume",
        lambda c, n: StorageVolume(
            c.client, storage_pool=_pool(c), type="custom", name=n
        ).delete(),
    ),
    (
        "volume",
        "restore",
        "Storage volume snapshot",
        lambda c, n: _volume(c).restore_from(n),
    ),
    (
        "volume snapshot",
        "create",
        "Storage volume snapshot",
        lambda c, n: _volume(c).snapshots.create(n),
    ),
    (
        "volume snapshot",
        "get",
        "Storage volume snapshot",
        lambda c, n: _volume(c).snapshots.get(n),
    ),
    (
        "volume snapshot",
        "rename",
        "Storage volume snapshot",
        lambda c, n: StorageVolumeSnapshot(
            c.client, volume=_volume(c), name="s1"
        ).rename(n),
    ),
    (
        "volume backup",
        "create",
        "Storage volume backup",
        lambda c, n: _volume(c).backups.create(n),
    ),
    (
        "volume backup",
        "get",
        "Storage volume backup",
        lambda c, n: _volume(c).backups.get(n),
    ),
    # profiles
    ("profile", "get", "Profile", lambda c, n: c.client.profiles.get(n)),
    ("profile", "exists", "Profile", lambda c, n: c.client.profiles.exists(n)),
    ("profile", "create", "Profile", lambda c, n: c.client.profiles.create(n)),
    (
        "profile",
        "rename",
        "Profile",
        lambda c, n: Profile(c.client, name="default").rename(n),
    ),
    ("profile", "delete", "Profile", lambda c, n: Profile(c.client, name=n).delete()),
    # networks and their children
    ("network", "get", "Network", lambda c, n: c.client.networks.get(n)),
    ("network", "exists", "Network", lambda c, n: c.client.networks.exists(n)),
    ("network", "create", "Network", lambda c, n: c.client.networks.create(n)),
    ("network", "rename", "Network", lambda c, n: _network(c).rename(n)),
    ("network", "delete", "Network", lambda c, n: Network(c.client, name=n).delete()),
    ("network ACL", "get", "Network ACL", lambda c, n: c.client.network_acls.get(n)),
    (
        "network ACL",
        "create",
        "Network ACL",
        lambda c, n: c.client.network_acls.create(n),
    ),
    (
        "network ACL",
        "rename",
        "Network ACL",
        lambda c, n: NetworkACL(c.client, name="acl1").rename(n),
    ),
    (
        "network forward",
        "get",
        "Network forward",
        lambda c, n: _network(c).forwards.get(n),
    ),
    (
        "network forward",
        "create",
        "Network forward",
        lambda c, n: _network(c).forwards.create(n),
    ),
    ("network peer", "get", "Network peer", lambda c, n: _network(c).peers.get(n)),
    (
        "network peer",
        "create",
        "Network peer",
        lambda c, n: _network(c).peers.create(n, "other"),
    ),
    (
        "network load balancer",
        "create",
        "Network load balancer",
        lambda c, n: _network(c).load_balancers.create(n),
    ),
    ("network zone", "get", "Network zone", lambda c, n: c.client.network_zones.get(n)),
    (
        "network zone",
        "create",
        "Network zone",
        lambda c, n: c.client.network_zones.create(n),
    ),
    ("zone record", "get", "Record", lambda c, n: _zone(c).records.get(n)),
    (
        "zone record",
        "create",
        "Record",
        lambda c, n: _zone(c).records.create(n),
    ),
    # storage buckets (Incus) and their keys
    (
        "storage bucket",
        "create",
        "Storage bucket",
        lambda c, n: _pool(c).buckets.create(n),
    ),
    (
        "storage bucket key",
        "create",
        "Storage bucket key",
        lambda c, n: _bucket(c).keys.create(n),
    ),
    # images (fingerprints)
    ("image", "get", "Image", lambda c, n: c.client.images.get(n)),
    ("image", "exists", "Image", lambda c, n: c.client.images.exists(n)),
    ("image", "delete", "Image", lambda c, n: Image(c.client, fingerprint=n).delete()),
    # projects
    ("project", "get", "Project", lambda c, n: c.client.projects.get(n)),
    ("project", "exists", "Project", lambda c, n: c.client.projects.exists(n)),
    ("project", "create", "Project", lambda c, n: c.client.projects.create(n)),
    (
        "project",
        "rename",
        "Project",
        lambda c, n: Project(c.client, name="p1").rename(n),
    ),
    ("project", "delete", "Project", lambda c, n: Project(c.client, name=n).delete()),
    # certificates, cluster, warnings
    ("certificate", "get", "Certificate", lambda c, n: c.client.certificates.get(n)),
    (
        "certificate",
        "exists",
        "Certificate",
        lambda c, n: c.client.certificates.exists(n),
    ),
    (
        "cluster member",
        "get",
        "Cluster member",
        lambda c, n: c.client.cluster.members.get(n),
    ),
    (
        "cluster group",
        "get",
        "Cluster group",
        lambda c, n: c.client.cluster.groups.get(n),
    ),
    (
        "cluster group",
        "create",
        "Cluster group",
        lambda c, n: c.client.cluster.groups.create(n),
    ),
    ("warning", "get", "Warning", lambda c, n: c.client.warnings.get(n)),
]

#: Verbs whose names may hold ``/`` (checked for the rest of the cases).
SLASH_VERBS: list[tuple[str, str, str, Call]] = [
    (
        "image alias",
        "get",
        "Image alias",
        lambda c, n: c.client.images.aliases.get(n),
    ),
    (
        "image alias",
        "exists",
        "Image alias",
        lambda c, n: c.client.images.exists(n, alias=True),
    ),
    (
        "image alias",
        "get_by_alias",
        "Image alias",
        lambda c, n: c.client.images.get_by_alias(n),
    ),
    (
        "image alias",
        "create",
        "Image alias",
        lambda c, n: c.client.images.aliases.create(n, "abcdef"),
    ),
    (
        "image alias",
        "rename",
        "Image alias",
        lambda c, n: ImageAlias(c.client, name="a1").rename(n),
    ),
    (
        "image alias",
        "delete",
        "Image alias",
        lambda c, n: ImageAlias(c.client, name=n).delete(),
    ),
    (
        "image alias",
        "add_alias",
        "Image alias",
        lambda c, n: _image(c).add_alias(n, ""),
    ),
    (
        "image alias",
        "delete_alias",
        "Image alias",
        lambda c, n: _image(c).delete_alias(n),
    ),
    (
        "image alias",
        "publish",
        "Image alias",
        lambda c, n: c.box.publish(aliases=[n]),
    ),
    (
        "image alias",
        "publish as dict",
        "Image alias",
        lambda c, n: c.box.publish(aliases=[{"name": n, "description": ""}]),
    ),
    # An operation id comes from its URL, whose last segment is taken.
    ("operation", "get", "Operation", lambda c, n: c.client.operations.get(n)),
    (
        "operation",
        "wait",
        "Operation",
        lambda c, n: c.client.operations.wait_for_operation(n),
    ),
]


def _cases() -> list[Any]:
    cases = [
        pytest.param(verb, name, id=f"{verb[0]}.{verb[1]}({name!r})")
        for verb in VERBS
        for name in BAD_NAMES
    ]
    # ``Snapshot(name="c1/s1")`` is how older LXD names snapshot s1: kept.
    cases.remove(
        next(c for c in cases if c.id == "snapshot.delete('a/b')")  # type: ignore[union-attr]
    )
    cases += [
        pytest.param(verb, name, id=f"{verb[0]}.{verb[1]}({name!r})")
        for verb in SLASH_VERBS
        for name in NO_SLASH_CASES
    ]
    return cases


def test_every_family_and_verb_is_in_the_matrix() -> None:
    families = {family for family, *_ in VERBS + SLASH_VERBS}
    assert len(families) >= 20
    verbs = {(family, verb) for family, verb, *_ in VERBS + SLASH_VERBS}
    assert len(verbs) == len(VERBS + SLASH_VERBS)
    for family in ("instance", "snapshot", "profile", "network", "project"):
        assert {"get", "create", "rename"} <= {v for f, v in verbs if f == family}


@pytest.mark.parametrize("verb, name", _cases())
def test_bad_name_is_refused_before_any_request(
    ctx: Ctx, verb: tuple[str, str, str, Call], name: Any  # noqa: F811
) -> None:
    _family, _verb, kind, call = verb
    expected = (
        exceptions.InvalidArgumentType
        if not isinstance(name, str)
        else exceptions.InvalidArgument
    )
    ctx.fake.requests.clear()
    with pytest.raises(expected) as info:
        call(ctx, name)
    assert ctx.fake.requests == []
    message = str(info.value)
    assert f"{kind} name" in message
    assert repr(name) in message
    # Code written for pylxd 2.4.2 caught LXD's refusal of such names.
    assert isinstance(info.value, exceptions.LXDAPIException)


def test_refusals_are_value_and_type_errors(ctx: Ctx) -> None:  # noqa: F811
    with pytest.raises(ValueError, match=r"Snapshot name '\.\.' is not allowed"):
        ctx.box.snapshots.create("..")
    with pytest.raises(TypeError, match="Snapshot name must be a string, not int"):
        ctx.box.snapshots.create(7)


def test_names_that_only_look_odd_are_sent(ctx: Ctx) -> None:  # noqa: F811
    ctx.box.snapshots.create("...", wait=True)
    ctx.box.snapshots.create(".hidden", wait=True)
    assert {s.name for s in ctx.box.snapshots.all()} == {"...", ".hidden"}
    assert ctx.box.snapshots.get("...").name == "..."


def test_image_alias_with_a_slash_is_one_encoded_segment(
    ctx: Ctx,  # noqa: F811
) -> None:
    ctx.fake.requests.clear()
    assert ctx.client.images.exists("ubuntu/22.04", alias=True) is False
    assert [(r.method, r.path) for r in ctx.fake.requests] == [
        ("GET", "/1.0/images/aliases/ubuntu%2F22.04")
    ]


@pytest.mark.parametrize(
    "name",
    [
        "nowhere",
        "web-1",
        "a.b_c~d",
        "...",
        ".hidden",
        "~",
        "a b",
        "é",
        "%41",
        "x?y#z",
        "a+b",
    ],
)
def test_a_name_is_sent_as_one_segment_quoted_like_parse_quote(
    ctx: Ctx, name: str  # noqa: F811
) -> None:
    # Plain names (letters, digits, _.~-) skip the quoting: the same bytes go out.
    ctx.fake.requests.clear()
    assert ctx.client.profiles.exists(name) is False  # none of these exists
    assert [(r.method, r.path) for r in ctx.fake.requests] == [
        ("GET", "/1.0/profiles/" + parse.quote(name, safe=""))
    ]

"""Fake LXD: the operations Incus 6.0 adds over LXD 5.0.2.

Instance ``rebuild``, ``access``, ``debug/memory`` and ``logs/exec-output``;
``/1.0/metadata/configuration``, ``/1.0/network-allocations``, project
``access``, cluster member ``state``; network load balancers (and their
state), network integrations, storage buckets with their keys and backups.
Each answers only when the fake advertises the API extension, as a real
server without it would not route the path (404). Load balancers,
integrations (OVN) and buckets (MinIO) cannot run on the test machines: the
fake keeps them in memory so that the client side is tested.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any, Callable

from pylxd._types import JSONDict
from pylxd.testing._fake import FakeError, FakeLXD, FakeRequest, Reply, lookup, route
from pylxd.testing._fake_collection import Collection, json_body, require_extension
from pylxd.testing._fake_core import require_project

_SEG = r"[^/]+"
_INST = rf"/1.0/instances/(?P<name>{_SEG})"
_OWNER = {"identifier": "fake-client", "role": "admin", "provider": "tls"}


def _instance(fake: FakeLXD, request: FakeRequest, name: str) -> JSONDict:
    from pylxd.testing._fake_instances import instance_record

    return instance_record(fake, require_project(fake, request), name)


# -- instances -----------------------------------------------------------------
@route("POST", rf"{_INST}/rebuild")
def _rebuild(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    require_extension(fake, "instances_rebuild")
    record = _instance(fake, request, name)
    source = json_body(request).get("source") or {}
    if record["status"] != "Stopped":
        raise FakeError(400, "Instance must be stopped to be rebuilt")
    if source.get("type") not in ("image", "none"):
        raise FakeError(400, "Invalid source type")

    def work() -> None:
        config = {
            k: v for k, v in record["config"].items() if not k.startswith("image.")
        }
        if source["type"] == "image":
            from pylxd.testing._fake_instances import _from_image

            config.update(_from_image(fake, request, source)["config"])
        else:
            config.pop("volatile.base_image", None)
        record["config"] = config

    return fake.run_async("Rebuilding instance", request, work)


@route("GET", rf"{_INST}/access")
def _instance_access(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    require_extension(fake, "instance_access")
    _instance(fake, request, name)
    return fake.sync([dict(_OWNER)])


@route("GET", rf"{_INST}/debug/memory")
def _debug_memory(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    require_extension(fake, "instance_debug_memory")
    record = _instance(fake, request, name)
    if record["type"] != "virtual-machine":
        raise FakeError(400, "Memory dumps are only supported for virtual machines")
    if record["status"] != "Running":
        raise FakeError(400, "Instance is not running")
    return fake.raw(b"\x7fELF fake memory dump of " + name.encode())


def exec_outputs(fake: FakeLXD, instance: str, project: str) -> dict[str, bytes]:
    """The recorded exec output files of ``instance`` (Incus keeps them apart)."""
    from pylxd.testing._fake_instance_subresources import subresources

    outputs: dict[str, bytes] = subresources(fake, instance, project).setdefault(
        "exec-output", {}
    )
    return outputs


def _outputs(fake: FakeLXD, request: FakeRequest, name: str) -> dict[str, bytes]:
    if fake.server != "incus":
        raise FakeError(400, "log file name exec-output not valid")  # LXD 5.0
    _instance(fake, request, name)
    return exec_outputs(fake, name, request.project)


@route("GET", rf"{_INST}/logs/exec-output", first=True)  # not a log file name
def _output_list(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    files = _outputs(fake, request, name)
    prefix = f"/1.0/instances/{name}/logs/exec-output"
    return fake.sync([f"{prefix}/{f}" for f in sorted(files)])


def _output(files: dict[str, bytes], filename: str) -> bytes:
    if filename not in files:
        raise FakeError(404, "Exec output file not found")
    return files[filename]


@route("GET", rf"{_INST}/logs/exec-output/(?P<filename>{_SEG})")
def _output_get(fake: FakeLXD, request: FakeRequest, name: str, filename: str) -> Reply:
    data = _output(_outputs(fake, request, name), filename)
    return fake.raw(data, **{"Content-Length": str(len(data))})


@route("DELETE", rf"{_INST}/logs/exec-output/(?P<filename>{_SEG})")
def _output_delete(
    fake: FakeLXD, request: FakeRequest, name: str, filename: str
) -> Reply:
    files = _outputs(fake, request, name)
    _output(files, filename)
    del files[filename]
    return fake.empty()


# -- server-wide ---------------------------------------------------------------
#: A small piece of what Incus answers (the real document lists every key).
METADATA_CONFIGURATION: JSONDict = {
    "configs": {
        "instance": {
            "resource-limits": {
                "keys": [
                    {
                        "limits.cpu": {
                            "longdesc": "A number or a range of CPUs.",
                            "shortdesc": "Which CPUs to expose to the instance",
                            "type": "string",
                        }
                    }
                ]
            }
        }
    }
}


@route("GET", r"/1.0/metadata/configuration")
def _metadata_configuration(fake: FakeLXD, request: FakeRequest) -> Reply:
    require_extension(fake, "metadata_configuration")
    return fake.sync(copy.deepcopy(METADATA_CONFIGURATION))


@route("GET", r"/1.0/network-allocations")
def _network_allocations(fake: FakeLXD, request: FakeRequest) -> Reply:
    require_extension(fake, "network_allocations")
    projects = (
        list(fake.state.get("networks", {}))
        if request.query.get("all-projects") == "true"
        else [require_project(fake, request)]
    )
    allocations = []
    for project in projects:
        for name, net in fake.store("networks", project).items():
            for family in ("ipv4", "ipv6"):
                address = (net.get("config") or {}).get(f"{family}.address", "none")
                if address in ("none", "", None):
                    continue
                allocations.append(
                    {
                        "addresses": address,
                        "used_by": f"/1.0/networks/{name}",
                        "type": "network",
                        "nat": (net.get("config") or {}).get(f"{family}.nat") == "true",
                        "hwaddr": "",
                    }
                )
    return fake.sync(allocations)


@route("GET", rf"/1.0/projects/(?P<name>{_SEG})/access")
def _project_access(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    require_extension(fake, "project_access")
    if not fake.has_project(name):
        raise FakeError(404, "Project not found")
    return fake.sync([dict(_OWNER)])


@route("GET", rf"/1.0/cluster/members/(?P<name>{_SEG})/state", first=True)
def _member_state(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    if "cluster_member_state" not in fake.extensions:
        raise FakeError(501, "not implemented")  # LXD 5.0's answer
    if name not in fake.store("cluster_members"):
        raise FakeError(404, "Cluster member not found")
    pools = {
        pool: {"space": {"used": 0, "total": 10 * 1024**3}, "inodes": {}}
        for pool in fake.store("storage_pools")
    }
    sysinfo = {
        "uptime": 3600,
        "load_averages": [0.0, 0.0, 0.0],
        "total_ram": 4 * 1024**3,
        "free_ram": 3 * 1024**3,
        "shared_ram": 0,
        "buffered_ram": 0,
        "total_swap": 0,
        "free_swap": 0,
        "processes": 1,
        "logical_cpus": 2,
    }
    return fake.sync({"storage_pools": pools, "sysinfo": sysinfo})


# -- simple collections: load balancers, integrations, buckets and children ----
class _Collection(Collection):
    """A collection Incus adds: LXD's messages made from ``what`` (the
    record's kind), routed only with ``extension``; ``PATCH`` keeps the
    fields it does not name."""

    def __init__(
        self,
        path: str,
        what: str,
        extension: str,
        items: Callable[..., dict[str, JSONDict]],
        fields: JSONDict,
        key: str = "name",
        **options: Any,
    ) -> None:
        renamed = f"Invalid new {what} name"
        super().__init__(
            path,
            items,
            f"{what} not found",
            fields,
            key=key,
            required=(400, f"{what} {key} is required"),
            exists=(409, f"{what} already exists"),
            extension=extension,
            patch_keeps=True,
            rename=((400, renamed), (409, renamed)),
            **options,
        )


def _network_children(kind: str) -> Callable[..., dict[str, JSONDict]]:
    def items(fake: FakeLXD, request: FakeRequest, net: str) -> dict[str, JSONDict]:
        network = lookup(
            fake.store("networks", request.project), net, "Network not found"
        )
        if network.get("type") != "ovn":
            raise FakeError(
                400, f'Network driver "{network.get("type")}" does not support {kind}'
            )
        children: dict[str, JSONDict] = network.setdefault(kind.replace(" ", "_"), {})
        return children

    return items


_load_balancers = _Collection(
    r"/1.0/networks/(?P<net>[^/]+)/load-balancers",
    "Network load balancer",
    "network_load_balancer",
    _network_children("load balancers"),
    {"description": "", "config": {}, "backends": [], "ports": []},
    key="listen_address",
    make=lambda fake, request, record, body, net: {"location": ""},
)


@route("GET", _load_balancers.one + "/state")
def _load_balancer_state(
    fake: FakeLXD, request: FakeRequest, net: str, key: str
) -> Reply:
    require_extension(fake, "network_load_balancer_state")
    balancer = _load_balancers.find(fake, request, key, net=net)
    health = {
        backend["target_address"]: {"address": backend["target_address"], "ports": []}
        for backend in balancer["backends"]
        if "target_address" in backend
    }
    return fake.sync({"backend_health": health})


def _integrations(fake: FakeLXD, request: FakeRequest) -> dict[str, JSONDict]:
    return fake.store("network_integrations")


_Collection(
    r"/1.0/network-integrations",
    "Network integration",
    "network_integrations",
    _integrations,
    {"description": "", "config": {}, "type": "ovn"},
    make=lambda fake, request, record, body: {"used_by": []},
    verbs=("PUT", "PATCH", "DELETE", "POST"),
)


def _buckets(fake: FakeLXD, request: FakeRequest, pool: str) -> dict[str, JSONDict]:
    if pool not in fake.store("storage_pools"):
        raise FakeError(404, "Storage pool not found")
    buckets: dict[str, JSONDict] = fake.store(
        "storage_buckets", request.project
    ).setdefault(pool, {})
    return buckets


def _bucket(fake: FakeLXD, request: FakeRequest, pool: str, bucket: str) -> JSONDict:
    record = _buckets(fake, request, pool).get(bucket)
    if record is None:
        raise FakeError(404, "Storage bucket not found")
    return record


def _new_key(role: str = "admin") -> JSONDict:
    return {
        "role": role,
        "access-key": secrets.token_hex(8),
        "secret-key": secrets.token_hex(16),
    }


def _new_bucket(
    fake: FakeLXD, request: FakeRequest, record: JSONDict, body: JSONDict, pool: str
) -> JSONDict:
    name = record["name"]
    admin = {"name": "admin", "description": "", **_new_key()}
    return {
        "s3_url": f"https://127.0.0.1:8555/{name}",
        "location": "none",
        "project": request.project,
        "_keys": {"admin": admin},
        "_backups": {},
    }


def _public(record: JSONDict) -> JSONDict:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _credentials(key: JSONDict) -> JSONDict:
    """What creating a bucket (its admin key) or a key answers."""
    return {k: key[k] for k in ("name", "role", "access-key", "secret-key")}


_BUCKETS = r"/1.0/storage-pools/(?P<pool>[^/]+)/buckets"
_BUCKET = rf"{_BUCKETS}/(?P<bucket>{_SEG})"
_Collection(
    _BUCKETS,
    "Storage bucket",
    "storage_buckets",
    _buckets,
    {"description": "", "config": {}},
    make=_new_bucket,
    view=lambda fake, request, record, pool: _public(record),
    created=lambda record: _credentials(record["_keys"]["admin"]),
)


def _in_bucket(part: str) -> Callable[..., dict[str, JSONDict]]:
    """The records of a bucket's ``part`` (``_keys``, ``_backups``)."""

    def items(
        fake: FakeLXD, request: FakeRequest, pool: str, bucket: str
    ) -> dict[str, JSONDict]:
        records: dict[str, JSONDict] = _bucket(fake, request, pool, bucket)[part]
        return records

    return items


_Collection(
    _BUCKET + "/keys",
    "Storage bucket key",
    "storage_buckets",
    _in_bucket("_keys"),
    {"description": "", "role": "read-only", "access-key": "", "secret-key": ""},
    make=lambda fake, request, record, body, **bucket: {
        k: v for k, v in _new_key(record["role"]).items() if not record.get(k)
    },
    created=_credentials,
    verbs=("PUT", "DELETE"),
)


class _Backups(_Collection):
    """Bucket backups answer with operations, as Incus does."""

    def create(self, fake: FakeLXD, request: FakeRequest, **groups: str) -> Reply:
        body = dict(json_body(request))
        body.setdefault("name", f"backup{len(self.records(fake, request, **groups))}")
        reply = self.insert(fake, request, body, **groups)
        if reply.status != 200:
            return reply
        url = f"{request.path}/{body['name']}"  # Incus names what it made
        return fake.run_async(
            "Backing up storage bucket", request, resources={"backups": [url]}
        )

    def delete(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        super().delete(fake, request, key, **groups)
        return fake.run_async("Deleting storage bucket backup", request)

    def post(
        self, fake: FakeLXD, request: FakeRequest, key: str, **groups: str
    ) -> Reply:
        super().post(fake, request, key, **groups)
        return fake.run_async("Renaming storage bucket backup", request)


_bucket_backups = _Backups(
    _BUCKET + "/backups",
    "Storage bucket backup",
    "storage_bucket_backup",
    _in_bucket("_backups"),
    {"expires_at": "0001-01-01T00:00:00Z", "compression_algorithm": "gzip"},
    verbs=("DELETE", "POST"),
)


@route("GET", _bucket_backups.one + "/export")
def _bucket_backup_export(
    fake: FakeLXD, request: FakeRequest, pool: str, bucket: str, key: str
) -> Reply:
    _bucket_backups.find(fake, request, key, pool=pool, bucket=bucket)
    return fake.raw(f"fake backup of bucket {bucket}".encode())

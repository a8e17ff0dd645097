"""Which library method implements each operation of the LXD 5.0.2 and Incus 6.0.4 REST APIs.

:data:`OPERATIONS` maps every ``(method, path)`` of the 5.0.2 spec to the
dotted path of the named method (or property) that sends it; methods
inherited from the model base (``save``, ``patch``, ``delete``) are named
through the concrete class. :data:`INCUS_OPERATIONS` does the same for the 41
operations Incus 6.0.4 adds (Incus serves all of LXD 5.0.2's too; its spec
names some path parameters differently, so paths are compared with the
parameters blanked, :func:`shape`).
``pylxd/tests/test_endpoint_map_gate.py`` checks them against the shipped lists
of operations, and ``doc/source/rest-coverage.rst`` is rendered from them::

    python -m pylxd._endpoint_map --rst > doc/source/rest-coverage.rst
    python -m pylxd._endpoint_map --from-spec rest-api.yaml   # regenerate a list
    python -m pylxd._endpoint_map --from-spec incus-6.0.4-rest-api.yaml --incus
    python -m pylxd._endpoint_map --definitions incus-6.0.4-rest-api.yaml
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
from pathlib import Path
from typing import Any

#: The operations of the LXD 5.0.2 REST API, shipped for the gate.
OPERATIONS_FILE = Path(__file__).parent / "tests" / "data" / "lxd-5.0.2-operations.txt"
#: The operations of the Incus 6.0.4 REST API (a superset of LXD 5.0.2's).
INCUS_OPERATIONS_FILE = OPERATIONS_FILE.with_name("incus-6.0.4-operations.txt")

_M = "pylxd.models."
_INST = _M + "instance.Instance."
_SNAP = _M + "instance.Snapshot."
_EXEC = _M + "_exec.ExecMixin."
_FILES = _M + "files.FilesManager."
_BACKUP = _M + "instance_backup.InstanceBackup."
_LOGS = _M + "_instance_logs.InstanceLogs."
_TPL = _M + "_instance_metadata.InstanceTemplates."
_IMG = _M + "image.Image."
_ALIAS = _M + "image.ImageAlias."
_CERT = _M + "certificate.Certificate."
_CLUSTER = _M + "cluster.Cluster."
_MEMBER = _M + "cluster.ClusterMember."
_GROUP = _M + "cluster.ClusterGroup."
_NET = _M + "network.Network."
_FWD = _M + "network.NetworkForward."
_PEER = _M + "network.NetworkPeer."
_ACL = _M + "network_acl.NetworkACL."
_ZONE = _M + "network_zone.NetworkZone."
_REC = _M + "network_zone.NetworkZoneRecord."
_OP = _M + "operation.Operation."
_PROF = _M + "profile.Profile."
_PROJ = _M + "project.Project."
_POOL = _M + "storage_pool.StoragePool."
_VOL = _M + "storage_pool.StorageVolume."
_VSNAP = _M + "storage_pool.StorageVolumeSnapshot."
_VBACKUP = _M + "storage_volume_backup.StorageVolumeBackup."
_SERVER = _M + "server.Server."
_WARN = _M + "warning.Warning."
# (Incus only)
_INCUS_LOGS = _M + "_instance_incus.InstanceExecOutputs."
_NI = _M + "network_integration.NetworkIntegration."
_LB = _M + "network.NetworkLoadBalancer."
_BUCKET = _M + "storage_bucket.StorageBucket."
_BKEY = _M + "storage_bucket.StorageBucketKey."
_BBACKUP = _M + "storage_bucket.StorageBucketBackup."

_I = "/1.0/instances/{name}"
_POOLS = "/1.0/storage-pools/{name}"
_V = _POOLS + "/volumes/{type}/{volume}"
_FW = "/1.0/networks/{networkName}/forwards"
_PE = "/1.0/networks/{networkName}/peers"
_Z = "/1.0/network-zones/{zone}/records"
_W = "/1.0/warnings/{uuid}"
_IMG_ONE = "/1.0/images/{fingerprint}"
_LBS = "/1.0/networks/{networkName}/load-balancers"
_B = "/1.0/storage-pools/{poolName}/buckets"
_B1 = "/1.0/storage-pools/{name}/buckets/{bucketName}"


def _crud(
    path: str,
    item: str,
    model: str,
    *,
    rename: bool = False,
    edit: bool = True,
    create: str = "create",
) -> dict[tuple[str, str], str]:
    """The rows of a collection at ``path`` whose objects are at ``path + item``.

    ``all``/``create`` (or the method named by ``create``) on the collection,
    ``get``, ``rename`` (when ``rename``), ``save``/``patch`` (when ``edit``)
    and ``delete`` on an object, in that order.
    """
    one = path + item
    rows = {("GET", path): model + "all", ("POST", path): model + create}
    rows[("GET", one)] = model + "get"
    if rename:
        rows[("POST", one)] = model + "rename"
    verbs = (("PUT", "save"), ("PATCH", "patch")) if edit else ()
    for method, name in (*verbs, ("DELETE", "delete")):
        rows[(method, one)] = model + name
    return rows


def _backups(path: str, item: str, model: str) -> dict[tuple[str, str], str]:
    """The rows of a backup collection: renamed, never edited, exported."""
    rows = _crud(path, item, model, rename=True, edit=False)
    rows[("GET", path + item + "/export")] = model + "export"
    return rows


def _at(path: str, model: str, **verbs: str) -> dict[tuple[str, str], str]:
    """The rows of one path: ``GET="all"`` is ``("GET", path) -> model + "all"``."""
    return {(method, path): model + name for method, name in verbs.items()}


#: (method, path) -> the dotted path of the method that implements it.
OPERATIONS: dict[tuple[str, str], str] = {
    # server, events, metrics, resources, warnings
    ("GET", "/"): _SERVER + "api_versions",
    **_at("/1.0", _SERVER, GET="get", PUT="update_config", PATCH="patch_config"),
    ("GET", "/1.0/events"): "pylxd.client.Client.events",
    ("GET", "/1.0/metrics"): "pylxd.client.Client.metrics",
    ("GET", "/1.0/resources"): "pylxd.client.Client.resources",
    ("GET", "/1.0/warnings"): _WARN + "all",
    **_at(_W, _WARN, GET="get", PUT="set_status", PATCH="patch", DELETE="delete"),
    # certificates
    **_crud("/1.0/certificates", "/{fingerprint}", _CERT),
    # cluster
    **_at("/1.0/cluster", _CLUSTER, GET="get", PUT="enable"),
    ("PUT", "/1.0/cluster/certificate"): _M + "cluster.ClusterCertificate.put",
    **_crud("/1.0/cluster/groups", "/{name}", _GROUP, rename=True),
    **_crud(
        "/1.0/cluster/members", "/{name}", _MEMBER, rename=True, create="create_token"
    ),
    ("POST", "/1.0/cluster/members/{name}/state"): _MEMBER + "evacuate",
    # images and aliases
    ("GET", "/1.0/images"): _IMG + "all",
    ("POST", "/1.0/images"): _IMG + "create",
    **_crud("/1.0/images/aliases", "/{name}", _ALIAS, rename=True),
    **_at(_IMG_ONE, _IMG, GET="get", PUT="save", PATCH="patch", DELETE="delete"),
    **_at(_IMG_ONE + "/export", _IMG, GET="export_to", POST="push_to"),
    ("POST", _IMG_ONE + "/refresh"): _IMG + "refresh",
    ("POST", _IMG_ONE + "/secret"): _IMG + "copy",
    # instances
    **_crud("/1.0/instances", "/{name}", _INST, rename=True),
    ("PUT", "/1.0/instances"): _INST + "set_all_states",
    **_backups(_I + "/backups", "/{backup}", _BACKUP),
    ("GET", _I + "/console"): _EXEC + "console_log",
    ("POST", _I + "/console"): _EXEC + "interactive_console",
    ("DELETE", _I + "/console"): _EXEC + "clear_console_log",
    ("POST", _I + "/exec"): _EXEC + "execute",
    **_at(_I + "/files", _FILES, GET="get", HEAD="stat", POST="put", DELETE="delete"),
    ("GET", _I + "/logs"): _LOGS + "all",
    **_at(_I + "/logs/{filename}", _LOGS, GET="export", DELETE="delete"),
    ("GET", _I + "/metadata"): _INST + "get_metadata",
    ("PUT", _I + "/metadata"): _INST + "put_metadata",
    ("PATCH", _I + "/metadata"): _INST + "patch_metadata",
    **_at(_I + "/metadata/templates", _TPL, GET="get", POST="put", DELETE="delete"),
    ("GET", _I + "/sftp"): _INST + "sftp",
    **_crud(_I + "/snapshots", "/{snapshot}", _SNAP, rename=True),
    **_at(_I + "/state", _INST, GET="state", PUT="start"),
    # networks, ACLs, zones, forwards, peers
    **_crud("/1.0/network-acls", "/{name}", _ACL, rename=True),
    ("GET", "/1.0/network-acls/{name}/log"): _ACL + "log",
    **_crud("/1.0/network-zones", "/{name}", _ZONE),
    **_crud(_Z, "/{name}", _REC),
    **_crud("/1.0/networks", "/{name}", _NET, rename=True),
    ("GET", "/1.0/networks/{name}/leases"): _NET + "leases",
    ("GET", "/1.0/networks/{name}/state"): _NET + "state",
    **_crud(_FW, "/{listenAddress}", _FWD),
    **_crud(_PE, "/{peerName}", _PEER),
    # operations
    ("GET", "/1.0/operations"): _OP + "all",
    **_at("/1.0/operations/{id}", _OP, GET="get", DELETE="cancel"),
    ("GET", "/1.0/operations/{id}/wait"): _OP + "wait_for_operation",
    ("GET", "/1.0/operations/{id}/websocket"): _EXEC + "execute",
    # profiles and projects
    **_crud("/1.0/profiles", "/{name}", _PROF, rename=True),
    **_crud("/1.0/projects", "/{name}", _PROJ, rename=True),
    ("GET", "/1.0/projects/{name}/state"): _PROJ + "state",
    # storage
    **_crud("/1.0/storage-pools", "/{name}", _POOL),
    ("GET", _POOLS + "/resources"): _M + "storage_pool.StorageResources.get",
    **_at(_POOLS + "/volumes", _VOL, GET="all", POST="create"),
    **_at(_POOLS + "/volumes/{type}", _VOL, GET="all", POST="import_backup"),
    **_at(
        _V, _VOL, GET="get", POST="rename", PUT="save", PATCH="patch", DELETE="delete"
    ),
    ("GET", _V + "/state"): _VOL + "state",
    **_backups(_V + "/backups", "/{backup}", _VBACKUP),
    **_crud(_V + "/snapshots", "/{snapshot}", _VSNAP, rename=True),
}

#: (method, path) -> method, for the operations Incus 6.0.4 adds (its paths).
INCUS_OPERATIONS: dict[tuple[str, str], str] = {
    ("GET", "/1.0/cluster/members/{name}/state"): _MEMBER + "state",
    ("GET", _I + "/access"): _INST + "access",
    ("GET", _I + "/debug/memory"): _INST + "debug_memory",
    ("GET", _I + "/logs/exec-output"): _INCUS_LOGS + "all",
    **_at(_I + "/logs/exec-output/{filename}", _INCUS_LOGS, GET="get", DELETE="delete"),
    ("POST", _I + "/rebuild"): _INST + "rebuild",
    ("GET", "/1.0/metadata/configuration"): _SERVER + "metadata_configuration",
    ("GET", "/1.0/network-allocations"): _NET + "allocations",
    **_crud("/1.0/network-integrations", "/{integration}", _NI, rename=True),
    **_crud(_LBS, "/{listenAddress}", _LB),
    ("GET", _LBS + "/{listenAddress}/state"): _LB + "state",
    ("GET", "/1.0/projects/{name}/access"): _PROJ + "access",
    **_at(_B, _BUCKET, GET="all", POST="create"),
    ("GET", _B + "/{bucketName}"): _BUCKET + "get",
    **_at(_B1, _BUCKET, PUT="save", PATCH="patch", DELETE="delete"),
    **_backups(_B + "/{bucketName}/backups", "/{backupName}", _BBACKUP),
    **_at(_B + "/{bucketName}/keys", _BKEY, GET="all", POST="create"),
    ("GET", _B + "/{bucketName}/keys/{keyName}"): _BKEY + "get",
    **_at(_B1 + "/keys/{keyName}", _BKEY, PUT="save", DELETE="delete"),
}


def load_operations(path: Path = OPERATIONS_FILE) -> list[tuple[str, str]]:
    """Read the shipped operations: ``METHOD /path`` lines, ``#`` comments."""
    operations = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            method, _, op_path = line.partition(" ")
            operations.append((method, op_path))
    return operations


def shape(path: str) -> str:
    """A path with its parameters blanked, to compare the two specs' paths.

    >>> shape("/1.0/storage-pools/{poolName}/volumes/{type}/{volumeName}")
    '/1.0/storage-pools/{}/volumes/{}/{}'
    """
    return re.sub(r"\{[^}]*\}", "{}", path)


def _by_shape(table: dict[tuple[str, str], str]) -> dict[tuple[str, str], str]:
    return {(method, shape(path)): value for (method, path), value in table.items()}


def method_for(method: str, path: str) -> str | None:
    """The dotted method that sends ``method path`` (either spec's names), or None."""
    key = (method, shape(path))
    return _by_shape(OPERATIONS).get(key) or _by_shape(INCUS_OPERATIONS).get(key)


def resolve(dotted: str) -> Any:
    """Import ``module.Class.attr`` (the longest importable module prefix).

    A property is returned as the ``property`` object itself.

    :raises ImportError: when no prefix imports.
    :raises AttributeError: when an attribute is missing.
    """
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"No module of {dotted!r} can be imported")


def is_named_method(obj: Any) -> bool:
    """A method, function or property (e.g. ``Client.resources``)."""
    return callable(obj) or isinstance(obj, property)


def render_rst() -> str:
    """The operation -> method table as reStructuredText (every Incus 6.0.4 operation)."""
    lxd = {(method, shape(path)): path for method, path in load_operations()}
    incus = load_operations(INCUS_OPERATIONS_FILE)
    lines = [
        ":orphan:",
        "",
        ".. Generated by ``python -m pylxd._endpoint_map --rst``; do not edit.",
        "",
        "LXD 5.0.2 and Incus 6.0.4 REST API coverage",
        "===========================================",
        "",
        f"Each of the {len(incus)} operations of the Incus 6.0.4 REST API (the",
        f"{len(lxd)} of LXD 5.0.2, with LXD's parameter names, and the",
        f"{len(incus) - len(lxd)} Incus adds) and the pylxd method that sends it.",
        "Methods inherited from the model base (``save``, ``patch``, ``delete``)",
        "are listed on the class that offers them; managers bind the classmethods",
        "(``client.warnings.all()`` is ``Warning.all(client)``). The Incus-only",
        "methods check their API extension, so on LXD 5.0.2 they raise",
        "``LXDAPIExtensionNotAvailable`` before sending anything.",
        "``pylxd/tests/test_endpoint_map_gate.py`` keeps this table complete.",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 8 42 8 42",
        "",
        "   * - Method",
        "     - Path",
        "     - Server",
        "     - pylxd",
    ]
    for method, path in incus:
        lxd_path = lxd.get((method, shape(path)))
        target = method_for(method, path)
        if target is not None:
            cell = f"``{target}``"
        else:
            cell = "not covered"
        lines += [
            f"   * - ``{method}``",
            f"     - ``{lxd_path or path}``",
            f"     - {'both' if lxd_path else 'Incus'}",
            f"     - {cell}",
        ]
    return "\n".join(lines) + "\n"


def operations_from_spec(spec_path: str) -> list[tuple[str, str]]:
    """The distinct (method, path) operations of an LXD ``rest-api.yaml``."""
    import yaml  # only needed to regenerate the list

    spec = yaml.safe_load(Path(spec_path).read_text())
    verbs = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    found = {
        (verb.upper(), key.split("?")[0])
        for key, item in spec["paths"].items()
        for verb in item
        if verb.upper() in verbs
    }
    return sorted(found, key=lambda op: (op[1], verbs.index(op[0])))


#: The object definitions of the Incus 6.0.4 spec and their fields, shipped
#: for the unit test that every field Incus returns is a declared attribute.
INCUS_DEFINITIONS_FILE = OPERATIONS_FILE.with_name("incus-6.0.4-definitions.txt")


def definitions_from_spec(spec_path: str) -> dict[str, list[str]]:
    """The fields (``properties``) of every object definition of a spec."""
    import yaml  # only needed to regenerate the list

    spec = yaml.safe_load(Path(spec_path).read_text())
    return {
        name: sorted(item.get("properties") or ())
        for name, item in sorted(spec["definitions"].items())
    }


def load_definitions(path: Path = INCUS_DEFINITIONS_FILE) -> dict[str, list[str]]:
    """Read the shipped definitions: ``Name field field ...`` lines, ``#`` comments."""
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, *fields = line.split()
            found[name] = fields
    return found


def _definitions_listing(spec_path: str) -> str:
    digest = hashlib.sha256(Path(spec_path).read_bytes()).hexdigest()
    header = [
        "# The object definitions of the Incus 6.0.4 REST API and their fields.",
        "# Generated from Incus's doc/rest-api.yaml at tag v6.0.4",
        f"# (sha256 {digest})",
        "# by `python -m pylxd._endpoint_map --definitions incus-6.0.4-rest-api.yaml`.",
    ]
    body = [
        " ".join([name, *fields])
        for name, fields in definitions_from_spec(spec_path).items()
    ]
    return "\n".join(header + body) + "\n"


def _spec_listing(spec_path: str, incus: bool = False) -> str:
    digest = hashlib.sha256(Path(spec_path).read_bytes()).hexdigest()
    if incus:
        title, origin = "Incus 6.0.4", "Incus's doc/rest-api.yaml at tag v6.0.4"
        command = "--from-spec incus-6.0.4-rest-api.yaml --incus"
    else:
        title, origin = "LXD 5.0.2", "LXD's doc/rest-api.yaml at tag lxd-5.0.2"
        command = "--from-spec rest-api.yaml"
    header = [
        f"# The operations (method, path) of the {title} REST API, one a line.",
        f"# Generated from {origin}",
        f"# (sha256 {digest})",
        f"# by `python -m pylxd._endpoint_map {command}`; path keys with",
        "# a query suffix (?recursion=1, ?public) are merged into their path.",
    ]
    body = [f"{method} {path}" for method, path in operations_from_spec(spec_path)]
    return "\n".join(header + body) + "\n"


def main(argv: list[str]) -> int:
    """``--rst``: the docs table; ``--from-spec FILE [--incus]``: the operations;
    ``--definitions FILE``: the object definitions and their fields."""
    if argv[:1] == ["--rst"]:
        sys.stdout.write(render_rst())
        return 0
    if argv[:1] == ["--definitions"] and len(argv) == 2:
        sys.stdout.write(_definitions_listing(argv[1]))
        return 0
    if argv[:1] == ["--from-spec"] and len(argv) in (2, 3):
        incus = argv[2:] == ["--incus"]
        if len(argv) == 2 or incus:
            sys.stdout.write(_spec_listing(argv[1], incus))
            return 0
    sys.stderr.write(
        "usage: python -m pylxd._endpoint_map --rst | --from-spec FILE [--incus]"
        " | --definitions FILE\n"
    )
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))

"""Fake LXD: the server itself, operations, projects and profiles."""

from __future__ import annotations

import functools
import re
from typing import Any, Callable

from pylxd.testing._fake import FakeLXD, on_init, put_and_patch, route
from pylxd.testing._fake_helpers import wording
from pylxd.testing._fake_wire import (
    FakeError,
    FakeRequest,
    Reply,
    lookup,
    now,
    rename_in,
)

_NAME = r"(?P<name>[^/]+)"
_INCUS_NO_TRUST_PASSWORD = "cannot set 'core.trust_password': unknown key"
#: The project features LXD turns on when a new project does not set them.
_PROJECT_FEATURE_DEFAULTS = (
    "features.images",
    "features.profiles",
    "features.storage.volumes",
)


@on_init
def _seed(fake: FakeLXD) -> None:
    fake.store("projects")["default"] = {
        "name": "default",
        "description": "Default LXD project",
        "config": {
            "features.images": "true",
            "features.networks": "true",
            "features.profiles": "true",
            "features.storage.volumes": "true",
        },
    }
    fake.store("profiles")["default"] = {
        "name": "default",
        "description": "Default LXD profile",
        "config": {},
        "devices": {},
    }


def require_project(fake: FakeLXD, request: FakeRequest) -> str:
    """The request's project, or a 404 like LXD's."""
    project = request.project
    if not fake.has_project(project):
        raise FakeError(404, "Project not found")
    return project


def given_name(body: dict[str, Any]) -> str:
    """The ``name`` a request body gives; LXD's 400 "No name provided"
    when it gives none (or an empty one)."""
    name: str | None = body.get("name")
    if not name:
        raise FakeError(400, "No name provided")
    return name


def listing(
    request: FakeRequest,
    prefix: str,
    items: dict[str, Any],
    render: Any = None,
    *,
    in_project: bool = True,
) -> Any:
    """A collection answer: URLs, or objects with ``recursion=1``.

    :param in_project: whether the URLs name the request's project (objects
        outside projects, such as certificates, are named without it).
    """
    default = request.project == "default" or not in_project
    suffix = "" if default else f"?project={request.project}"
    if request.recursion:
        return [render(v) if render else v for v in items.values()]
    return [f"{prefix}/{name}{suffix}" for name in items]


def list_route(
    path: str, kind: str, guard: Callable[[FakeLXD], None], *, in_project: bool = True
) -> None:
    """Route ``GET path`` to the listing of ``fake.store(kind)``, after ``guard(fake)``."""

    def _list(fake: FakeLXD, request: FakeRequest) -> Reply:
        guard(fake)
        items = fake.store(kind)
        return fake.sync(listing(request, path, items, in_project=in_project))

    route("GET", re.escape(path))(_list)


_KERNEL_FEATURES = {
    "idmapped_mounts": "true",
    "netnsid_getifaddrs": "false",
    "seccomp_listener": "true",
    "seccomp_listener_continue": "true",
    "shiftfs": "false",
    "uevent_injection": "true",
    "unpriv_fscaps": "true",
}
_LXC_FEATURES = {
    name: "true"
    for name in (
        "cgroup2",
        "core_scheduling",
        "devpts_fd",
        "idmapped_mounts_v2",
        "mount_injection_file",
        "network_gateway_device_route",
        "network_ipvlan",
        "network_l2proxy",
        "network_phys_macvlan_mtu",
        "network_veth_router",
        "pidfd",
        "seccomp_allow_deny_syntax",
        "seccomp_notify",
        "seccomp_proxy_send_notify_fd",
    )
}


def host_info(fake: FakeLXD) -> dict[str, Any]:
    return {
        "api_extensions": list(fake.extensions),
        "api_status": "stable",
        "api_version": "1.0",
        "auth": "trusted" if fake.trusted else "untrusted",
        "public": False,
        "auth_methods": ["tls"],
        "config": dict(fake.config),
        "environment": {
            "addresses": [],
            "architectures": ["x86_64", "i686"],
            "certificate": "",
            "certificate_fingerprint": "",
            "driver": "lxc",
            "driver_version": fake.server_version,
            "firewall": "nftables",
            "kernel": "Linux",
            "kernel_architecture": "x86_64",
            "kernel_version": "6.0.0",
            "os_name": "Debian GNU/Linux",
            "os_version": "12",
            "project": "default",
            "server": fake.server,
            "server_clustered": fake.clustered,
            "server_name": "fake",
            "server_pid": 1,
            "server_version": fake.server_version,
            "storage": "dir",
            "storage_version": "1",
            "storage_supported_drivers": [
                {"Name": "dir", "Version": "1", "Remote": False}
            ],
            "server_event_mode": "full-mesh",
            "kernel_features": dict(_KERNEL_FEATURES),
            "lxc_features": dict(_LXC_FEATURES),
        },
    }


@route("GET", r"/")
def _root(fake: FakeLXD, request: FakeRequest) -> Reply:
    return fake.sync(["/1.0"])


@route("GET", r"/1.0")
def _server_get(fake: FakeLXD, request: FakeRequest) -> Reply:
    info = host_info(fake)
    if fake.trusted and fake.server == "incus":  # Incus 6.0 names the caller
        info.update(auth_user_method="tls", auth_user_name="fake-client")
    if not fake.trusted:  # LXD 5.0.2 tells an untrusted client no more
        keep = ("api_extensions", "api_status", "api_version", "auth", "public")
        info = {k: info[k] for k in keep}
        info["auth_methods"] = ["tls"]
        if fake.server == "incus":  # Incus 6.0 also shows an empty config
            info["config"] = {}
    return fake.sync(info)


def _server_config(fake: FakeLXD, request: FakeRequest) -> dict[str, Any]:
    config = dict((request.json or {}).get("config") or {})
    if fake.server == "incus" and "core.trust_password" in config:
        # Incus trusts by token only: the key does not exist there.
        raise FakeError(400, _INCUS_NO_TRUST_PASSWORD)
    return config


@route("PUT", r"/1.0")
def _server_put(fake: FakeLXD, request: FakeRequest) -> Reply:
    fake.config = _server_config(fake, request)
    return fake.empty()


@route("PATCH", r"/1.0")
def _server_patch(fake: FakeLXD, request: FakeRequest) -> Reply:
    fake.config.update(_server_config(fake, request))
    return fake.empty()


_GIB = 1024**3
_CORES = [
    {
        "core": n,
        "die": 0,
        "threads": [
            {"id": n, "numa_node": 0, "thread": 0, "online": True, "isolated": False}
        ],
    }
    for n in range(2)
]
#: ``GET /1.0/resources``: a small two-thread x86_64 machine, shaped like
#: LXD 5.0.2's answer.
_RESOURCES: dict[str, Any] = {
    "cpu": {
        "architecture": "x86_64",
        "sockets": [
            {"name": "Fake CPU", "vendor": "Fake", "socket": 0, "cores": _CORES}
        ],
        "total": 2,
    },
    "memory": {
        "nodes": [
            {
                "numa_node": 0,
                "hugepages_used": 0,
                "hugepages_total": 0,
                "used": 1 * _GIB,
                "total": 4 * _GIB,
            }
        ],
        "hugepages_total": 0,
        "hugepages_used": 0,
        "hugepages_size": 2097152,
        "used": 1 * _GIB,
        "total": 4 * _GIB,
    },
    **{kind: {"cards": [], "total": 0} for kind in ("gpu", "network")},
    "storage": {"disks": [], "total": 0},
    "usb": {"devices": [], "total": 0},
    "pci": {"devices": [], "total": 0},
    "system": dict.fromkeys(
        ("chassis", "family", "firmware", "motherboard", "product"), {}
    )
    | dict.fromkeys(("serial", "sku", "type", "uuid", "vendor", "version"), ""),
}


@route("GET", r"/1.0/resources")
def _server_resources(fake: FakeLXD, request: FakeRequest) -> Reply:
    if fake.server == "incus":  # Incus 6.0 adds the load average
        load = {"Average1Min": 0.0, "Average5Min": 0.0, "Average10Min": 0.0}
        return fake.sync({**_RESOURCES, "load": {**load, "Processes": 1}})
    return fake.sync(_RESOURCES)


# -- operations --------------------------------------------------------------
@route("GET", r"/1.0/operations")
def _operations(fake: FakeLXD, request: FakeRequest) -> Reply:
    by_status: dict[str, list[Any]] = {}
    for op in fake.operations.values():
        key = op.status.lower()
        by_status.setdefault(key, []).append(
            op.render() if request.recursion else f"/1.0/operations/{op.id}"
        )
    return fake.sync(by_status)


def _op(fake: FakeLXD, op_id: str) -> Any:
    op = fake.operations.get(op_id)
    if op is None:
        raise FakeError(404, "Operation not found")
    return op


@route("GET", r"/1.0/operations/(?P<op_id>[^/]+)")
def _operation(fake: FakeLXD, request: FakeRequest, op_id: str) -> Reply:
    return fake.sync(_op(fake, op_id).render())


def _wait_seconds(request: FakeRequest) -> float | None:
    """``?timeout=`` of a ``/wait``: seconds, or None (-1 or absent: forever)."""
    try:
        timeout = float(request.query.get("timeout", "-1"))
    except ValueError:
        raise FakeError(400, "Invalid timeout") from None
    return None if timeout < 0 else timeout


@route("GET", r"/1.0/operations/(?P<op_id>[^/]+)/wait", locked=False)
def _operation_wait(fake: FakeLXD, request: FakeRequest, op_id: str) -> Reply:
    timeout = _wait_seconds(request)
    with fake.lock:
        op = _op(fake, op_id)
        if op.status == "Running" and op.on_wait is not None:
            op.on_wait()
    if op.status == "Running" and op.done is not None:
        op.done.wait(timeout)  # without the lock: the operation's thread ends it
    with fake.lock:
        return fake.sync(op.render())


@route("DELETE", r"/1.0/operations/(?P<op_id>[^/]+)")
def _operation_cancel(fake: FakeLXD, request: FakeRequest, op_id: str) -> Reply:
    op = _op(fake, op_id)
    if op.status != "Running":
        raise FakeError(403, "Only running operations can be cancelled")
    op.status = "Cancelled"
    op.err = "Operation cancelled"
    return fake.empty()


# -- projects ----------------------------------------------------------------
def _project_view(fake: FakeLXD, record: dict[str, Any]) -> dict[str, Any]:
    name = record["name"]
    used_by = [
        f"/1.0/profiles/{p}?project={name}" for p in fake.store("profiles", name)
    ]
    return {**record, "used_by": used_by}


@route("GET", r"/1.0/projects")
def _projects(fake: FakeLXD, request: FakeRequest) -> Reply:
    projects = fake.store("projects")
    view = functools.partial(_project_view, fake)
    return fake.sync(
        listing(request, "/1.0/projects", projects, view, in_project=False)
    )


@route("POST", r"/1.0/projects")
def _project_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    body = request.json or {}
    name = given_name(body)
    projects = fake.store("projects")
    if name in projects:
        raise FakeError(
            409,
            f'Failed creating project "{name}": Failed adding database record: '
            + wording(
                fake,
                'This "projects" entry already exists',
                'Failed to create "projects" entry: UNIQUE constraint failed: '
                "projects.name",
            ),
        )
    config = dict(body.get("config") or {})
    for feature in _PROJECT_FEATURE_DEFAULTS:  # as LXD: features not given are on
        config.setdefault(feature, "true")
    if fake.server == "incus":  # Incus 6.0 also has per-project buckets
        config.setdefault("features.storage.buckets", "true")
    projects[name] = {
        "name": name,
        "description": body.get("description", ""),
        "config": config,
    }
    if projects[name]["config"].get("features.profiles", "true") == "true":
        fake.store("profiles", name)["default"] = {
            "name": "default",
            "description": f"Default LXD profile for project {name}",
            "config": {},
            "devices": {},
        }
    return fake.sync()


def _project(fake: FakeLXD, name: str) -> dict[str, Any]:
    return lookup(fake.store("projects"), name, "Project not found")


@route("GET", rf"/1.0/projects/{_NAME}")
def _project_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    return fake.sync(_project_view(fake, _project(fake, name)))


@route("GET", rf"/1.0/projects/{_NAME}/state")
def _project_state(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _project(fake, name)
    instances = len(fake.store("instances", name))
    resources = {
        "containers": {"Limit": -1, "Usage": instances},
        "cpu": {"Limit": -1, "Usage": 0},
        "disk": {"Limit": -1, "Usage": 0},
        "instances": {"Limit": -1, "Usage": instances},
        "memory": {"Limit": -1, "Usage": 0},
        "networks": {"Limit": -1, "Usage": 0},
        "processes": {"Limit": -1, "Usage": 0},
        "virtual-machines": {"Limit": -1, "Usage": 0},
    }
    return fake.sync({"resources": resources})


@route("PUT", rf"/1.0/projects/{_NAME}")
def _project_put(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    project = _project(fake, name)
    body = request.json or {}
    project["description"] = body.get("description", "")
    project["config"] = dict(body.get("config") or {})
    return fake.empty()


@route("PATCH", rf"/1.0/projects/{_NAME}")
def _project_patch(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    project = _project(fake, name)
    body = request.json or {}
    if "description" in body:
        project["description"] = body["description"]
    project["config"].update(body.get("config") or {})
    return fake.empty()


@route("POST", rf"/1.0/projects/{_NAME}")
def _project_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _project(fake, name)
    new = given_name(request.json or {})
    if name == "default":
        raise FakeError(403, "The 'default' project cannot be renamed")
    if new in fake.store("projects"):

        def clash() -> None:
            raise FakeError(400, f'A project named "{new}" already exists')

        return fake.run_async("Renaming project", request, clash)
    rename_in(fake.store("projects"), name, new)
    for kind, projects in fake.state.items():
        if kind != "projects" and name in projects:
            projects[new] = projects.pop(name)
    return fake.run_async("Renaming project", request)


@route("DELETE", rf"/1.0/projects/{_NAME}")
def _project_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    _project(fake, name)
    if name == "default":
        raise FakeError(403, "The 'default' project cannot be deleted")
    if fake.store("instances", name):
        raise FakeError(
            400,
            wording(
                fake,
                "Only empty projects can be removed",
                "Only empty projects can be removed.",
            ),
        )
    del fake.store("projects")[name]
    for kind, projects in fake.state.items():
        if kind != "projects":
            projects.pop(name, None)
    return fake.empty()


# -- profiles ----------------------------------------------------------------
def profile_project(fake: FakeLXD, project: str) -> str:
    """The project whose profiles ``project`` uses (``default`` when its
    ``features.profiles`` is off)."""
    config = (fake.store("projects").get(project) or {}).get("config") or {}
    return project if config.get("features.profiles", "true") == "true" else "default"


def profiles_of(fake: FakeLXD, project: str) -> dict[str, Any]:
    """The profiles instances of ``project`` can use (a dict to edit in place)."""
    return fake.store("profiles", profile_project(fake, project))


def _profile_view(
    fake: FakeLXD, project: str, profile: dict[str, Any]
) -> dict[str, Any]:
    view = dict(profile)
    used_by = []
    for other in list(fake.store("projects")):
        if profile_project(fake, other) != project:
            continue
        suffix = "" if other == "default" else f"?project={other}"
        used_by += [
            f"/1.0/instances/{n}{suffix}"
            for n, inst in fake.store("instances", other).items()
            if profile["name"] in inst.get("profiles", ())
        ]
    view["used_by"] = used_by
    if fake.server == "incus":  # Incus 6.0 says which project a profile is in
        view["project"] = project
    return view


#: LXD 5.0.2's answers to a missing profile, by method.
_PROFILE_MISSING = {
    "GET": (404, "Fetch profile: Profile not found"),
    "PUT": (404, 'Failed to retrieve profile "{name}": Profile not found'),
    "PATCH": (404, 'Failed to retrieve profile="{name}": Profile not found'),
    "POST": (500, "Query affected 0 rows instead of 1"),
    "DELETE": (404, "Profile not found"),
}


def _profile(fake: FakeLXD, request: FakeRequest, name: str) -> dict[str, Any]:
    status, message = _PROFILE_MISSING.get(request.method, (404, "Profile not found"))
    profiles = profiles_of(fake, require_project(fake, request))
    return lookup(profiles, name, message.format(name=name), status)


@route("GET", r"/1.0/profiles")
def _profiles(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = profile_project(fake, require_project(fake, request))
    profiles = fake.store("profiles", project)
    return fake.sync(
        listing(
            request,
            "/1.0/profiles",
            profiles,
            lambda p: _profile_view(fake, project, p),
        )
    )


@route("POST", r"/1.0/profiles")
def _profile_create(fake: FakeLXD, request: FakeRequest) -> Reply:
    project = require_project(fake, request)
    body = request.json or {}
    name = given_name(body)
    if "/" in name:
        raise FakeError(400, "Profile names may not contain slashes")
    if name in (".", ".."):
        raise FakeError(400, f"Invalid profile name {name!r}")
    profiles = profiles_of(fake, project)
    if name in profiles:  # LXD 5.0 answers a duplicate with a 500
        raise FakeError(
            500, f'Error inserting "{name}" into database: The profile already exists'
        )
    profiles[name] = {
        "name": name,
        "description": body.get("description", ""),
        "config": dict(body.get("config") or {}),
        "devices": dict(body.get("devices") or {}),
    }
    return fake.sync()


@route("GET", rf"/1.0/profiles/{_NAME}")
def _profile_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    profile = _profile(fake, request, name)
    project = profile_project(fake, request.project)
    return fake.sync(_profile_view(fake, project, profile), etag=str(hash(now())))


@put_and_patch(rf"/1.0/profiles/{_NAME}")
def _profile_update(
    fake: FakeLXD, request: FakeRequest, name: str, merge: bool
) -> Reply:
    profile = _profile(fake, request, name)
    body = request.json or {}
    if not merge or "description" in body:
        profile["description"] = body.get("description", "")
    for field in ("config", "devices"):
        given = dict(body.get(field) or {})
        if merge:
            profile[field].update(given)
        else:
            profile[field] = given
    return fake.empty()


@route("POST", rf"/1.0/profiles/{_NAME}")
def _profile_rename(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    if name == "default":
        raise FakeError(403, 'The "default" profile cannot be renamed')
    _profile(fake, request, name)
    new = (request.json or {}).get("name")
    profiles = profiles_of(fake, request.project)
    if not new:
        raise FakeError(400, "No name provided")
    if new in profiles and fake.server == "incus":
        raise FakeError(409, f'Profile "{new}" already exists')
    if new in profiles:  # LXD 5.0 answers a clash with a 500
        raise FakeError(500, f'Name "{new}" already in use')
    rename_in(profiles, name, new)
    return fake.sync()


@route("DELETE", rf"/1.0/profiles/{_NAME}")
def _profile_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    if name == "default":
        raise FakeError(403, 'The "default" profile cannot be deleted')
    profile = _profile(fake, request, name)
    project = profile_project(fake, request.project)
    if _profile_view(fake, project, profile)["used_by"]:
        raise FakeError(400, "Profile is currently in use")
    del fake.store("profiles", project)[name]
    return fake.empty()

"""Unit tests against the fake presented as Incus 6.0 (``FakeLXD(server="incus")``).

pylxd 2.4.2-style code (``client.containers``) on a server without
``/1.0/containers``; the operations Incus adds over LXD 5.0.2, and their
refusal on LXD 5.0.2, which lacks their API extensions.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import Container, VirtualMachine
from pylxd.testing import FakeLXD
from pylxd.testing._extensions import INCUS_6_0_4_EXTENSIONS

IMAGE = {"type": "image", "alias": "busybox"}


def incus_fake(**kwargs: Any) -> FakeLXD:
    fake = FakeLXD(server="incus", **kwargs)
    fake.add_root_disk()
    fake.add_image("busybox")
    return fake


@pytest.fixture
def fake() -> FakeLXD:
    return incus_fake()


@pytest.fixture
def client(fake: FakeLXD) -> Any:
    return fake.client()


@pytest.fixture
def lxd_client() -> Any:
    return FakeLXD().client()


def wire(fake: FakeLXD) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.path != "/1.0"]


# -- the fake as Incus (item 8) ----------------------------------------------
def test_the_fake_says_it_is_incus_6_0_4(client: Any, fake: FakeLXD) -> None:
    environment = client.host_info["environment"]
    assert (environment["server"], environment["server_version"]) == ("incus", "6.0.4")
    assert client.host_info["api_extensions"] == list(INCUS_6_0_4_EXTENSIONS)
    assert "instances_rebuild" in client.host_info["api_extensions"]
    assert FakeLXD().client().host_info["environment"]["server"] == "lxd"


def test_the_fake_incus_serves_no_typed_collections(client: Any) -> None:
    for path in ("containers", "virtual-machines"):
        with pytest.raises(exceptions.NotFound, match="not found"):
            client.api[path].get()
    with pytest.raises(exceptions.NotFound):
        client.api.containers.c1.state.get()


def test_the_fake_incus_trusts_by_token_only(fake: FakeLXD) -> None:
    client = fake.client()
    with pytest.raises(exceptions.LXDAPIException, match="core.trust_password"):
        client.server.patch_config({"core.trust_password": "secret"})
    token = client.certificates.create_token("c")
    untrusted = incus_fake(trusted=False)
    untrusted.operations.update(fake.operations)  # the token's operation
    body = {"certificate": "", "password": token}
    with pytest.raises(exceptions.Forbidden):
        untrusted.client().api.certificates.post(json=body)


def test_the_fake_incus_shows_an_untrusted_client_an_empty_config() -> None:
    info = incus_fake(trusted=False).client().host_info
    assert set(info) == {
        "api_extensions",
        "api_status",
        "api_version",
        "auth",
        "auth_methods",
        "public",
        "config",
    }
    assert (info["auth"], info["config"]) == ("untrusted", {})
    assert "config" not in FakeLXD(trusted=False).client().host_info


def test_the_fake_refuses_an_unknown_server() -> None:
    with pytest.raises(ValueError, match="'lxd' or 'incus'"):
        FakeLXD(server="docker")


# -- containers and virtual machines on both (item 3) -------------------------
def test_pylxd_style_container_code_runs_on_incus(client: Any, fake: FakeLXD) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    assert isinstance(container, Container)
    container.start(wait=True)
    fake.on_exec(["echo", "hi"], stdout="hi\n")
    assert container.execute(["echo", "hi"]).stdout == "hi\n"
    assert [c.name for c in client.containers.all()] == ["c1"]
    assert client.containers.get("c1").status == "Running"
    assert client.containers.exists("c1") and not client.containers.exists("x")
    container.stop(wait=True)
    container.delete(wait=True)
    assert all(not path.startswith("/1.0/containers") for _, path in wire(fake))
    assert fake.calls("POST", "/1.0/instances")[0].json["type"] == "container"


def test_listing_by_type_filters_on_the_server(client: Any, fake: FakeLXD) -> None:
    client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    fake.requests.clear()
    assert [c.name for c in client.containers.all()] == ["c1"]
    assert [v.name for v in client.virtual_machines.all()] == ["v1"]
    assert [i.name for i in client.instances.all()] == ["c1", "v1"]
    assert [r.query.get("instance-type") for r in fake.calls("GET")] == [
        "container",
        "virtual-machine",
        None,
    ]


def test_get_checks_the_type_incus_ignores_in_the_query(
    client: Any, fake: FakeLXD
) -> None:
    client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    with pytest.raises(
        exceptions.NotFound, match="VirtualMachine 'c1': Instance not found"
    ):
        client.virtual_machines.get("c1")
    assert fake.last("GET", "/1.0/instances/c1").query == {
        "instance-type": "virtual-machine"
    }
    assert client.virtual_machines.exists("c1") is False
    assert isinstance(client.containers.get("c1"), Container)
    assert type(client.instances.get("c1")).__name__ == "Instance"


def test_get_on_lxd_checks_the_type_too(lxd_client: Any) -> None:
    lxd_client.virtual_machines.create(
        {"name": "v1", "source": {"type": "none"}}, wait=True
    )
    assert isinstance(lxd_client.virtual_machines.get("v1"), VirtualMachine)
    with pytest.raises(exceptions.NotFound):
        lxd_client.containers.get("v1")


def test_typed_bulk_state_on_incus_needs_a_project_of_that_type(
    client: Any, fake: FakeLXD
) -> None:
    client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    fake.requests.clear()
    client.containers.set_all_states("start", wait=True)
    assert fake.last("GET", "/1.0/instances").query == {
        "instance-type": "virtual-machine"
    }
    assert fake.last_body("PUT", "/1.0/instances")["state"]["action"] == "start"
    assert client.containers.get("c1").status == "Running"
    client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    fake.requests.clear()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="change v1 too"):
        client.containers.set_all_states("stop")
    assert fake.calls("PUT") == []


# -- what Incus adds (item 7) --------------------------------------------------
def test_rebuild_from_an_image_or_empty(client: Any, fake: FakeLXD) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    image = container.config["volatile.base_image"]
    container.rebuild(wait=True)
    assert fake.last_body("POST", "/1.0/instances/c1/rebuild") == {
        "source": {"type": "none"}
    }
    assert "volatile.base_image" not in client.instances.get("c1").config
    container.rebuild(IMAGE, wait=True)
    assert fake.last_body("POST", "/1.0/instances/c1/rebuild") == {"source": IMAGE}
    assert container.config["volatile.base_image"] == image
    container.start(wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="Container 'c1'.*stopped"):
        container.rebuild(IMAGE, wait=True)


def test_rebuild_refuses_a_bad_source_before_sending(
    client: Any, fake: FakeLXD
) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    fake.requests.clear()
    with pytest.raises(ValueError, match="unknown source type 'bogus'"):
        container.rebuild({"type": "bogus"})
    assert fake.calls("POST") == []


def test_access_of_an_instance_and_a_project(client: Any, fake: FakeLXD) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    entry = {"identifier": "fake-client", "role": "admin", "provider": "tls"}
    assert container.access() == [entry]
    assert container.access()[0].role == "admin"
    assert client.projects.get("default").access() == [entry]
    assert fake.calls("GET", "/1.0/projects/default/access")


def test_exec_output_is_recorded_apart_on_incus(client: Any, fake: FakeLXD) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    container.start(wait=True)
    fake.on_exec(["sh"], stdout="out\n", stderr="err\n")
    result = container.execute(["sh"], record_output=True)
    assert (result.stdout, result.stderr) == ("out\n", "err\n")
    outputs = [r.path for r in fake.calls("GET") if "/exec-output/" in r.path]
    assert len(outputs) == 2 and container.exec_outputs.all() == []  # read, deleted
    from pylxd.testing._fake_incus import exec_outputs

    exec_outputs(fake, "c1", "default")["exec_1.stdout"] = b"kept\n"
    assert container.exec_outputs.all() == ["exec_1.stdout"]
    assert container.exec_outputs.get("exec_1.stdout") == "kept\n"
    target = io.BytesIO()
    assert container.exec_outputs.export("exec_1.stdout", target) == 5
    container.exec_outputs.delete("exec_1.stdout")
    assert container.exec_outputs.all() == []
    with pytest.raises(exceptions.NotFound):
        container.exec_outputs.delete("exec_1.stdout")


def test_debug_memory_of_a_running_vm(client: Any, fake: FakeLXD) -> None:
    vm = client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    vm.start(wait=True)
    target = io.BytesIO()
    size = vm.debug_memory(target, format="elf")
    assert target.getvalue().startswith(b"\x7fELF") and size == len(target.getvalue())
    assert fake.last("GET", "/1.0/instances/v1/debug/memory").query == {"format": "elf"}
    with pytest.raises(exceptions.InvalidArgument, match="'zip'"):
        vm.debug_memory(io.BytesIO(), format="zip")


def test_metadata_configuration_and_network_allocations(
    client: Any, fake: FakeLXD
) -> None:
    assert "instance" in client.server.metadata_configuration()["configs"]
    client.networks.create("br9", config={"ipv4.address": "10.9.0.1/24"})
    allocations = client.networks.allocations()
    (br9,) = [a for a in allocations if a.addresses == "10.9.0.1/24"]
    assert (br9.used_by, br9.type) == ("/1.0/networks/br9", "network")
    assert fake.last("GET", "/1.0/network-allocations").query == {}
    client.networks.allocations(all_projects=True)
    query = fake.last("GET", "/1.0/network-allocations").query
    assert query == {"all-projects": "true"}


def test_cluster_member_state() -> None:
    fake = incus_fake(clustered=True)
    member = fake.client().cluster.members.all()[0]
    state = member.state()
    assert state.sysinfo.logical_cpus == 2 and "default" in state.storage_pools
    assert fake.calls("GET", f"/1.0/cluster/members/{member.server_name}/state")


def _ovn_network(fake: FakeLXD, client: Any) -> Any:
    fake.store("networks")["ovn1"] = {
        "name": "ovn1",
        "type": "ovn",
        "description": "",
        "config": {},
        "managed": True,
        "leases": [],
        "forwards": {},
        "peers": {},
    }
    return client.networks.get("ovn1")


def test_network_load_balancers(client: Any, fake: FakeLXD) -> None:
    network = _ovn_network(fake, client)
    backends = [{"name": "web", "target_address": "10.0.1.2", "target_port": "80"}]
    ports = [{"listen_port": "80", "protocol": "tcp", "target_backend": ["web"]}]
    balancer = network.load_balancers.create(
        "10.0.0.1", description="d", backends=backends, ports=ports
    )
    assert fake.last_body("POST", "/1.0/networks/ovn1/load-balancers") == {
        "listen_address": "10.0.0.1",
        "description": "d",
        "backends": backends,
        "ports": ports,
    }
    assert balancer.backends == backends and balancer.location == ""
    assert list(balancer.state().backend_health) == ["10.0.1.2"]
    balancer.description = "edited"
    balancer.save()
    assert fake.last_body("PUT", "/1.0/networks/ovn1/load-balancers/10.0.0.1") == {
        "description": "edited",
        "config": {},
        "backends": backends,
        "ports": ports,
    }
    assert [b.listen_address for b in network.load_balancers.all()] == ["10.0.0.1"]
    balancer.delete()
    assert network.load_balancers.exists("10.0.0.1") is False


def test_network_integrations(client: Any, fake: FakeLXD) -> None:
    config = {"ovn.northbound_connection": "ssl:192.0.2.1:6641"}
    integration = client.network_integrations.create("region2", config=config)
    assert fake.last_body("POST", "/1.0/network-integrations") == {
        "name": "region2",
        "type": "ovn",
        "config": config,
    }
    assert (integration.type, integration.used_by) == ("ovn", [])
    integration = integration.rename("region3")
    assert [i.name for i in client.network_integrations.all()] == ["region3"]
    integration.patch({"description": "east"})
    assert integration.description == "east"
    integration.delete()
    assert client.network_integrations.exists("region3") is False


def test_storage_buckets_keys_and_backups(client: Any, fake: FakeLXD) -> None:
    pool = client.storage_pools.get("default")
    bucket = pool.buckets.create("b1", description="data")
    assert fake.last_body("POST", "/1.0/storage-pools/default/buckets") == {
        "name": "b1",
        "description": "data",
    }
    assert bucket.s3_url.endswith("/b1") and bucket.project == "default"
    assert [k.name for k in bucket.keys.all()] == ["admin"]
    key = bucket.keys.create("reader", access_key="AK")
    assert fake.last_body("POST", "/1.0/storage-pools/default/buckets/b1/keys") == {
        "name": "reader",
        "role": "read-only",
        "access-key": "AK",
    }
    assert (key.access_key, key.role) == ("AK", "read-only") and key.secret_key
    key.role = "admin"
    key.save()
    body = fake.last_body("PUT", "/1.0/storage-pools/default/buckets/b1/keys/reader")
    assert body == {
        "description": "",
        "role": "admin",
        "access-key": "AK",
        "secret-key": key.secret_key,
    }
    with pytest.raises(ValueError, match="role must be one of"):
        bucket.keys.create("x", role="owner")
    backup = bucket.backups.create("bk1")
    exported = io.BytesIO()
    assert backup.export(exported) == len(exported.getvalue()) > 0
    backup.rename("bk2")
    assert [b.name for b in bucket.backups.all()] == ["bk2"]
    backup.delete()
    key.delete()
    bucket.description = "edited"
    bucket.save()
    assert pool.buckets.get("b1").description == "edited"
    bucket.delete()
    assert pool.buckets.all() == []


def test_storage_bucket_backup_without_a_name_is_the_one_incus_made(
    client: Any, fake: FakeLXD
) -> None:
    bucket = client.storage_pools.get("default").buckets.create("b1")
    bucket.backups.create("daily")
    backups = "/1.0/storage-pools/default/buckets/b1/backups"
    backup = bucket.backups.create(expires_at="2099-01-01T00:00:00Z")
    assert fake.last_body("POST", backups) == {"expires_at": "2099-01-01T00:00:00Z"}
    assert backup.name == "backup1" and backup.bucket is bucket
    assert sorted(b.name for b in bucket.backups.all()) == ["backup1", "daily"]


def test_storage_bucket_backup_named_by_nobody_is_malformed(
    client: Any, fake: FakeLXD
) -> None:
    bucket = client.storage_pools.get("default").buckets.create("b1")
    backups = "/1.0/storage-pools/default/buckets/b1/backups"
    silent = fake.operation("Backing up storage bucket", {"backups": [backups]})
    fake.reply_next(fake.async_reply(silent), "POST", backups)
    with pytest.raises(exceptions.MalformedResponse) as err:
        bucket.backups.create()
    assert "name of the new storage bucket backup of Storage bucket 'b1'" in str(
        err.value
    )
    assert "new since the request: []" in str(err.value)


def test_storage_bucket_backup_name_is_checked_before_sending(
    client: Any, fake: FakeLXD
) -> None:
    bucket = client.storage_pools.get("default").buckets.create("b1")
    fake.requests.clear()
    with pytest.raises(exceptions.InvalidArgument, match="'..' is not allowed"):
        bucket.backups.create("..")
    assert fake.requests == []


# -- on LXD 5.0.2: refused before sending, naming the extension ----------------
@pytest.mark.parametrize(
    "call, extension",
    [
        (lambda c, i: i.rebuild(), "instances_rebuild"),
        (lambda c, i: i.access(), "instance_access"),
        (lambda c, i: i.debug_memory(io.BytesIO()), "instance_debug_memory"),
        (lambda c, i: c.projects.get("default").access(), "project_access"),
        (lambda c, i: c.server.metadata_configuration(), "metadata_configuration"),
        (lambda c, i: c.networks.allocations(), "network_allocations"),
        (lambda c, i: c.network_integrations.all(), "network_integrations"),
        (lambda c, i: c.storage_pools.get("default").buckets.all(), "storage_buckets"),
    ],
)
def test_incus_operations_on_lxd_name_the_missing_extension(
    call: Any, extension: str
) -> None:
    fake = FakeLXD()
    client = fake.client()
    instance = client.instances.create(
        {"name": "c1", "source": {"type": "none"}}, wait=True
    )
    fake.requests.clear()
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match=extension):
        call(client, instance)
    parents = ("/1.0/storage-pools/default", "/1.0/projects/default")
    assert [r for r in fake.requests if r.path not in parents] == []


def test_exec_outputs_on_lxd_point_to_the_logs(lxd_client: Any) -> None:
    instance = lxd_client.instances.create(
        {"name": "c1", "source": {"type": "none"}}, wait=True
    )
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable, match="instance.logs"):
        instance.exec_outputs.all()


# -- every field Incus returns is declared (item 6) ----------------------------
#: Our models and the Incus 6.0.4 definition of what the server returns for them.
MODEL_DEFINITIONS = {
    "Certificate": "Certificate",
    "Cluster": "Cluster",
    "ClusterGroup": "ClusterGroup",
    "ClusterMember": "ClusterMember",
    "Image": "Image",
    "ImageAlias": "ImageAliasesEntry",
    "Instance": "Instance",
    "InstanceBackup": "InstanceBackup",
    "Network": "Network",
    "NetworkACL": "NetworkACL",
    "NetworkForward": "NetworkForward",
    "NetworkIntegration": "NetworkIntegration",
    "NetworkLoadBalancer": "NetworkLoadBalancer",
    "NetworkPeer": "NetworkPeer",
    "NetworkZone": "NetworkZone",
    "NetworkZoneRecord": "NetworkZoneRecord",
    "Operation": "Operation",
    "Profile": "Profile",
    "Project": "Project",
    "Server": "Server",
    "Snapshot": "InstanceSnapshot",
    "StorageBucket": "StorageBucket",
    "StorageBucketBackup": "StorageBucketBackup",
    "StorageBucketKey": "StorageBucketKey",
    "StoragePool": "StoragePool",
    "StorageVolume": "StorageVolume",
    "StorageVolumeBackup": "StorageVolumeBackup",
    "StorageVolumeSnapshot": "StorageVolumeSnapshot",
    "Warning": "Warning",
}
#: Models that are no server object of their own (flavours, or read as a value).
NOT_SERVER_OBJECTS = {"Container", "VirtualMachine", "StorageResources"}
#: Fields a definition lists that the server never sends back.
WRITE_ONLY = {
    # InstancePut/StorageVolumePut's "restore" (omitempty, a request to restore
    # a snapshot): Incus never fills it in what it returns.
    ("Instance", "restore"),
    ("StorageVolume", "restore"),
}


def _declared(cls: type) -> set[str]:
    names = set(getattr(cls, "__attributes__", None) or cls.__slots__)  # type: ignore[attr-defined]
    if cls.__name__ == "StorageBucketKey":  # Incus's hyphenated names
        from pylxd.models.storage_bucket import _KEY_FIELDS

        names |= set(_KEY_FIELDS)
    return names


def test_every_model_is_mapped_to_its_incus_definition() -> None:
    import pylxd.models

    mapped = set(MODEL_DEFINITIONS) | NOT_SERVER_OBJECTS
    assert set(pylxd.models.__all__) - mapped == {
        "ClusterCertificate",  # PUT only
        "ClusterJoinToken",  # a decoded token, not a server object
        "NetworkState",  # a plain dict
    }


@pytest.mark.parametrize("model, definition", sorted(MODEL_DEFINITIONS.items()))
def test_every_field_incus_returns_is_a_declared_attribute(
    model: str, definition: str
) -> None:
    import pylxd.models
    from pylxd import _endpoint_map

    fields = _endpoint_map.load_definitions()[definition]
    cls = getattr(pylxd.models, model)
    missing = {
        field
        for field in fields
        if field not in _declared(cls) and (model, field) not in WRITE_ONLY
    }
    assert missing == set(), f"{model} lacks Incus's {sorted(missing)}"


def test_the_shipped_definitions_are_incus_6_0_4s() -> None:
    from pylxd import _endpoint_map

    definitions = _endpoint_map.load_definitions()
    assert len(definitions) == 204
    assert "s3_url" in definitions["StorageBucket"]
    assert "project" in definitions["Image"]
    header = _endpoint_map.INCUS_DEFINITIONS_FILE.read_text().splitlines()[2]
    assert "8bc620c59016451a0c7f2d312ab9a2612aa294b31fbf77edcc64aeafdeb58ba3" in header


def test_reading_every_object_of_the_fake_incus_warns_about_nothing(
    client: Any, fake: FakeLXD, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    monkeypatch.delenv("PYLXD_WARNINGS", raising=False)
    container = client.containers.create({"name": "c1", "source": IMAGE}, wait=True)
    container.snapshots.create("s1", wait=True)
    pool = client.storage_pools.get("default")
    pool.volumes.create("custom", "v1")
    pool.buckets.create("b1").backups.create("bk1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.instances.all(recursion=2)
        client.containers.get("c1").snapshots.all()
        client.images.all()
        client.profiles.all()
        client.projects.all()
        client.networks.all()
        client.storage_pools.all()
        pool.volumes.all()
        bucket = pool.buckets.get("b1")
        bucket.keys.all()
        bucket.backups.all()
        client.certificates.all()
        client.operations.all()
        client.server.get()

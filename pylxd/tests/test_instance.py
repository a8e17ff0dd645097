"""Unit tests of instances against the fake LXD: listing, creation, state, copy, migration."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models import Container, Instance, VirtualMachine
from pylxd.testing import FakeLXD
from pylxd.testing._fake_images import add_image

FP = "d" * 64
ROOT = {"root": {"type": "disk", "path": "/", "pool": "default"}}
IMAGE = {"type": "image", "alias": "busybox"}
CERT = "-----BEGIN CERTIFICATE-----\nsource\n-----END CERTIFICATE-----\n"


def seeded(**kwargs: Any) -> FakeLXD:
    """A fake LXD with a root disk in the default profile and a busybox image."""
    fake = FakeLXD(**kwargs)
    fake.store("profiles")["default"]["devices"] = dict(ROOT)
    add_image(fake, "default", FP, properties={"os": "busybox"})
    fake.store("image_aliases")["busybox"] = {
        "name": "busybox",
        "description": "",
        "target": FP,
        "type": "container",
    }
    return fake


@pytest.fixture
def lxd() -> FakeLXD:
    return seeded()


def make(client: Any, lxd: FakeLXD, name: str = "c1", **config: Any) -> Any:
    """Create an instance, then forget the requests it took."""
    instance = client.instances.create(
        {"name": name, "source": IMAGE, **config}, wait=True
    )
    lxd.requests.clear()
    return instance


def wire(lxd: FakeLXD) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in lxd.requests]


# -- listing ------------------------------------------------------------------
def test_all_is_one_request_and_status_costs_nothing(client, lxd) -> None:
    for name in ("c1", "c2", "c3"):
        make(client, lxd, name)
    instances = client.instances.all()
    assert [i.status for i in instances] == ["Stopped"] * 3
    assert [i.name for i in instances] == ["c1", "c2", "c3"]
    assert wire(lxd) == [("GET", "/1.0/instances")]
    assert lxd.requests[0].query == {"recursion": "1"}


def test_all_by_type_lists_instances_of_that_type(client, lxd) -> None:
    make(client, lxd, "c1")
    client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    lxd.requests.clear()
    containers = client.containers.all()
    vms = client.virtual_machines.all()
    assert [(type(c).__name__, c.name) for c in containers] == [("Container", "c1")]
    assert [(type(v).__name__, v.name, v.type) for v in vms] == [
        ("VirtualMachine", "v1", "virtual-machine")
    ]
    # /1.0/instances with the type, which LXD 5.0 and Incus (no
    # /1.0/containers) both filter on.
    assert wire(lxd) == [("GET", "/1.0/instances"), ("GET", "/1.0/instances")]
    assert [r.query for r in lxd.requests] == [
        {"recursion": "1", "instance-type": "container"},
        {"recursion": "1", "instance-type": "virtual-machine"},
    ]


def test_all_recursion_0_returns_names_loaded_on_use(client, lxd) -> None:
    make(client, lxd)
    (instance,) = client.instances.all(recursion=0)
    assert wire(lxd) == [("GET", "/1.0/instances")]
    assert lxd.requests[0].query == {"recursion": "0"}
    assert instance.status == "Stopped"  # lazy sync
    assert wire(lxd)[-1] == ("GET", "/1.0/instances/c1")


def test_all_recursion_2_brings_state_and_snapshots(client, lxd) -> None:
    instance = make(client, lxd)
    instance.snapshots.create("s1", wait=True)
    lxd.requests.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # state/snapshots/backups are not unknown
        (full,) = client.instances.all(recursion=2)
    assert full.cached_state.status == "Stopped"
    assert full.cached_state.memory.usage == 0
    assert [s.name for s in full.cached_snapshots] == ["s1"]
    assert full.cached_snapshots[0].instance is full
    assert wire(lxd) == [("GET", "/1.0/instances")]
    assert client.instances.get("c1").cached_state is None


def test_all_fields_fall_back_as_in_pylxd(client, lxd) -> None:
    # LXD 5.0.2 lacks instances_state_selective_recursion: a plain recursion=2.
    assert "instances_state_selective_recursion" not in lxd.extensions
    client.instances.all(recursion=2, fields=["state.network"])
    assert lxd.last("GET", "/1.0/instances").query["recursion"] == "2"
    # fields without recursion=2 are ignored, as pylxd does.
    client.instances.all(fields=["state.network"])
    assert lxd.last("GET", "/1.0/instances").query["recursion"] == "1"
    lxd.requests.clear()
    with pytest.raises(exceptions.InvalidArgumentType, match="list of field names"):
        client.instances.all(recursion=2, fields="state.network")
    with pytest.raises(exceptions.InvalidArgument, match="recursion must be"):
        client.instances.all(recursion=3)
    assert lxd.requests == []


def test_all_fields_with_the_extension() -> None:
    fake = seeded()
    fake.extensions.append("instances_state_selective_recursion")
    client = fake.client()
    make(client, fake)
    (instance,) = client.instances.all(recursion=2, fields=["state.network"])
    assert fake.last("GET", "/1.0/instances").query == {
        "recursion": "2;fields=state.network"
    }
    assert instance.cached_state.disk is None


def test_all_filter_is_passed_to_lxd(client, lxd) -> None:
    make(client, lxd, "c1")
    make(client, lxd, "c2")
    found = client.instances.all(filter="name eq c2")
    assert [i.name for i in found] == ["c2"]
    assert lxd.last("GET", "/1.0/instances").query == {
        "recursion": "1",
        "filter": "name eq c2",
    }


def test_get_exists_and_not_found(client, lxd) -> None:
    make(client, lxd)
    instance = client.instances.get("c1")
    assert (instance.name, instance.type, instance.profiles) == (
        "c1",
        "container",
        ["default"],
    )
    assert instance.expanded_devices == ROOT
    assert client.instances.exists("c1") is True
    assert client.instances.exists("nope") is False
    with pytest.raises(exceptions.NotFound, match="Instance not found"):
        client.instances.get("nope")


def test_attributes_and_unknown_fields(client, lxd, monkeypatch) -> None:
    make(client, lxd)
    lxd.store("instances")["c1"]["new_field"] = 1
    monkeypatch.setenv("PYLXD_WARNINGS", "none")
    instance = client.instances.get("c1")
    assert instance.new_field == 1
    assert instance.location is None  # LXD's "none" off a cluster, as pylxd
    assert instance.project == "default"
    assert instance.stateful is False
    assert instance.status_code == 102
    assert repr(instance) == "Instance(name='c1')"


# -- creation -----------------------------------------------------------------
def test_create_sends_the_config_and_returns_a_lazy_instance(client, lxd) -> None:
    config = {"name": "c1", "source": IMAGE, "config": {"limits.cpu": "1"}}
    instance = client.instances.create(config, wait=True)
    assert lxd.last_body("POST", "/1.0/instances") == config
    assert len(lxd.calls("GET", "/1.0/instances/c1")) == 0
    assert isinstance(instance, Instance) and instance.name == "c1"
    assert instance.config["limits.cpu"] == "1"
    assert instance.config["volatile.base_image"] == FP
    assert config == {"name": "c1", "source": IMAGE, "config": {"limits.cpu": "1"}}


def test_create_without_wait_does_not_wait(client, lxd) -> None:
    client.instances.create({"name": "c1", "source": {"type": "none"}})
    assert wire(lxd)[1:] == [("POST", "/1.0/instances")]


def test_container_and_vm_create_set_the_type(client, lxd) -> None:
    container = client.containers.create({"name": "c1", "source": IMAGE})
    vm = client.virtual_machines.create({"name": "v1", "source": IMAGE})
    assert isinstance(container, Container) and isinstance(vm, VirtualMachine)
    bodies = [r.json for r in lxd.calls("POST", "/1.0/instances")]
    assert bodies[0] == {"name": "c1", "source": IMAGE, "type": "container"}
    assert bodies[1] == {
        "name": "v1",
        "source": IMAGE,
        "type": "virtual-machine",
    }
    # The caller's type is kept (pylxd), through /1.0/instances.
    client.containers.create({"name": "x", "source": IMAGE, "type": "virtual-machine"})
    assert lxd.last_body("POST", "/1.0/instances") == {
        "name": "x",
        "source": IMAGE,
        "type": "virtual-machine",
    }
    assert client.instances.get("x").type == "virtual-machine"


def test_create_with_a_target_member() -> None:
    from pylxd.testing._fake_cluster import add_cluster_member

    fake = seeded(clustered=True)
    add_cluster_member(fake, "node2")
    client = fake.client()
    config = {"name": "c1", "source": IMAGE}
    instance = client.instances.create(config, wait=True, target="node2")
    assert fake.last("POST", "/1.0/instances").query == {"target": "node2"}
    assert fake.last_body("POST", "/1.0/instances") == config
    assert instance.location == "node2"
    other = client.instances.create({"name": "c2", "source": IMAGE}, wait=True)
    assert other.location == "fake"


def test_create_with_a_target_on_a_standalone_server(client, lxd) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="only allowed when clustered"):
        client.instances.create({"name": "c1", "source": IMAGE}, target="node2")
    assert not client.instances.exists("c1")


def test_create_without_a_name_returns_the_name_lxd_picked(client, lxd) -> None:
    instance = client.instances.create({"source": IMAGE}, wait=True)
    assert instance.name.startswith("fake-")
    assert client.instances.exists(instance.name)


@pytest.mark.parametrize(
    "config, error, message",
    [
        ("c1", TypeError, "config must be a dict, not str"),
        ({"name": "1c", "source": IMAGE}, ValueError, "must not start with a number"),
        ({"name": "a_b", "source": IMAGE}, ValueError, "alphanumeric and hyphen"),
        ({"name": "a-", "source": IMAGE}, ValueError, 'not end with "-"'),
        ({"name": "c1"}, ValueError, r"config\['source'\] must be a dict"),
        (
            {"name": "c1", "source": {"type": "bogus"}},
            ValueError,
            "unknown source type",
        ),
        (
            {"name": "c1", "source": {"type": "image"}},
            ValueError,
            "alias or fingerprint",
        ),
        ({"name": "c1", "source": {"type": "copy"}}, ValueError, "needs source"),
    ],
)
def test_create_checks_the_config_before_sending(
    client, lxd, config, error, message
) -> None:
    with pytest.raises(error, match=message):
        client.instances.create(config, wait=True)
    assert lxd.calls("POST") == []


def test_create_of_an_existing_name_is_a_conflict(client, lxd) -> None:
    make(client, lxd)
    with pytest.raises(exceptions.Conflict, match='"instances" entry already exists'):
        client.instances.create({"name": "c1", "source": {"type": "none"}}, wait=True)


def test_create_from_a_missing_alias_raises_lxds_message(client, lxd) -> None:
    with pytest.raises(exceptions.NotFound, match="Image alias not found"):
        client.instances.create(
            {"name": "c1", "source": {"type": "image", "alias": "x"}}
        )
    assert not client.instances.exists("c1")


def test_create_from_a_fingerprint(client, lxd) -> None:
    source = {"type": "image", "fingerprint": FP[:12]}
    instance = client.instances.create({"name": "c1", "source": source}, wait=True)
    assert instance.config["image.os"] == "busybox"


def test_local_copy_gets_the_source_profiles(client, lxd) -> None:
    lxd.store("profiles")["extra"] = {
        "name": "extra",
        "description": "",
        "config": {"user.x": "1"},
        "devices": {},
    }
    make(client, lxd, profiles=["default", "extra"])
    source = {"type": "copy", "source": "c1"}
    copy = client.instances.create({"name": "c2", "source": source}, wait=True)
    assert wire(lxd) == [
        ("GET", "/1.0/instances/c1"),
        ("POST", "/1.0/instances"),
        ("GET", f"/1.0/operations/{lxd.requests[-1].path.split('/')[-2]}/wait"),
    ]
    assert lxd.last_body("POST", "/1.0/instances") == {
        "name": "c2",
        "source": source,
        "profiles": ["default", "extra"],
    }
    assert copy.profiles == ["default", "extra"]
    assert copy.expanded_config["user.x"] == "1"


def test_copy_of_a_snapshot_reads_the_snapshot_profiles(client, lxd) -> None:
    make(client, lxd).snapshots.create("s1", wait=True)
    lxd.requests.clear()
    source = {"type": "copy", "source": "c1/s1"}
    client.instances.create({"name": "c2", "source": source}, wait=True)
    assert wire(lxd)[0] == ("GET", "/1.0/instances/c1/snapshots/s1")
    assert lxd.last_body("POST", "/1.0/instances")["profiles"] == ["default"]


def test_copy_without_profiles_fails_like_lxd(client, lxd) -> None:
    make(client, lxd)
    config = {"name": "c2", "source": {"type": "copy", "source": "c1"}, "profiles": []}
    with pytest.raises(
        exceptions.LXDAPIException, match="No root device could be found"
    ):
        client.instances.create(config, wait=True)
    assert not client.instances.exists("c2")


# -- the object ----------------------------------------------------------------
def test_rename(client, lxd) -> None:
    instance = make(client, lxd)
    instance.rename("c2", wait=True)
    assert instance.name == "c2"
    assert lxd.last_body("POST", "/1.0/instances/c1") == {"name": "c2"}
    assert client.instances.exists("c2") and not client.instances.exists("c1")
    with pytest.raises(ValueError, match="invalid instance name 'a b'"):
        instance.rename("a b")


def test_rename_errors_carry_lxds_message(client, lxd) -> None:
    instance = make(client, lxd)
    make(client, lxd, "c2")
    with pytest.raises(exceptions.Conflict, match='Name "c2" already in use'):
        instance.rename("c2")
    instance.start(wait=True)
    with pytest.raises(
        exceptions.LXDAPIException, match="Renaming of running container"
    ):
        instance.rename("c3", wait=True)
    assert instance.name == "c1"


def test_save_puts_the_writable_fields(client, lxd) -> None:
    instance = client.instances.get(make(client, lxd).name)
    instance.config["limits.memory"] = "1GB"
    instance.description = "web"
    assert instance.dirty
    instance.save(wait=True)
    assert lxd.last_body("PUT", "/1.0/instances/c1") == {
        "architecture": "x86_64",
        "config": {
            "image.os": "busybox",
            "volatile.base_image": FP,
            "limits.memory": "1GB",
        },
        "devices": {},
        "ephemeral": False,
        "description": "web",
        "profiles": ["default"],
    }
    assert not instance.dirty
    assert client.instances.get("c1").config["limits.memory"] == "1GB"


def test_delete(client, lxd) -> None:
    instance = make(client, lxd)
    instance.delete(wait=True)
    assert wire(lxd)[0] == ("DELETE", "/1.0/instances/c1")
    assert not client.instances.exists("c1")


def test_delete_running_raises_lxds_message(client, lxd) -> None:
    instance = make(client, lxd)
    instance.start(wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="Instance is running"):
        instance.delete()


def test_state(client, lxd) -> None:
    instance = make(client, lxd)
    instance.start(wait=True)
    state = instance.state()
    assert (state.status, state.status_code, state.pid > 0) == ("Running", 103, True)
    assert state["network"]["lo"]["state"] == "up"
    assert wire(lxd)[-1] == ("GET", "/1.0/instances/c1/state")


def test_start_stop_cycle_costs_eight_requests(client, lxd) -> None:
    lxd.requests.clear()
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    instance.start(wait=True)
    assert (instance.status, instance.status_code) == ("Running", 103)
    instance.stop(wait=True)
    assert (instance.status, instance.status_code) == ("Stopped", 102)
    instance.delete(wait=True)
    methods = [(r.method, r.path.rsplit("/", 1)[-1]) for r in lxd.requests]
    assert methods == [
        ("POST", "instances"),
        ("GET", "wait"),
        ("PUT", "state"),
        ("GET", "wait"),
        ("PUT", "state"),
        ("GET", "wait"),
        ("DELETE", "c1"),
        ("GET", "wait"),
    ]


@pytest.mark.parametrize(
    "action, status, code",
    [
        ("start", "Running", 103),
        ("restart", "Running", 103),
        ("freeze", "Frozen", 110),
        ("unfreeze", "Running", 103),
        ("stop", "Stopped", 102),
    ],
)
def test_state_actions_send_lxds_body(client, lxd, action, status, code) -> None:
    instance = make(client, lxd)
    if action != "start":
        instance.start(wait=True)
    if action == "unfreeze":
        instance.freeze(wait=True)
    getattr(instance, action)(timeout=10, force=False, wait=True)
    assert lxd.last_body("PUT", "/1.0/instances/c1/state") == {
        "action": action,
        "timeout": 10,
        "force": False,
    }
    assert (instance.status, instance.status_code) == (status, code)
    assert client.instances.get("c1").status == status


def test_state_change_defaults(client, lxd) -> None:
    instance = make(client, lxd)
    instance.start()
    assert lxd.last_body("PUT", "/1.0/instances/c1/state") == {
        "action": "start",
        "timeout": 30,
        "force": True,
    }
    assert wire(lxd) == [("PUT", "/1.0/instances/c1/state")]


@pytest.mark.parametrize(
    "action, message",
    [
        ("stop", "The instance is already stopped"),
        ("restart", "The instance is already stopped"),
        ("freeze", "The container isn't running"),
        ("unfreeze", "The container isn't running"),
    ],
)
def test_failed_state_changes_raise_lxds_message(client, lxd, action, message) -> None:
    instance = make(client, lxd)
    with pytest.raises(exceptions.LXDAPIException, match=message):
        getattr(instance, action)(wait=True)
    assert instance._raw_attr("status") is None  # nothing was assumed


def test_start_twice_fails(client, lxd) -> None:
    instance = make(client, lxd)
    instance.start(wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="already running"):
        instance.start(wait=True)
    instance.freeze(wait=True)
    with pytest.raises(exceptions.LXDAPIException, match="already frozen"):
        instance.freeze(wait=True)


def test_stopping_an_ephemeral_instance_deletes_it(client, lxd) -> None:
    make(client, lxd, ephemeral=True)
    instance = client.instances.get("c1")
    instance.start(wait=True)
    instance.stop(wait=True)
    assert instance.client is None
    assert not client.instances.exists("c1")


def test_restore_snapshot(client, lxd) -> None:
    instance = make(client, lxd)
    instance.snapshots.create("s1", wait=True)
    instance.config = {**client.instances.get("c1").config, "user.a": "1"}
    instance.save(wait=True)
    response = instance.restore_snapshot("s1", wait=True)
    assert response.status_code == 202
    assert lxd.last_body("PUT", "/1.0/instances/c1") == {
        "restore": "s1",
        "stateful": False,
    }
    assert "user.a" not in client.instances.get("c1").config
    with pytest.raises(exceptions.LXDAPIException, match="c1/nope does not exist"):
        instance.restore_snapshot("nope", wait=True)


def test_publish_returns_the_image_when_waited(client, lxd) -> None:
    instance = make(client, lxd)
    image = instance.publish(
        public=True, wait=True, aliases=["web"], properties={"os": "x"}
    )
    assert lxd.last_body("POST", "/1.0/images") == {
        "public": True,
        "source": {"type": "instance", "name": "c1"},
        "aliases": [{"name": "web"}],
        "properties": {"os": "x"},
    }
    assert image.fingerprint in lxd.store("images")
    assert instance.publish() is None
    assert lxd.last_body("POST", "/1.0/images") == {
        "public": False,
        "source": {"type": "instance", "name": "c1"},
    }


def test_publish_failure_raises_lxds_message(client, lxd) -> None:
    instance = make(client, lxd)
    lxd.fail_next(
        400, "Cannot export a running instance as an image", "POST", "/1.0/images"
    )
    with pytest.raises(exceptions.LXDAPIException, match="Cannot export a running"):
        instance.publish(wait=True)


def test_files_manager_is_built_lazily(client, lxd) -> None:
    from pylxd.models import files

    instance = client.instances.get(make(client, lxd).name)
    assert isinstance(instance.files, files.FilesManager)
    assert instance.files is instance.files
    assert Instance.FilesManager is files.FilesManager


# -- copy and migration between servers ---------------------------------------
@pytest.fixture
def target() -> FakeLXD:
    return seeded()


def local_source(client: Any, address: str = "127.0.0.1:8443") -> Any:
    """A (fake) local client whose server listens on HTTPS at ``address``."""
    env = client.host_info["environment"]
    env["addresses"] = [address] if address else []
    env["certificate"] = CERT
    return client


def test_generate_migration_data_for_a_local_source(client, lxd) -> None:
    local_source(client)
    make(client, lxd, config={"volatile.eth0.hwaddr": "00:16:3e:00:00:01"})
    instance = client.instances.get("c1")
    lxd.requests.clear()
    data = instance.generate_migration_data()
    assert wire(lxd) == [("GET", "/1.0/instances/c1"), ("POST", "/1.0/instances/c1")]
    assert lxd.last_body("POST", "/1.0/instances/c1") == {
        "migration": True,
        "live": False,
    }
    op = lxd.operations[data["source"]["operation"].rsplit("/", 1)[-1]]
    assert data == {
        "name": "c1",
        "architecture": "x86_64",
        "type": "container",
        "config": {
            "image.os": "busybox",
            "volatile.base_image": FP,
            "volatile.eth0.hwaddr": "00:16:3e:00:00:01",
        },
        "devices": {},
        "ephemeral": False,
        "profiles": ["default"],
        "description": "",
        "source": {
            "type": "migration",
            "mode": "pull",
            "operation": f"https://127.0.0.1:8443/1.0/operations/{op.id}",
            "certificate": CERT,
            "secrets": op.metadata,
        },
        "epehemeral": False,  # pylxd's legacy keys
        "default": ["default"],
    }
    assert set(op.metadata) == {"control", "fs"}
    assert (op.status, op.op_class) == ("Running", "websocket")


def test_generate_migration_data_live(client, lxd) -> None:
    local_source(client)
    instance = make(client, lxd)
    instance.start(wait=True)
    data = instance.generate_migration_data(live=True)
    assert lxd.last_body("POST", "/1.0/instances/c1") == {
        "migration": True,
        "live": True,
    }
    assert data["source"]["live"] is True
    assert set(data["source"]["secrets"]) == {"control", "fs", "criu"}


def test_generate_migration_data_over_https_uses_the_client_url() -> None:
    fake = seeded()
    fake.base_url = "https://lxd.test"
    client = fake.client(verify=False)
    make(client, fake)
    data = client.instances.get("c1").generate_migration_data()
    assert data["source"]["operation"].startswith("https://lxd.test/1.0/operations/")


def test_a_local_source_without_https_address_is_refused_first(client, lxd) -> None:
    local_source(client, address="")
    instance = client.instances.get(make(client, lxd).name)
    lxd.requests.clear()
    with pytest.raises(ValueError, match="set core.https_address"):
        instance.generate_migration_data()
    assert lxd.calls("POST") == []


def test_migrate_moves_the_instance(client, lxd, target) -> None:
    local_source(client)
    make(client, lxd).snapshots.create("s1", wait=True)
    instance = client.containers.get("c1")
    new_client = target.client()
    moved = instance.migrate(new_client, wait=True)
    assert isinstance(moved, Container) and moved.client is new_client
    body = target.last_body("POST", "/1.0/instances")
    assert body["source"]["type"] == "migration" and body["type"] == "container"
    assert body["profiles"] == ["default"]
    assert moved.config["volatile.base_image"] == FP
    assert [s.name for s in moved.snapshots.all()] == ["s1"]
    assert not client.instances.exists("c1")
    assert instance.client is None
    (op,) = [o for o in lxd.operations.values() if o.op_class == "websocket"]
    assert [(r.method, r.path) for r in lxd.requests][-4:-1] == [
        ("GET", f"/1.0/operations/{op.id}/wait"),  # the source ended too
        ("DELETE", "/1.0/instances/c1"),
        ("GET", lxd.requests[-2].path),
    ]


def test_migrate_of_a_running_instance_is_live_as_in_pylxd(client, lxd, target) -> None:
    local_source(client)
    instance = make(client, lxd)
    instance.start(wait=True)
    moved = instance.migrate(target.client(), wait=True)
    assert lxd.last_body("POST", "/1.0/instances/c1") == {
        "migration": True,
        "live": True,
    }
    assert moved.name == "c1" and not client.instances.exists("c1")
    with pytest.raises(exceptions.InvalidArgument, match="already on that server"):
        moved.migrate(moved.client)


def test_migrate_live(client, lxd, target) -> None:
    local_source(client)
    instance = make(client, lxd)
    instance.start(wait=True)
    moved = instance.migrate(target.client(), live=True, wait=True)
    assert lxd.last_body("POST", "/1.0/instances/c1") == {
        "migration": True,
        "live": True,
    }
    assert target.last_body("POST", "/1.0/instances")["source"]["live"] is True
    assert moved.name == "c1" and not client.instances.exists("c1")


def test_copy_to_another_server_keeps_the_source(client, lxd, target) -> None:
    local_source(client)
    make(client, lxd, config={"volatile.eth0.hwaddr": "x", "user.a": "1"})
    make(client, lxd, "c1x")
    client.instances.get("c1").snapshots.create("s1", wait=True)
    new_client = target.client()
    copy = client.instances.get("c1").copy(
        new_client, name="c9", instance_only=True, wait=True
    )
    assert copy.name == "c9" and copy.client is new_client
    assert lxd.last_body("POST", "/1.0/instances/c1") == {
        "migration": True,
        "live": False,
        "instance_only": True,
    }
    body = target.last_body("POST", "/1.0/instances")
    assert body["name"] == "c9"
    assert body["config"] == {
        "image.os": "busybox",
        "volatile.base_image": FP,
        "user.a": "1",
    }
    assert body["source"]["instance_only"] is True
    assert copy.snapshots.all() == []
    assert client.instances.exists("c1")


def test_copy_on_the_same_client_is_a_local_copy(client, lxd) -> None:
    instance = client.instances.get(make(client, lxd).name)
    copy = instance.copy(client, "c2", wait=True)
    assert lxd.last_body("POST", "/1.0/instances") == {
        "name": "c2",
        "source": {"type": "copy", "source": "c1"},
        "profiles": ["default"],
    }
    assert copy.name == "c2" and client.instances.exists("c1")


def test_a_failed_target_cancels_the_source(client, lxd, target) -> None:
    local_source(client)
    instance = client.instances.get(make(client, lxd).name)
    target.fail_next(403, "Certificate is restricted", "POST", "/1.0/instances")
    with pytest.raises(exceptions.Forbidden, match="Certificate is restricted"):
        instance.copy(target.client(), wait=True)
    (op,) = [o for o in lxd.operations.values() if o.op_class == "websocket"]
    assert op.status == "Cancelled"
    assert ("DELETE", f"/1.0/operations/{op.id}") in wire(lxd)


def test_a_bad_pull_fails_with_a_message(client, lxd, target) -> None:
    data = {
        "name": "c1",
        "source": {
            "type": "migration",
            "mode": "pull",
            "operation": "https://127.0.0.1:8443/1.0/operations/nope",
            "secrets": {"control": "x", "fs": "y"},
        },
        "profiles": ["default"],
    }
    with pytest.raises(exceptions.LXDAPIException, match="bad handshake"):
        target.client().instances.create(data, wait=True)


# -- virtual machines (cannot run on the test machines: the exact requests) ---
def test_virtual_machine_requests_go_to_instances(client, lxd) -> None:
    vm = client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    vm.start(wait=True)
    assert vm.state().status == "Running"
    vm.snapshots.create("s1", wait=True)
    vm.stop(force=True, wait=True)
    vm.rename("v2", wait=True)
    vm.delete(wait=True)
    assert [(r.method, r.path) for r in lxd.requests if r.path != "/1.0"] == [
        ("POST", "/1.0/instances"),
        ("GET", lxd.requests[2].path),
        ("PUT", "/1.0/instances/v1/state"),
        ("GET", lxd.requests[4].path),
        ("GET", "/1.0/instances/v1/state"),
        ("POST", "/1.0/instances/v1/snapshots"),
        ("GET", lxd.requests[7].path),
        ("PUT", "/1.0/instances/v1/state"),
        ("GET", lxd.requests[9].path),
        ("POST", "/1.0/instances/v1"),
        ("GET", lxd.requests[11].path),
        ("DELETE", "/1.0/instances/v2"),
        ("GET", lxd.requests[13].path),
    ]
    assert lxd.last_body("PUT", "/1.0/instances/v1/state") == {
        "action": "stop",
        "timeout": 30,
        "force": True,
    }


def test_virtual_machines_do_not_see_containers(client, lxd) -> None:
    make(client, lxd)
    assert client.virtual_machines.all() == []
    assert client.virtual_machines.exists("c1") is False
    with pytest.raises(exceptions.NotFound):
        client.virtual_machines.get("c1")
    assert client.instances.get("c1").type == "container"


def test_generic_instances_create_virtual_machines_by_type(client, lxd) -> None:
    config = {"name": "v1", "source": IMAGE, "type": "virtual-machine"}
    instance = client.instances.create(config, wait=True)
    assert lxd.last_body("POST", "/1.0/instances") == config
    assert isinstance(client.virtual_machines.get("v1"), VirtualMachine)
    assert instance.type == "virtual-machine"


def test_migrating_a_virtual_machine_keeps_its_type(client, lxd, target) -> None:
    local_source(client)
    client.virtual_machines.create({"name": "v1", "source": IMAGE}, wait=True)
    vm = client.virtual_machines.get("v1")
    moved = vm.migrate(target.client(), wait=True)
    assert isinstance(moved, VirtualMachine)
    body = target.last_body("POST", "/1.0/instances")
    assert body["type"] == "virtual-machine" and body["source"]["mode"] == "pull"


def test_fake_moves_instances_between_cluster_members() -> None:
    from pylxd.testing._fake_cluster import add_cluster_member

    fake = seeded(clustered=True)
    add_cluster_member(fake, "node2")
    client = fake.client()
    instance = client.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    node = client.api.instances["c1"]
    move = {"name": "c1", "migration": True}
    response = node.post(json=move, target="node2")
    client.operations.wait_for_operation(response.json()["operation"])
    assert client.instances.get("c1").location == "node2"
    instance.start(wait=True)
    response = node.post(json=move, target="fake")
    with pytest.raises(exceptions.LXDAPIException, match="moved statelessly"):
        client.operations.wait_for_operation(response.json()["operation"])
    with pytest.raises(exceptions.NotFound, match="Cluster member not found"):
        node.post(json=move, target="nowhere")


def test_instances_follow_the_client_project(client, lxd) -> None:
    client.projects.create("p", config={"features.images": "false"})
    scoped = lxd.client(project="p")
    scoped.instances.create({"name": "c1", "source": IMAGE}, wait=True)
    assert lxd.last("POST", "/1.0/instances").query == {"project": "p"}
    assert [i.name for i in scoped.instances.all(recursion=0)] == ["c1"]
    assert scoped.instances.get("c1").project == "p"
    assert client.instances.all() == []
    scoped.instances.get("c1").snapshots.create("s1", wait=True)
    assert lxd.last("POST", "/1.0/instances/c1/snapshots").query == {"project": "p"}


def test_fake_publish_source_helper(client, lxd) -> None:
    from pylxd.testing import FakeError
    from pylxd.testing._fake_instances import publish_source

    instance = make(client, lxd)
    instance.snapshots.create("s1", wait=True)
    assert publish_source(lxd, "default", {"name": "c1"})["name"] == "c1"
    assert publish_source(lxd, "default", {"name": "c1/s1"})["name"] == "s1"
    instance.start(wait=True)
    with pytest.raises(FakeError, match="Cannot export a running instance"):
        publish_source(lxd, "default", {"name": "c1"})
    with pytest.raises(FakeError, match="Snapshot not found"):
        publish_source(lxd, "default", {"name": "c1/s9"})


def test_save_keeps_the_servers_volatile_keys_a_new_config_drops(fake) -> None:  # type: ignore[no-untyped-def]
    client = fake.client()
    client.instances.create({"name": "c1", "source": {"type": "none"}}, wait=True)
    fake.store("instances")["c1"]["config"]["volatile.idmap.base"] = "0"
    instance = client.instances.get("c1")
    instance.config = {"user.a": "1"}
    instance.save(wait=True)
    body = fake.last_body("PUT", "/1.0/instances/c1")
    assert body["config"]["user.a"] == "1"
    assert body["config"]["volatile.idmap.base"] == "0"

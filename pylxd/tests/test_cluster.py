"""Unit tests of clustering: cluster, members, groups, join tokens, certificate."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.models.cluster import ClusterJoinToken
from pylxd.testing import FakeLXD
from pylxd.testing._fake_cluster import FAKE_FINGERPRINT, add_cluster_member

PEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN EC PRIVATE KEY-----\nBBBB\n-----END EC PRIVATE KEY-----\n"


@pytest.fixture
def lxd() -> FakeLXD:
    fake = FakeLXD(clustered=True)
    add_cluster_member(fake, "c2", roles=["database-standby"])
    return fake


@pytest.fixture
def standalone() -> FakeLXD:
    return FakeLXD()


# -- the cluster ---------------------------------------------------------------
def test_get_reads_the_cluster(client: Any, lxd: FakeLXD) -> None:
    cluster = client.cluster.get()
    assert (cluster.server_name, cluster.enabled, cluster.member_config) == (
        "fake",
        True,
        [],
    )
    assert repr(cluster) == "Cluster(server_name='fake')"
    assert [(r.method, r.path) for r in lxd.requests[1:]] == [("GET", "/1.0/cluster")]


def test_standalone_server_is_not_enabled(standalone: FakeLXD) -> None:
    cluster = standalone.client().cluster.get()
    assert (cluster.server_name, cluster.enabled) == ("", False)
    with pytest.raises(exceptions.LXDAPIException, match="Server is not clustered"):
        cluster.members.all()


def test_enable_bootstraps_a_cluster(standalone: FakeLXD) -> None:
    standalone.config["core.https_address"] = "127.0.0.1:8443"
    client = standalone.client()
    cluster = client.cluster.get().enable("node1")
    assert standalone.last_body("PUT", "/1.0/cluster") == {
        "server_name": "node1",
        "enabled": True,
    }
    assert (cluster.server_name, cluster.enabled) == ("node1", True)
    assert [m.server_name for m in cluster.members.all()] == ["node1"]
    assert client.cluster.members.get("node1").url == "https://127.0.0.1:8443"


def test_enable_without_an_https_address_fails_with_lxds_message(
    standalone: FakeLXD,
) -> None:
    cluster = standalone.client().cluster.get()
    with pytest.raises(exceptions.LXDAPIException, match="wildcard core.https_address"):
        cluster.enable("node1")
    assert cluster.enabled is False


def test_enable_needs_a_server_name(standalone: FakeLXD) -> None:
    cluster = standalone.client().cluster.get()
    sent = len(standalone.requests)
    with pytest.raises(exceptions.InvalidArgument, match="Cluster member name ''"):
        cluster.enable()
    assert len(standalone.requests) == sent


def test_enable_on_a_cluster_reports_the_failed_operation(client: Any) -> None:
    with pytest.raises(
        exceptions.LXDAPIException, match="leftover cluster certificate"
    ):
        client.cluster.get().enable()


def test_enable_without_wait_returns_at_once(standalone: FakeLXD) -> None:
    standalone.config["core.https_address"] = "127.0.0.1:8443"
    standalone.client().cluster.get().enable("n1", wait=False)
    assert not standalone.calls("GET", "/1.0/cluster")[1:]
    assert not [r for r in standalone.requests if r.path.endswith("/wait")]


def test_save_puts_the_cluster_configuration(client: Any, lxd: FakeLXD) -> None:
    cluster = client.cluster.get()
    cluster.enabled = False
    cluster.save()
    assert lxd.last_body("PUT", "/1.0/cluster") == {
        "server_name": "fake",
        "enabled": False,
        "member_config": [],
    }
    assert client.cluster.get().enabled is False


# -- joining -------------------------------------------------------------------
def _token(**fields: Any) -> str:
    data = {
        "server_name": "n2",
        "fingerprint": "ab",
        "addresses": ["10.0.0.1:8443"],
        "secret": "s",
        "expires_at": "2030-01-01T00:00:00Z",
        **fields,
    }
    return base64.b64encode(json.dumps(data).encode()).decode()


def test_join_sends_what_lxd_init_sends(standalone: FakeLXD) -> None:
    token = _token()
    cluster = standalone.client().cluster.get()
    cluster.join(
        token,
        "127.0.0.1:8444",
        cluster_certificate=PEM,
        member_config=[
            {"entity": "storage-pool", "name": "default", "key": "source", "value": ""}
        ],
    )
    assert standalone.last_body("PUT", "/1.0/cluster") == {
        "server_name": "n2",
        "enabled": True,
        "server_address": "127.0.0.1:8444",
        "cluster_address": "10.0.0.1:8443",
        "cluster_certificate": PEM,
        "cluster_password": token,
        "cluster_token": token,
        "member_config": [
            {"entity": "storage-pool", "name": "default", "key": "source", "value": ""}
        ],
    }
    assert (cluster.enabled, cluster.server_name) == (True, "n2")


@pytest.mark.parametrize("server", ["lxd", "incus"])
def test_join_works_on_lxd_and_incus(server: str) -> None:
    # LXD 5.0 reads the token only from cluster_password, Incus only from
    # cluster_token: join() sends both
    fake = FakeLXD(server=server)
    cluster = fake.client().cluster.get()
    cluster.join(_token(), "127.0.0.1:8444", cluster_certificate=PEM)
    assert (cluster.enabled, cluster.server_name) == (True, "n2")


@pytest.mark.parametrize(
    "server, field", [("lxd", "cluster_token"), ("incus", "cluster_password")]
)
def test_a_token_in_the_other_field_is_refused(server: str, field: str) -> None:
    client = FakeLXD(server=server).client()
    body = {
        "server_name": "n2",
        "enabled": True,
        "cluster_address": "10.0.0.1:8443",
        "cluster_certificate": PEM,
        field: _token(),
    }
    response = client.api.cluster.put(json=body)
    with pytest.raises(exceptions.LXDAPIException, match="No matching cluster join"):
        client.operations.wait_for_operation(response.json()["operation"])


def test_join_fetches_and_checks_the_certificate(
    standalone: FakeLXD, monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(PEM)).hexdigest()
    asked = []

    def fetch(address: tuple[str, int], timeout: float) -> str:
        asked.append(address)
        return PEM

    monkeypatch.setattr(ssl, "get_server_certificate", fetch)
    cluster = standalone.client().cluster.get()
    cluster.join(_token(fingerprint=fingerprint), "127.0.0.1:8444")
    assert asked == [("10.0.0.1", 8443)]
    assert standalone.last_body("PUT", "/1.0/cluster")["cluster_certificate"] == PEM


def test_join_refuses_a_certificate_of_another_cluster(
    standalone: FakeLXD, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssl, "get_server_certificate", lambda a, timeout: PEM)
    cluster = standalone.client().cluster.get()
    with pytest.raises(ValueError, match="is not the one of the join token"):
        cluster.join(_token(fingerprint="00" * 32), "127.0.0.1:8444")
    assert not standalone.calls("PUT", "/1.0/cluster")


def test_join_with_a_token_object_and_an_address(standalone: FakeLXD) -> None:
    token = ClusterJoinToken("n2", "s", "ab", [])
    cluster = standalone.client().cluster.get()
    with pytest.raises(ValueError, match="lists no member address"):
        cluster.join(token, "127.0.0.1:8444", cluster_certificate=PEM)
    assert not standalone.calls("PUT", "/1.0/cluster")
    cluster.join(
        token,
        "127.0.0.1:8444",
        cluster_certificate=PEM,
        cluster_address="10.0.0.9:8443",
        wait=False,
    )
    body = standalone.last_body("PUT", "/1.0/cluster")
    assert (
        body["cluster_address"],
        body["cluster_password"],
        body["cluster_token"],
    ) == ("10.0.0.9:8443", token.encode(), token.encode())


def test_join_refuses_a_malformed_token(standalone: FakeLXD) -> None:
    cluster = standalone.client().cluster.get()
    with pytest.raises(ValueError, match="Not a cluster join token"):
        cluster.join("not a token", "127.0.0.1:8444", cluster_certificate=PEM)
    with pytest.raises(ValueError, match="must hold"):
        cluster.join(
            base64.b64encode(b'{"a": 1}').decode(),
            "127.0.0.1:8444",
            cluster_certificate=PEM,
        )


# -- members -------------------------------------------------------------------
def test_members_all_is_one_request(client: Any, lxd: FakeLXD) -> None:
    members = client.cluster.get().members.all()
    assert [m.server_name for m in members] == ["fake", "c2"]
    c2 = members[1]
    assert (c2.url, c2.database, c2.status, c2.message) == (
        "https://127.0.0.1:8444",
        False,
        "Online",
        "Fully operational",
    )
    assert (c2.roles, c2.groups, c2.architecture, c2.failure_domain) == (
        ["database-standby"],
        ["default"],
        "x86_64",
        "default",
    )
    assert (c2.description, c2.config) == ("", {})
    calls = lxd.calls("GET", "/1.0/cluster/members")
    assert [c.query for c in calls] == [{"recursion": "1"}]
    assert len(lxd.requests) == 3  # GET /1.0, GET /1.0/cluster, the list


def test_member_get_and_not_found(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    assert member.server_name == "c2"
    assert lxd.last("GET", "/1.0/cluster/members/c2").query == {}
    with pytest.raises(exceptions.NotFound, match="Cluster member not found"):
        client.cluster.members.get("nope")
    assert client.cluster.members.exists("c2")
    assert not client.cluster.members.exists("nope")


def test_member_save_puts_the_writable_fields(client: Any, lxd: FakeLXD) -> None:
    client.cluster.groups.create("g1")
    member = client.cluster.members.get("c2")
    member.description = "rack 2"
    member.config["scheduler.instance"] = "manual"
    member.groups.append("g1")
    member.failure_domain = "rack2"
    member.save()
    assert lxd.last_body("PUT", "/1.0/cluster/members/c2") == {
        "roles": ["database-standby"],
        "failure_domain": "rack2",
        "description": "rack 2",
        "groups": ["default", "g1"],
        "config": {"scheduler.instance": "manual"},
    }
    assert not member.dirty
    assert client.cluster.groups.get("g1").members == ["c2"]


def test_member_save_without_a_group_fails_with_lxds_message(client: Any) -> None:
    member = client.cluster.members.get("c2")
    member.groups = []
    with pytest.raises(exceptions.LXDAPIException, match="at least one group"):
        member.save()


def test_member_rename(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    renamed = member.rename("c2b")
    assert lxd.last_body("POST", "/1.0/cluster/members/c2") == {"server_name": "c2b"}
    assert (renamed.server_name, member.server_name) == ("c2b", "c2b")
    assert renamed.groups == ["default"]
    with pytest.raises(exceptions.Conflict):
        renamed.rename("fake")


@pytest.mark.parametrize("bad", ["", " ", "a/b", None])
def test_member_rename_refuses_bad_names(client: Any, lxd: FakeLXD, bad: Any) -> None:
    member = client.cluster.members.get("c2")
    with pytest.raises(exceptions.LXDAPIException, match="Cluster member name"):
        member.rename(bad)
    assert not lxd.calls("POST")


@pytest.mark.parametrize("force, query", [(False, {}), (True, {"force": "1"})])
def test_member_delete(client: Any, lxd: FakeLXD, force: bool, query: dict) -> None:
    member = client.cluster.members.get("c2")
    member.delete(force=force)
    call = lxd.last("DELETE", "/1.0/cluster/members/c2")
    assert (call.query, call.body) == (query, None)
    assert [m.server_name for m in client.cluster.members.all()] == ["fake"]
    assert client.cluster.groups.get("default").members == ["fake"]


def test_evacuate_and_restore_wait(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    op = member.evacuate(wait=True)
    assert lxd.last_body("POST", "/1.0/cluster/members/c2/state") == {
        "action": "evacuate"
    }
    assert (op.status, op.description) == ("Success", "Evacuating cluster member")
    assert (member.status, member.message) == (
        "Evacuated",
        "Unavailable due to maintenance",
    )
    op = member.restore(wait=True)
    assert lxd.last_body("POST", "/1.0/cluster/members/c2/state") == {
        "action": "restore"
    }
    assert op.description == "Restoring cluster member"
    assert member.status == "Online"


def test_evacuate_without_wait_returns_the_operation(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    sent = len(lxd.requests)
    op = member.evacuate(mode="stop")
    assert lxd.last_body("POST", "/1.0/cluster/members/c2/state") == {
        "action": "evacuate",
        "mode": "stop",
    }
    assert op.description == "Evacuating cluster member"
    assert len(lxd.requests) == sent + 1


def test_evacuate_refuses_an_unknown_mode(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    with pytest.raises(ValueError, match="mode must be one of"):
        member.evacuate(mode="bogus")
    assert not lxd.calls("POST")


def test_evacuate_needs_the_extension() -> None:
    lxd = FakeLXD(clustered=True, extensions=["clustering"])
    member = lxd.client().cluster.members.get("fake")
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        member.evacuate()


# -- join tokens ---------------------------------------------------------------
def test_create_token(client: Any, lxd: FakeLXD) -> None:
    token = client.cluster.members.create_token("c3")
    assert lxd.last_body("POST", "/1.0/cluster/members") == {"server_name": "c3"}
    assert token.server_name == "c3"
    assert token.fingerprint == FAKE_FINGERPRINT
    assert token.addresses == ["127.0.0.1:8443", "127.0.0.1:8444"]
    assert len(token.secret) == 64
    assert token.expires_at.endswith("Z")
    assert "secret" not in repr(token) and token.secret not in repr(token)
    decoded = json.loads(base64.b64decode(str(token)))
    assert decoded == {
        "server_name": "c3",
        "fingerprint": FAKE_FINGERPRINT,
        "addresses": ["127.0.0.1:8443", "127.0.0.1:8444"],
        "secret": token.secret,
        "expires_at": token.expires_at,
    }
    assert list(decoded) == [
        "server_name",
        "fingerprint",
        "addresses",
        "secret",
        "expires_at",
    ]


def test_token_refuses_an_empty_name(client: Any, lxd: FakeLXD) -> None:
    with pytest.raises(ValueError, match="Cluster member name"):
        client.cluster.members.create_token("")
    assert not lxd.calls("POST")


def test_tokens_lists_and_revoke_removes(client: Any, lxd: FakeLXD) -> None:
    first = client.cluster.members.create_token("c3")
    second = client.cluster.members.create_token("c4")
    lxd.operation("Image download token", status="Running", op_class="token")
    assert client.cluster.members.tokens() == [first, second]
    assert lxd.last("GET", "/1.0/operations").query == {"recursion": "1"}
    first.revoke()
    assert lxd.calls("DELETE") and lxd.calls("DELETE")[-1].path == (
        f"/1.0/operations/{first.operation_id}"
    )
    assert [t.server_name for t in client.cluster.members.tokens()] == ["c4"]


def test_revoke_needs_an_operation() -> None:
    token = ClusterJoinToken("c3", "s", "f", ["a:1"])
    with pytest.raises(ValueError, match="has no operation"):
        token.revoke()


def test_token_decode_roundtrip() -> None:
    raw = _token()
    token = ClusterJoinToken.decode(raw)
    assert (token.server_name, token.secret, token.addresses, token.expires_at) == (
        "n2",
        "s",
        ["10.0.0.1:8443"],
        "2030-01-01T00:00:00Z",
    )
    assert ClusterJoinToken.decode(token.encode()) == token


# -- groups --------------------------------------------------------------------
def test_group_create_get_all(client: Any, lxd: FakeLXD) -> None:
    group = client.cluster.groups.create("g1", description="fast", members=["c2"])
    assert lxd.last_body("POST", "/1.0/cluster/groups") == {
        "name": "g1",
        "description": "fast",
        "members": ["c2"],
    }
    assert (group.name, group.description, group.members) == ("g1", "fast", ["c2"])
    assert [g.name for g in client.cluster.groups.all()] == ["default", "g1"]
    assert lxd.calls("GET", "/1.0/cluster/groups")[-1].query == {"recursion": "1"}
    assert client.cluster.members.get("c2").groups == ["default", "g1"]


def test_group_create_minimal_body(client: Any, lxd: FakeLXD) -> None:
    client.cluster.groups.create("g1")
    assert lxd.last_body("POST", "/1.0/cluster/groups") == {"name": "g1"}
    with pytest.raises(exceptions.LXDAPIException, match="already exists"):
        client.cluster.groups.create("g1")
    with pytest.raises(ValueError, match="Cluster group name"):
        client.cluster.groups.create("")


def test_group_save_rename_delete(client: Any, lxd: FakeLXD) -> None:
    group = client.cluster.get().groups.create("g1", members=["c2"])
    group.description = "d"
    group.members = []
    group.save()
    assert lxd.last_body("PUT", "/1.0/cluster/groups/g1") == {
        "description": "d",
        "members": [],
    }
    renamed = group.rename("g2")
    assert lxd.last_body("POST", "/1.0/cluster/groups/g1") == {"name": "g2"}
    assert (renamed.name, renamed.description) == ("g2", "d")
    renamed.delete()
    assert lxd.last("DELETE", "/1.0/cluster/groups/g2").body is None
    assert not client.cluster.groups.exists("g2")


def test_group_errors_are_lxds(client: Any) -> None:
    default = client.cluster.groups.get("default")
    with pytest.raises(exceptions.Forbidden, match="cannot be renamed"):
        default.rename("other")
    with pytest.raises(exceptions.Forbidden, match="cannot be deleted"):
        default.delete()
    full = client.cluster.groups.create("full", members=["c2"])
    with pytest.raises(exceptions.LXDAPIException, match="Only empty cluster groups"):
        full.delete()
    with pytest.raises(exceptions.NotFound, match="Cluster group not found"):
        client.cluster.groups.get("nope")


def test_groups_need_the_extension() -> None:
    lxd = FakeLXD(clustered=True, extensions=["clustering"])
    with pytest.raises(exceptions.LXDAPIExtensionNotAvailable):
        lxd.client().cluster.groups.all()


# -- certificate ---------------------------------------------------------------
def test_certificate_put(client: Any, lxd: FakeLXD) -> None:
    client.cluster.get().certificate.put(PEM, KEY.encode())
    assert lxd.last_body("PUT", "/1.0/cluster/certificate") == {
        "cluster_certificate": PEM,
        "cluster_certificate_key": KEY,
    }


def test_certificate_put_refuses_non_pem(client: Any, lxd: FakeLXD) -> None:
    with pytest.raises(ValueError, match="cluster certificate key must be PEM"):
        client.cluster.certificate.put(PEM, "junk")
    assert not lxd.calls("PUT")


def test_managers_are_reachable_from_the_client(client: Any) -> None:
    assert "create_token" in dir(client.cluster.members)
    assert repr(client.cluster.groups) == "<ClusterGroupManager for ClusterGroup>"


# -- target= -------------------------------------------------------------------
def test_move_instance_posts_migration_with_target(client: Any, lxd: FakeLXD) -> None:
    op = lxd.operation("Migrating instance", {"instances": ["/1.0/instances/web"]})
    lxd.reply_next(lxd.async_reply(op), "POST", "/1.0/instances/web")
    done = client.cluster.members.get("c2").move_instance("web", wait=True)
    call = lxd.last("POST", "/1.0/instances/web")
    assert (call.query, call.json) == (
        {"target": "c2"},
        {"name": "web", "migration": True},
    )
    assert done.id == op.id
    assert lxd.last("GET", f"/1.0/operations/{op.id}/wait")


def test_move_instance_live_without_wait(client: Any, lxd: FakeLXD) -> None:
    op = lxd.operation("Migrating instance", status="Running")
    lxd.reply_next(lxd.async_reply(op), "POST", "/1.0/instances/web")
    returned = client.cluster.members.get("c2").move_instance("web", live=True)
    assert lxd.last_body("POST", "/1.0/instances/web") == {
        "name": "web",
        "migration": True,
        "live": True,
    }
    assert (returned.id, returned.status) == (op.id, "Running")
    assert not [r for r in lxd.requests if r.path.endswith("/wait")]


def test_targeted_client_adds_target_to_every_request(
    client: Any, lxd: FakeLXD
) -> None:
    sent = len(lxd.requests)
    on_c2 = client.cluster.members.get("c2").targeted_client()
    assert len(lxd.requests) == sent + 1  # the member GET only
    on_c2.profiles.create("p1", config={"limits.cpu": "1"})
    assert lxd.last("POST", "/1.0/profiles").query == {"target": "c2"}
    assert lxd.last("GET", "/1.0/profiles/p1").query == {"target": "c2"}
    assert "target=c2" in repr(on_c2.api.instances)
    client.profiles.get("p1")
    assert lxd.last("GET", "/1.0/profiles/p1").query == {}


def test_targeted_client_keeps_project_and_explicit_target() -> None:
    lxd = FakeLXD(clustered=True)
    lxd.client().projects.create("p")
    client = lxd.client(project="p")
    on_fake = client.cluster.members.get("fake").targeted_client()
    on_fake.profiles.all()
    assert lxd.last("GET", "/1.0/profiles").query == {
        "project": "p",
        "target": "fake",
        "recursion": "1",
    }
    lxd.reply_next(lxd.sync(), "POST", "/1.0/anything")
    on_fake.api.anything.post(json={}, target="other")
    assert lxd.last("POST", "/1.0/anything").query == {
        "project": "p",
        "target": "other",
    }


def test_fake_add_member_needs_a_cluster(standalone: FakeLXD) -> None:
    with pytest.raises(ValueError, match="clustered=True"):
        add_cluster_member(standalone, "c2")


def test_member_and_group_patch(client: Any, lxd: FakeLXD) -> None:
    member = client.cluster.members.get("c2")
    with pytest.raises(exceptions.LXDAPIException, match="at least one group"):
        member.patch({"description": "x"})  # as LXD 5.0 answers
    member.patch({"description": "x", "groups": ["default"]})
    assert lxd.last_body("PATCH", "/1.0/cluster/members/c2") == {
        "description": "x",
        "groups": ["default"],
    }
    assert member.description == "x"
    group = client.cluster.groups.create("g1")
    group.patch({"members": ["c2"]})
    assert (group.members, group.description) == (["c2"], "")


def test_join_failures_are_lxds(client: Any, standalone: FakeLXD) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="already clustered"):
        client.cluster.get().join(_token(), "127.0.0.1:8444", cluster_certificate=PEM)
    other = standalone.client()
    body = {
        "server_name": "n9",
        "enabled": True,
        "cluster_address": "10.0.0.1:8443",
        "cluster_certificate": PEM,
        "cluster_password": _token(),  # a token for "n2"
    }
    response = other.api.cluster.put(json=body)
    with pytest.raises(exceptions.LXDAPIException, match="No matching cluster join"):
        other.operations.wait_for_operation(response.json()["operation"])
    assert other.cluster.get().enabled is False


def test_certificate_put_on_a_standalone_server(standalone: FakeLXD) -> None:
    with pytest.raises(exceptions.LXDAPIException, match="not clustered"):
        standalone.client().cluster.certificate.put(PEM, KEY)

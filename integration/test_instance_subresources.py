"""Instance logs, image metadata, templates, SFTP and bulk state changes
against the real LXD."""

from __future__ import annotations

import contextlib
import io
import socket
import struct
from typing import Any, Iterator

import pytest

from integration.conftest import ON_INCUS, WAIT, force_delete_instance, unique_name
from pylxd import Client, exceptions
from pylxd.models._mixins import name_from_url

SSH_FXP_INIT = 1
SSH_FXP_VERSION = 2


def record_output(instance: Any, command: list[str]) -> dict[str, str]:
    """Run ``command`` with LXD's ``record-output``; return the log URLs by fd."""
    response = instance.api.exec.post(
        json={
            "command": command,
            "record-output": True,
            "wait-for-websocket": False,
            "interactive": False,
        }
    )
    operation = instance.client.operations.wait_for_operation(
        response.json()["operation"], timeout=WAIT
    )
    return operation.metadata["output"]  # type: ignore[no-any-return]


# -- logs ------------------------------------------------------------------------
def test_logs_list_read_export_and_delete(running_container: Any) -> None:
    output = record_output(running_container, ["sh", "-c", "echo out; echo err >&2"])
    stdout = output["1"].rsplit("/", 1)[1]
    stderr = output["2"].rsplit("/", 1)[1]
    names = running_container.logs.all()
    if ON_INCUS:
        # Incus keeps recorded output under logs/exec-output/ (read with
        # instance.exec_outputs: integration/test_incus.py) and has no lxc.conf
        assert "lxc.log" in names and not {stdout, stderr} & set(names)
        return
    assert {"lxc.log", "lxc.conf", stdout, stderr} <= set(names)
    assert running_container.logs.get(stdout) == "out\n"
    target = io.BytesIO()
    assert running_container.logs.export(stderr, target) == 4
    assert target.getvalue() == b"err\n"
    running_container.logs.delete(stdout)
    running_container.logs.delete(stderr)
    assert stdout not in running_container.logs.all()
    assert "lxc.log" in running_container.logs.all()


def test_logs_refusals_come_from_lxd(container: Any) -> None:
    # Incus: "Only log files excluding qemu.log and lxc.log may be deleted"
    with pytest.raises(exceptions.LXDAPIException, match="may (not )?be deleted"):
        container.logs.delete("lxc.log")
    with pytest.raises(exceptions.LXDAPIException, match="not valid"):
        container.logs.get("other.log")
    if ON_INCUS:  # recorded output is not under logs/ on Incus (logs/exec-output/)
        with pytest.raises(exceptions.LXDAPIException, match="not valid"):
            container.logs.delete("exec_missing.stdout")
    else:
        with pytest.raises(exceptions.NotFound):
            container.logs.delete("exec_missing.stdout")


# -- metadata and templates ------------------------------------------------------
def test_metadata_get_put_and_patch(container: Any) -> None:
    metadata = container.get_metadata()
    assert metadata["architecture"] == "x86_64"
    assert metadata["properties"]["os"] == "busybox"
    metadata["properties"]["description"] = "edited by pylxd"
    container.put_metadata(metadata)
    assert container.get_metadata()["properties"]["description"] == "edited by pylxd"
    container.patch_metadata({"properties": {"extra": "1"}})
    properties = container.get_metadata()["properties"]
    assert properties["extra"] == "1" and properties["os"] == "busybox"


def test_templates_put_get_list_and_delete(container: Any) -> None:
    assert "hostname.tpl" in container.templates.all()
    container.templates.put("motd.tpl", "hello {{ container.name }}\n")
    assert container.templates.get("motd.tpl") == "hello {{ container.name }}\n"
    assert {"hostname.tpl", "motd.tpl"} <= set(container.templates.all())
    container.templates.delete("motd.tpl")
    assert "motd.tpl" not in container.templates.all()
    with pytest.raises(exceptions.NotFound, match='Template "motd.tpl" not found'):
        container.templates.get("motd.tpl")


def test_a_template_is_applied_on_start(container: Any) -> None:
    container.templates.put("motd.tpl", "hello {{ container.name }}\n")
    container.patch_metadata(
        {"templates": {"/etc/motd": {"template": "motd.tpl", "when": ["start"]}}}
    )
    container.start(wait=True)
    result = container.execute(["cat", "/etc/motd"])
    assert result.stdout == f"hello {container.name}\n"


# -- SFTP ------------------------------------------------------------------------
def sftp_version(sock: socket.socket) -> int:
    """Do the SFTP version handshake; return the server's version."""
    sock.sendall(struct.pack(">IBI", 5, SSH_FXP_INIT, 3))
    length, kind, version = struct.unpack(">IBI", _read_exactly(sock, 9))
    _read_exactly(sock, length - 5)  # the extensions
    assert kind == SSH_FXP_VERSION
    return int(version)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "the SFTP server closed the connection"
        data += chunk
    return data


def test_sftp_over_the_socket_and_https(container: Any, https_client: Client) -> None:
    with contextlib.closing(container.sftp()) as sock:
        sock.settimeout(WAIT)
        assert sftp_version(sock) == 3
    remote = https_client.instances.get(container.name)
    with contextlib.closing(remote.sftp()) as sock:
        sock.settimeout(WAIT)
        assert sftp_version(sock) == 3


def test_sftp_to_a_missing_instance_raises_not_found(client: Client) -> None:
    ghost = client.instances.model(client, name=unique_name())
    with pytest.raises(exceptions.NotFound):
        ghost.sftp()


# -- bulk state --------------------------------------------------------------------
@pytest.fixture
def project_client(
    client: Client, lxd_env: dict[str, Any], image_alias: str
) -> Iterator[Client]:
    """A client on a new project (sharing the default images and profiles)
    holding two stopped containers: bulk changes there touch nothing else."""
    name = unique_name()
    client.projects.create(
        name, config={"features.images": "false", "features.profiles": "false"}
    )
    scoped = Client(endpoint=lxd_env["main"]["socket"], project=name)
    try:
        for _ in range(2):
            response = scoped.api.instances.post(
                json={
                    "name": unique_name(),
                    "source": {"type": "image", "alias": image_alias},
                }
            )
            scoped.operations.wait_for_operation(
                response.json()["operation"], timeout=WAIT
            )
        yield scoped
    finally:
        for instance in scoped.api.instances.get().json()["metadata"]:
            # Incus's URLs carry "?project=<name>"
            force_delete_instance(scoped, name_from_url(instance))
        client.api.projects[name].delete()


def statuses(client: Client) -> set[str]:
    return {i.status for i in client.instances.all()}


def test_set_all_states_starts_freezes_and_stops_a_project(
    project_client: Client,
) -> None:
    operation = project_client.instances.set_all_states("start", wait=True)
    assert operation.status == "Success"
    assert len(operation.resources["instances"]) == 2
    assert statuses(project_client) == {"Running"}
    project_client.containers.set_all_states("freeze", wait=True)
    assert statuses(project_client) == {"Frozen"}
    project_client.instances.set_all_states("unfreeze", wait=True)
    pending = project_client.instances.set_all_states("stop", force=True)
    project_client.operations.wait_for_operation(pending.id, timeout=WAIT)
    assert statuses(project_client) == {"Stopped"}

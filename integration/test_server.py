"""The server (``/``, ``/1.0``) against the real LXD: API versions, reading the
configuration, and changing a harmless key (restored afterwards).

``core.https_address`` (127.0.0.1:8443, Incus 8450) and the trust password are used by
other tests: every change here is undone in a ``finally``.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from integration.conftest import ON_INCUS
from pylxd import Client, exceptions

KEY = "images.auto_update_interval"


def address(lxd_env: dict[str, Any]) -> str:
    """The main daemon's ``core.https_address`` (``host:port``)."""
    return str(lxd_env["main"]["https"]).split("//", 1)[1]


@pytest.fixture
def original_config(
    client: Client, lxd_env: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The server config before the test, written back after it.

    LXD shows the trust password as ``true``; a PUT must send the password
    itself (known from the test environment) to keep it.
    """
    before = dict(client.server.get().config)
    hidden = [k for k, v in before.items() if v is True and k != "core.trust_password"]
    if hidden:
        pytest.skip(f"cannot restore hidden server keys {hidden} after a PUT")
    try:
        yield before
    finally:
        client.server.update_config(writable(before, lxd_env))


def writable(config: dict[str, Any], lxd_env: dict[str, Any]) -> dict[str, Any]:
    """``config`` as it can be PUT back (the real trust password, not ``true``)."""
    result = dict(config)
    if result.get("core.trust_password") is True:
        result["core.trust_password"] = lxd_env["main"]["trust_password"]
    return result


def test_api_versions(client: Client) -> None:
    assert client.server.api_versions() == ["/1.0"]


def test_get_reads_environment_and_config(
    client: Client, lxd_env: dict[str, Any]
) -> None:
    server = client.server.get()
    assert server.config["core.https_address"] == address(lxd_env)
    version = "6.0" if ON_INCUS else "5.0"
    assert server.environment["server_version"].startswith(version)
    assert server.auth == "trusted" and "warnings" in server.api_extensions
    assert client.host_info["config"] == server.config


def test_patch_config_sets_and_unsets_a_key(
    client: Client, lxd_env: dict[str, Any], original_config: dict[str, Any]
) -> None:
    client.server.patch_config({KEY: "13"})
    assert client.host_info["config"][KEY] == "13"
    assert client.server.get().config[KEY] == "13"
    client.server.patch_config({KEY: ""})
    assert KEY not in client.host_info["config"]
    assert client.host_info["config"]["core.https_address"] == address(lxd_env)


def test_update_config_and_save_replace_the_config(
    client: Client, lxd_env: dict[str, Any], original_config: dict[str, Any]
) -> None:
    client.server.update_config({**writable(original_config, lxd_env), KEY: "7"})
    assert client.host_info["config"][KEY] == "7"
    server = client.server.get()
    server.config = {**writable(server.config, lxd_env), KEY: "8"}
    server.save()
    assert client.server.get().config[KEY] == "8"
    assert client.host_info["config"]["core.https_address"] == address(lxd_env)
    if not ON_INCUS:  # Incus has no trust password
        assert client.host_info["config"]["core.trust_password"] is True


def test_https_clients_still_connect_after_a_change(
    client: Client,
    lxd_env: dict[str, Any],
    https_client: Client,
    original_config: dict[str, Any],
) -> None:
    client.server.update_config({**writable(original_config, lxd_env), KEY: "9"})
    assert https_client.server.get().config[KEY] == "9"


def test_refused_values_raise_lxds_error(
    client: Client, request: pytest.FixtureRequest
) -> None:
    if ON_INCUS:
        # Incus 6.0.4 forgets its whole server config (core.https_address
        # included) when it refuses a PATCH: not on the shared daemon
        client = Client(endpoint=request.getfixturevalue("disposable").socket)
    with pytest.raises(exceptions.LXDAPIException, match="(?i)invalid|unknown"):
        client.server.patch_config({"pylxd.no-such-key": "1"})
    with pytest.raises(exceptions.LXDAPIException):
        client.server.patch_config({KEY: "not-a-number"})

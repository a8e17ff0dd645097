"""Network rename and delete go past Incus 6.0's host-interface race.

Incus lists the host's interfaces to stop a bridge, then reads each one: one
deleted in between fails the call and changes nothing (seen in CI, where the
LXD pass makes and deletes bridges beside the Incus pass; reproduced by
making and deleting bridges in a loop while renaming one).
"""

from __future__ import annotations

from typing import Callable

import pytest

from pylxd import exceptions
from pylxd.models import network
from pylxd.testing import FakeLXD, FakeRequest, Reply

RACE = (
    "Failed to delete bridge children interfaces: Failed to run: ip -d -j link "
    'show rc29: exit status 1 (Device "rc29" does not exist.)'
)
#: The same race, when the interface goes between ip's two netlink requests.
RACE_NO_DEVICE = (
    "Failed to delete bridge children interfaces: Failed to run: ip -d -j link "
    "show rc29: exit status 1 (RTNETLINK answers: No such device\n"
    "Cannot send link get request: No such device)"
)


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses between tries, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("pylxd._retry.time.sleep", slept.append)
    return slept


def _failing(
    fake: FakeLXD, method: str, times: int, message: str = RACE
) -> Callable[[], int]:
    """Answer the first ``times`` ``method`` requests on /1.0/networks/br1 with an error."""
    seen = [0]

    def fault(request: FakeRequest) -> Reply | None:
        if request.method == method and request.path == "/1.0/networks/br1":
            seen[0] += 1
            if seen[0] <= times:
                return fake.error(500, message)
        return None

    fake.faults.append(fault)
    return lambda: seen[0]


def _bridge(fake: FakeLXD) -> network.Network:
    return fake.client().networks.create("br1", type="bridge")


@pytest.mark.parametrize("server", ["lxd", "incus"])
def test_a_rename_that_met_the_race_is_sent_again(server: str) -> None:
    fake = FakeLXD(server=server)
    bridge = _bridge(fake)
    sent = _failing(fake, "POST", times=2)
    renamed = bridge.rename("br2")
    assert (renamed.name, bridge.name, sent()) == ("br2", "br2", 3)
    assert not fake.client().networks.exists("br1")


def _renaming_then_failing(fake: FakeLXD, times: int) -> list[tuple[str, str]]:
    """The first ``times`` renames of a network are done, then answered with the
    race: Incus renamed it but could not start its bridge again."""
    sent: list[tuple[str, str]] = []

    def fault(request: FakeRequest) -> Reply | None:
        if request.method == "POST" and request.path.startswith("/1.0/networks/"):
            old, new = request.path.rsplit("/", 1)[1], request.json["name"]
            sent.append((old, new))
            if len(sent) <= times:
                networks = fake.store("networks")
                networks[new] = {**networks.pop(old), "name": new}
                return fake.error(500, RACE)
        return None

    fake.faults.append(fault)
    return sent


def test_a_rename_done_without_its_bridge_is_undone_and_sent_again() -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    sent = _renaming_then_failing(fake, times=1)
    renamed = bridge.rename("br2")
    # renamed back (which starts the bridge), then renamed again
    assert sent == [("br1", "br2"), ("br2", "br1"), ("br1", "br2")]
    assert (renamed.name, bridge.name) == ("br2", "br2")
    assert "br2" in fake.store("networks") and "br1" not in fake.store("networks")


def test_a_rename_that_never_starts_its_bridge_says_where_the_network_is() -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    sent = _renaming_then_failing(fake, times=99)
    with pytest.raises(exceptions.LXDAPIException, match="does not exist"):
        bridge.rename("br2")
    assert len(sent) == network.INTERFACE_RACE.total + 1  # 9: ends renamed
    assert bridge.name == "br2"
    assert "br2" in fake.store("networks") and "br1" not in fake.store("networks")


@pytest.mark.parametrize("message", [RACE, RACE_NO_DEVICE])
def test_a_delete_that_met_the_race_is_sent_again(message: str) -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    sent = _failing(fake, "DELETE", times=1, message=message)
    bridge.delete()
    assert sent() == 2
    assert not fake.client().networks.exists("br1")


def test_the_race_every_time_fails_after_the_last_try(no_pauses: list[float]) -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    sent = _failing(fake, "DELETE", times=99)
    with pytest.raises(exceptions.LXDAPIException, match="does not exist") as err:
        bridge.delete()
    assert str(err.value).startswith("Network 'br1': Failed to delete bridge children")
    assert sent() == network.INTERFACE_RACE.total + 1
    assert no_pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert fake.client().networks.exists("br1")


@pytest.mark.parametrize("message", ["Network is in use", "Device does not exist"])
def test_other_errors_are_not_sent_again(message: str) -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    sent = _failing(fake, "POST", times=99, message=message)
    with pytest.raises(exceptions.LXDAPIException, match=message):
        bridge.rename("br2")
    assert sent() == 1
    assert bridge.name == "br1"


def test_a_create_that_met_the_race_is_sent_again() -> None:
    fake = FakeLXD(server="incus")
    seen = [0]

    def fault(request: FakeRequest) -> Reply | None:
        if request.method == "POST" and request.path == "/1.0/networks":
            seen[0] += 1
            if seen[0] == 1:
                return fake.error(500, RACE)
        return None

    fake.faults.append(fault)
    created = fake.client().networks.create("br1", type="bridge")
    assert (created.name, seen[0]) == ("br1", 2)


@pytest.mark.parametrize("change", ["patch", "save"])
def test_a_change_that_met_the_race_is_sent_again(change: str) -> None:
    fake = FakeLXD(server="incus")
    bridge = _bridge(fake)
    verb = "PATCH" if change == "patch" else "PUT"
    sent = _failing(fake, verb, times=2)
    if change == "patch":
        bridge.patch({"config": {"user.a": "b"}}, if_match=True)
    else:
        bridge.config = {**bridge.config, "user.a": "b"}
        bridge.save(if_match=True)
    assert sent() == 3
    assert fake.client().networks.get("br1").config["user.a"] == "b"

"""A body JSON cannot carry is refused naming the value, before a byte is sent.

pylxd 2.4.2 let json's ``TypeError`` out of requests (naming neither the
field nor the call), and requests' ``InvalidJSONError`` for NaN became our
"Cannot reach LXD". Now both are :class:`InvalidArgumentType` (still a
``TypeError``), on the HTTP path (the fake) and the Unix socket path (a
recording server that must see nothing).
"""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Iterator

import pytest

from pylxd import exceptions
from pylxd._json_body import not_json
from pylxd.testing import FakeLXD
from pylxd.tests import hostile
from pylxd.tests.hostile import HostileLXD
from pylxd.tests.test_instance import FP, seeded


@pytest.mark.parametrize(
    "body, found",
    [
        ({"expires_at": datetime.date(2030, 1, 1)}, "body['expires_at'] is a date"),
        ({"a": {"b": [1, {2, 3}]}}, "body['a']['b'][1] is a set"),
        ({"size": float("nan")}, "body['size'] is nan"),
        ([float("-inf")], "body[0] is -inf"),
        ({"n": decimal.Decimal("1.5")}, "body['n'] is a Decimal"),
        ({"config": {("a", "b"): "1"}}, "a key of body['config'] is a tuple"),
    ],
)
def test_what_json_cannot_carry_is_named_by_its_place(body: Any, found: str) -> None:
    assert not_json(body) is not None
    assert not_json(body).startswith(found)  # type: ignore[union-attr]


def test_what_json_carries_is_not_named() -> None:
    body = {"a": [1, 2.5, True, None, "x", ("t",)], 1: {"b": -0.0}, None: {}}
    assert not_json(body) is None


def test_a_datetime_set_as_an_attribute_is_no_refusal() -> None:
    fake = seeded()
    image = fake.client().images.get(FP)
    image.expires_at = datetime.datetime(2030, 1, 1)  # kept as RFC 3339
    image.save()
    assert fake.last_body("PUT", f"/1.0/images/{FP}")["expires_at"].startswith("2030")


@pytest.mark.parametrize(
    "value, words",
    [
        (datetime.date(2030, 1, 1), "body['expires_at'] is a date"),
        (float("nan"), "body['expires_at'] is nan"),
    ],
)
def test_saving_a_value_json_cannot_carry_is_refused(value: Any, words: str) -> None:
    fake = seeded()
    image = fake.client().images.get(FP)
    image.expires_at = value
    with pytest.raises(exceptions.InvalidArgumentType) as info:
        image.save()
    assert isinstance(info.value, TypeError)  # what pylxd 2.4.2 raised
    text = str(info.value)
    assert words in text and "which JSON cannot carry" in text
    assert "PUT http://" in text and f"/1.0/images/{FP} was not sent" in text
    assert [r for r in fake.requests if r.method != "GET"] == []
    image.rollback()
    image.save()  # the model is not spoiled: a good body goes out
    assert fake.last_body("PUT", f"/1.0/images/{FP}")["expires_at"] != value


def test_a_create_names_the_object_and_the_value() -> None:
    fake = FakeLXD()
    client = fake.client()
    with pytest.raises(exceptions.InvalidArgumentType) as info:
        client.profiles.create("p1", config={"user.when": datetime.date(2030, 1, 1)})
    text = str(info.value)
    assert text.startswith("Profile 'p1': POST ")
    assert "body['config']['user.when'] is a date" in text
    assert not client.profiles.exists("p1")


@pytest.fixture
def server(tmp_path: Any) -> Iterator[HostileLXD]:
    with HostileLXD(tmp_path / "lxd.sock") as srv:
        yield srv


def test_over_the_unix_socket_nothing_reaches_the_server(server: HostileLXD) -> None:
    server.on("POST", "/1.0/profiles", hostile.sync({}))
    client = server.client(timeout=5)
    with pytest.raises(exceptions.InvalidArgumentType) as info:
        client.profiles.create("p1", devices={"eth0": {"mtu": float("inf")}})
    assert server.path in str(info.value)
    assert "body['devices']['eth0']['mtu'] is inf" in str(info.value)
    assert server.requests_to("POST", "/1.0/profiles") == []


def test_a_failure_with_a_good_body_is_still_a_connection_failure(
    server: HostileLXD,
) -> None:
    server.on("POST", "/1.0/profiles", hostile.raw(b""))
    client = server.client(timeout=5)
    with pytest.raises(exceptions.ConnectionLost):
        client.profiles.create("p1", config={"user.a": "1"})

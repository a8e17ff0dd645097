"""ImageAlias.patch and update: PATCH on Incus, an If-Match-guarded PUT on LXD.

LXD 5.0 never answers ``PATCH /1.0/images/aliases/<name>`` (it fails with
"context deadline exceeded" after 20 s; see ``integration/test_images.py``).
"""

from __future__ import annotations

from typing import Any

import pytest

from pylxd import exceptions
from pylxd.testing import FakeLXD, FakeRequest, Reply
from pylxd.testing._fake_images import add_image


def _image(fake: FakeLXD, fingerprint: str) -> str:
    return str(add_image(fake, "default", fingerprint * 64)["fingerprint"])


def _alias(fake: FakeLXD) -> Any:
    return fake.client().images.aliases.create("one", _image(fake, "a"), "first")


def _headers_of_puts(fake: FakeLXD) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    def spy(request: FakeRequest) -> Reply | None:
        if request.method == "PUT":
            seen.append(dict(request.headers))
        return None

    fake.faults.append(spy)
    return seen


def _writes(fake: FakeLXD) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in fake.requests if r.method in ("PUT", "PATCH")]


def test_on_lxd_a_patch_is_a_guarded_put_of_the_merged_fields() -> None:
    fake = FakeLXD()
    alias = _alias(fake)
    etag = fake.client().images.aliases.get("one").etag
    headers = _headers_of_puts(fake)
    fake.requests.clear()
    alias.patch({"description": "second"})
    assert _writes(fake) == [("PUT", "/1.0/images/aliases/one")]
    put = fake.last("PUT", "/1.0/images/aliases/one")
    assert put.json == {"description": "second", "target": alias.target}
    assert etag and headers[0]["If-Match"] == etag
    assert alias.description == "second"  # reloaded


def test_on_incus_a_patch_is_sent_as_patch() -> None:
    fake = FakeLXD(server="incus")
    alias = _alias(fake)
    fake.requests.clear()
    alias.update(description="second")
    assert _writes(fake) == [("PATCH", "/1.0/images/aliases/one")]
    assert fake.last_body("PATCH", "/1.0/images/aliases/one") == {
        "description": "second"
    }
    assert alias.description == "second"
    assert fake.client().images.aliases.get("one").target == alias.target


@pytest.mark.parametrize("server", ["lxd", "incus"])
def test_update_keeps_the_field_not_given(server: str) -> None:
    fake = FakeLXD(server=server)
    alias = _alias(fake)
    other = _image(fake, "b")
    alias.update(target=other)
    again = fake.client().images.aliases.get("one")
    assert (again.target, again.description) == (other, "first")


def test_on_lxd_a_change_made_in_between_is_not_overwritten() -> None:
    fake = FakeLXD()
    alias = _alias(fake)

    def change_after_the_read(request: FakeRequest) -> Reply | None:
        if request.method == "PUT" and "If-Match" in request.headers:
            fake.store("image_aliases", "default")["one"]["description"] = "theirs"
        return None

    fake.faults.append(change_after_the_read)
    with pytest.raises(exceptions.PreconditionFailed, match="one"):
        alias.patch({"target": alias.target})
    assert fake.client().images.aliases.get("one").description == "theirs"


def test_on_lxd_if_match_uses_the_etag_the_alias_was_loaded_with() -> None:
    fake = FakeLXD()
    alias = fake.client().images.aliases.get(_alias(fake).name)
    fake.client().images.aliases.get("one").update(description="theirs")
    with pytest.raises(exceptions.PreconditionFailed):
        alias.patch({"description": "mine"}, if_match=True)
    assert fake.client().images.aliases.get("one").description == "theirs"


def test_on_lxd_a_patch_that_is_not_a_dict_is_refused_before_sending() -> None:
    fake = FakeLXD()
    alias = _alias(fake)
    fake.requests.clear()
    with pytest.raises(exceptions.InvalidArgumentType, match="patch takes a dict"):
        alias.patch("description=x")  # type: ignore[arg-type]
    assert fake.requests == []

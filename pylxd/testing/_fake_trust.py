"""Fake LXD: what an untrusted client may do (``FakeLXD(trusted=False)``).

As LXD 5.0.2 does over HTTPS for a certificate it does not trust: ``GET /``
and ``GET /1.0`` (reduced server information), ``POST /1.0/certificates``
(to authenticate), the websockets of operations (their secret is the
credential), and the *public* images and their aliases. Anything else is
refused with ``403 not authorized``; a private image looks missing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.testing._fake import FakeLXD, FakeRequest, Reply

_OPEN = [
    (method, re.compile(pattern))
    for method, pattern in (
        ("GET", r"/"),
        ("GET", r"/1\.0/?"),
        ("POST", r"/1\.0/certificates"),
        ("GET", r"/1\.0/operations/[^/]+/websocket"),
    )
]
_IMAGE = re.compile(r"/1\.0/images/(?P<fp>(?!aliases$)[^/]+)(?:/export)?")
_ALIAS = re.compile(r"/1\.0/images/aliases/(?P<name>[^/]+)")


def _public_image(fake: FakeLXD, project: str, fingerprint: str) -> Any:
    images = fake.store("images", project)
    found = [
        i for fp, i in images.items() if fingerprint and fp.startswith(fingerprint)
    ]
    return found[0] if len(found) == 1 and found[0].get("public") else None


def untrusted_reply(fake: FakeLXD, request: FakeRequest) -> Reply | None:
    """LXD's answer to an untrusted client, or None when the route may serve it."""
    if any(m == request.method and p.fullmatch(request.path) for m, p in _OPEN):
        return None
    if request.method != "GET":
        return fake.error(403, "not authorized")
    if request.path == "/1.0/images":
        from pylxd.testing._fake_images import _view

        images = fake.store("images", request.project).values()
        public = [i for i in images if i.get("public")]
        if request.recursion:
            return fake.sync([_view(fake, request.project, i) for i in public])
        return fake.sync([f"/1.0/images/{i['fingerprint']}" for i in public])
    image = _IMAGE.fullmatch(request.path)
    if image is not None:
        if _public_image(fake, request.project, image["fp"]) is not None:
            return None
        return fake.error(404, f'Image "{image["fp"]}" not found')
    alias = _ALIAS.fullmatch(request.path)
    if alias is not None:
        record = fake.store("image_aliases", request.project).get(alias["name"])
        if record and _public_image(fake, request.project, record["target"]):
            return None
        return fake.error(404, "Image alias not found")
    return fake.error(403, "not authorized")

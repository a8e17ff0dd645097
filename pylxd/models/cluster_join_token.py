"""Cluster join tokens: what ``lxc cluster add`` prints, made and revoked through LXD.

A token is the base64 of a JSON object (``server_name``, ``fingerprint``,
``addresses``, ``secret``, ``expires_at``); LXD keeps it as a ``token``
operation until it is used or revoked. Made by
:meth:`pylxd.models.cluster.ClusterMember.create_token` (importable from
:mod:`pylxd.models.cluster` too).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pylxd.models._mixins import quote

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client

#: The operation class LXD gives join tokens (and other tokens).
TOKEN_OPERATION_CLASS = "token"


def _is_join_token(op: dict[str, Any]) -> bool:
    metadata = op.get("metadata")
    return (
        op.get("class") == TOKEN_OPERATION_CLASS
        and "cluster" in (op.get("resources") or {})
        and isinstance(metadata, dict)
        and "secret" in metadata
    )


@dataclass(frozen=True)
class ClusterJoinToken:
    """A join token for a new member (``ClusterMemberJoinToken`` in LXD).

    ``str(token)`` is the token string ``lxc cluster add`` prints: base64 of
    the JSON of the fields below. A token made by
    :meth:`ClusterMember.create_token` knows its operation and can be
    revoked.

    >>> token = ClusterJoinToken("c3", "s3cr3t", "ab12", ["10.0.0.1:8443"])
    >>> ClusterJoinToken.decode(str(token)) == token
    True
    >>> token
    ClusterJoinToken(server_name='c3', fingerprint='ab12', addresses=['10.0.0.1:8443'], expires_at=None)
    """

    server_name: str
    secret: str = field(repr=False)
    fingerprint: str
    addresses: list[str]
    expires_at: str | None = None
    operation_id: str | None = field(default=None, repr=False, compare=False)
    client: Client | None = field(default=None, repr=False, compare=False)

    @classmethod
    def _from_operation(cls, client: Client, op: dict[str, Any]) -> ClusterJoinToken:
        meta = op.get("metadata") or {}
        return cls(
            server_name=meta.get("serverName", ""),
            secret=meta["secret"],
            fingerprint=meta.get("fingerprint", ""),
            addresses=list(meta.get("addresses") or ()),
            expires_at=meta.get("expiresAt"),
            operation_id=op.get("id"),
            client=client,
        )

    @classmethod
    def decode(cls, token: str) -> ClusterJoinToken:
        """Read a token string (as ``lxc cluster add`` prints it).

        :raises ValueError: when it is not a cluster join token.
        """
        try:
            fields = json.loads(base64.b64decode(token.strip(), validate=True))
        except (binascii.Error, ValueError, TypeError, AttributeError) as err:
            raise ValueError(f"Not a cluster join token: {err}") from err
        required = {"server_name", "secret", "fingerprint", "addresses"}
        if not isinstance(fields, dict) or not required <= fields.keys():
            raise ValueError(
                f"Not a cluster join token: it must hold {sorted(required)}"
            )
        return cls(
            server_name=fields["server_name"],
            secret=fields["secret"],
            fingerprint=fields["fingerprint"],
            addresses=list(fields["addresses"] or ()),
            expires_at=fields.get("expires_at"),
        )

    def encode(self) -> str:
        """Return the token string, with LXD's field order.

        >>> ClusterJoinToken("c3", "s", "f", ["a:1"]).encode()
        'eyJzZXJ2ZXJfbmFtZSI6ImMzIiwiZmluZ2VycHJpbnQiOiJmIiwiYWRkcmVzc2VzIjpbImE6MSJdLCJzZWNyZXQiOiJzIn0='
        """
        fields: dict[str, Any] = {
            "server_name": self.server_name,
            "fingerprint": self.fingerprint,
            "addresses": list(self.addresses),
            "secret": self.secret,
        }
        if self.expires_at is not None:
            fields["expires_at"] = self.expires_at
        compact = json.dumps(fields, separators=(",", ":"))
        return base64.b64encode(compact.encode()).decode()

    def __str__(self) -> str:
        return self.encode()

    @property
    def api(self) -> _APINode:
        """The token's operation, ``/1.0/operations/<id>`` (no I/O).

        :raises ValueError: for a token not made through a client.
        """
        if self.client is None or self.operation_id is None:
            raise ValueError(
                f"Cluster join token for {self.server_name!r} has no operation: "
                "it was not made by ClusterMember.create_token() or tokens()"
            )
        return self.client.api.operations[quote(self.operation_id, "Operation")]

    def revoke(self) -> None:
        """Revoke the token.

        Implements ``DELETE /1.0/operations/<id>``.

        :raises ValueError: for a token not made through a client.
        :raises LXDAPIException: when it was used or revoked already (LXD:
            "Only running operations can be cancelled"); NotFound once LXD
            forgot the operation.
        """
        self.api.delete()

    def fetch_certificate(self, address: str | None = None, timeout: float = 10) -> str:
        """Read the cluster certificate (PEM) from a member and check it.

        :raises ValueError: when its SHA-256 fingerprint is not the token's.
        :raises OSError: when the address cannot be reached.
        """
        host, _, port = (address or self.addresses[0]).rpartition(":")
        pem = ssl.get_server_certificate((host.strip("[]"), int(port)), timeout=timeout)
        digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
        if digest != self.fingerprint.lower():
            raise ValueError(
                f"The certificate of {address} (fingerprint {digest}) is not the one "
                f"of the join token ({self.fingerprint})"
            )
        return pem

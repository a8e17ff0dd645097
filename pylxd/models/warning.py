"""LXD warnings: ``/1.0/warnings``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd import exceptions
from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

#: The statuses a client may set (LXD sets ``resolved`` itself).
SETTABLE_STATUSES = ("new", "acknowledged")


class Warning(CollectionMixin, model.Model):  # shadows the builtin: the public name
    """A warning LXD recorded, ``/1.0/warnings/<uuid>`` (needs the ``warnings`` extension).

    ``client.warnings.all()`` lists them (``status``: new, acknowledged or
    resolved); a warning can be acknowledged, reset to new, and deleted.
    """

    _endpoint = "warnings"
    _key = "uuid"
    _api_extension = "warnings"

    uuid = model.Attribute[str](readonly=True)
    status = model.Attribute[str]()
    type = model.Attribute[str](readonly=True)
    severity = model.Attribute[str](readonly=True)
    count = model.Attribute[int](readonly=True)
    first_seen_at = model.Attribute[str](readonly=True)
    last_seen_at = model.Attribute[str](readonly=True)
    last_message = model.Attribute[str](readonly=True)
    entity_url = model.Attribute[str](readonly=True)
    location = model.Attribute[str](readonly=True)
    project = model.Attribute[str](readonly=True)

    @classmethod
    def all(cls, client: Client, status: str | None = None) -> list[Any]:
        """Return the warnings, fully loaded in one request.

        Implements ``GET /1.0/warnings?recursion=1``.

        :param status: keep only the warnings with this status.
        """
        warnings = super().all(client)
        if status is None:
            return warnings
        return [w for w in warnings if w.status == status]

    def set_status(self, status: str) -> None:
        """Set the warning's status to ``new`` or ``acknowledged``.

        Implements ``PUT /1.0/warnings/<uuid>``.

        :raises ValueError: for another status (LXD resolves warnings itself).
        """
        if status not in SETTABLE_STATUSES:
            raise exceptions.InvalidArgument(
                f"Warning {self.uuid} status can be set to 'new' or 'acknowledged', not {status!r}"
            )
        self.api.put(json={"status": status})
        object.__setattr__(self, "status", status)
        self.__orig__.pop("status", None)
        self.__dirty__.discard("status")

    def acknowledge(self) -> None:
        """Acknowledge the warning (``PUT /1.0/warnings/<uuid>``, status ``acknowledged``)."""
        self.set_status("acknowledged")

"""LXD profiles: ``/1.0/profiles``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin, RenameMixin, drop_none

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class Profile(CollectionMixin, RenameMixin, model.Model):
    """A LXD profile, ``/1.0/profiles/<name>``.

    ``save()`` replaces the whole profile (``PUT``), not a ``PATCH``.
    """

    _endpoint = "profiles"

    name = model.Attribute(readonly=True)
    description = model.Attribute()
    config = model.Attribute()
    devices = model.Attribute()
    used_by = model.Attribute(readonly=True)
    project = model.Attribute(readonly=True, optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        config: dict[str, Any] | None = None,
        devices: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> Profile:
        """Create a profile and return it as stored.

        Implements ``POST /1.0/profiles``.

        :raises Conflict: when a profile of that name exists.
        """
        body = drop_none(
            name=name, config=config, devices=devices, description=description
        )
        cls._post_collection(client, body)
        return cls.get(client, name)  # type: ignore[no-any-return]

    def rename(self, new_name: str) -> Profile:
        """Rename the profile (``POST /1.0/profiles/<name>``) and return it."""
        self._rename(new_name)
        return self.get(self.client, new_name)  # type: ignore[no-any-return]

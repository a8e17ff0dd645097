"""LXD profiles: ``/1.0/profiles``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd.models import _model as model
from pylxd.models._described import Described
from pylxd.models._mixins import CollectionMixin, RenameMixin

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class Profile(CollectionMixin, RenameMixin, Described):
    """A LXD profile, ``/1.0/profiles/<name>``.

    ``save()`` replaces the whole profile (``PUT`` of ``description``,
    ``config`` and ``devices``), not a ``PATCH``. In a project without
    ``features.profiles`` LXD serves the default project's profiles.
    """

    _endpoint = "profiles"

    devices = model.Attribute[dict[str, dict[str, str]]]()
    used_by = model.Attribute[list[str]](readonly=True)
    project = model.Attribute[str](readonly=True, optional=True)

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        config: dict[str, Any] | None = None,
        devices: dict[str, Any] | None = None,
        description: str | None = None,
        wait: bool = False,
    ) -> Profile:
        """Create a profile and return it as stored.

        Implements ``POST /1.0/profiles``.

        :param wait: wait for LXD's operation when it answers with one.

        :raises Conflict: when a profile of that name exists.
        :raises LXDAPIException: when LXD rejects the name, config or devices.
        """
        fields = {"config": config, "devices": devices, "description": description}
        return cls._create_named(client, name, fields, wait=wait)

    def rename(self, new_name: str, wait: bool = False) -> Profile:
        """Rename the profile and return it as stored under its new name.

        Implements ``POST /1.0/profiles/<name>``.

        :param wait: wait for LXD's operation when it answers with one.

        :raises Conflict: when a profile named ``new_name`` exists.
        :raises Forbidden: for the ``default`` profile.
        """
        self._rename(new_name, wait=wait)
        return self.get(self.client, new_name)

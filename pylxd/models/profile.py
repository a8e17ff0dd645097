"""LXD profiles: ``/1.0/profiles``."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Iterator

from pylxd import exceptions
from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin, RenameMixin, drop_none

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

#: How LXD 5.0 words a name clash it answers with HTTP 500 or a failed operation.
_DUPLICATE_MESSAGES = ("already exists", "already in use")


@contextlib.contextmanager
def duplicates_as_conflict() -> Iterator[None]:
    """Raise :class:`~pylxd.exceptions.Conflict` for a name clash, whatever
    status LXD gave it (5.0 answers a duplicate profile with HTTP 500)."""
    try:
        yield
    except exceptions.Conflict:
        raise
    except exceptions.LXDAPIException as err:
        if any(text in str(err) for text in _DUPLICATE_MESSAGES):
            raise exceptions.Conflict(err.response) from err
        raise


class Profile(CollectionMixin, RenameMixin, model.Model):
    """A LXD profile, ``/1.0/profiles/<name>``.

    ``save()`` replaces the whole profile (``PUT`` of ``description``,
    ``config`` and ``devices``), not a ``PATCH``. In a project without
    ``features.profiles`` LXD serves the default project's profiles.
    """

    _endpoint = "profiles"

    name: str = model.Attribute(readonly=True)  # type: ignore[assignment]
    description: str = model.Attribute()  # type: ignore[assignment]
    config: dict[str, str] = model.Attribute()  # type: ignore[assignment]
    devices: dict[str, dict[str, str]] = model.Attribute()  # type: ignore[assignment]
    used_by: list[str] = model.Attribute(readonly=True)  # type: ignore[assignment]
    project: str = model.Attribute(readonly=True, optional=True)  # type: ignore[assignment]

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
        :raises LXDAPIException: when LXD rejects the name, config or devices.
        """
        body = drop_none(
            name=name, config=config, devices=devices, description=description
        )
        with duplicates_as_conflict():
            cls._post_collection(client, body)
        return cls.get(client, name)  # type: ignore[no-any-return]

    def rename(self, new_name: str) -> Profile:
        """Rename the profile and return it as stored under its new name.

        Implements ``POST /1.0/profiles/<name>``.

        :raises Conflict: when a profile named ``new_name`` exists.
        :raises Forbidden: for the ``default`` profile.
        """
        with duplicates_as_conflict():
            self._rename(new_name)
        return self.get(self.client, new_name)  # type: ignore[no-any-return]

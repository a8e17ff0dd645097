"""LXD projects: ``/1.0/projects``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pylxd import exceptions
from pylxd.models import _model as model
from pylxd.models._described import Described
from pylxd.models._mixins import DescribedCollectionMixin, RenameMixin, quote

if TYPE_CHECKING:  # pragma: no cover
    from pylxd._transport import _APINode
    from pylxd.client import Client


class Project(DescribedCollectionMixin, RenameMixin, Described):
    """A LXD project, ``/1.0/projects/<name>`` (API extension ``projects``).

    Projects are not themselves scoped to a project: a client built with
    ``project=`` still sees every project here. ``create(client, name,
    description=None, config=None)`` leaves LXD to turn on the ``features.*``
    not given (images, profiles, storage volumes). ``save()`` replaces
    ``description`` and ``config`` (``PUT``). To work inside another project
    without a second connection, use ``client.with_project(name)``.
    """

    _endpoint = "projects"
    _api_extension = "projects"

    used_by = model.Attribute[list[str]](readonly=True)

    @classmethod
    def _collection(cls, client: Client) -> _APINode:
        client.assert_has_api_extension("projects")
        return _unscoped(client).projects

    @property
    def api(self) -> _APINode:
        return _unscoped(self.client).projects[quote(self.name, "Project")]

    def rename(self, new_name: str, wait: bool = True) -> Project:
        """Rename the project and return it as stored under its new name.

        Implements ``POST /1.0/projects/<name>``.

        :raises Conflict: when a project named ``new_name`` exists.
        """
        self._rename(new_name, wait=wait)
        return self.get(self.client, new_name)

    def state(self) -> model.AttributeDict:
        """Return the project's resource usage and limits.

        Implements ``GET /1.0/projects/<name>/state``: ``state().resources``
        maps ``containers``, ``cpu``, ``disk``, ``instances``, ``memory``,
        ``networks``, ``processes``... to ``{"Limit": n, "Usage": n}``
        (``-1``: no limit).
        """
        return model.AttributeDict(exceptions.metadata_of(self.api.state.get()))

    def access(self) -> list[model.AttributeDict]:
        """Tell who has access to the project: ``identifier``, ``role``, ``provider``.

        Implements ``GET /1.0/projects/<name>/access`` (Incus, API extension
        ``project_access``).

        :raises LXDAPIExtensionNotAvailable: without ``project_access``.
        """
        self.client.assert_has_api_extension("project_access")
        response = self.api.access.get()
        return [
            model.AttributeDict(e)
            for e in exceptions.metadata_of(response, (list, type(None)), items=dict)
            or ()
        ]


def _unscoped(client: Client) -> _APINode:
    """The API root without the client's project (projects are global)."""
    return client.api.sibling(project=None)

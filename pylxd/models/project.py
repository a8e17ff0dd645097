"""LXD projects: ``/1.0/projects``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pylxd.models import _model as model
from pylxd.models._mixins import CollectionMixin, RenameMixin, drop_none

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client


class Project(CollectionMixin, RenameMixin, model.Model):
    """A LXD project, ``/1.0/projects/<name>`` (API extension ``projects``).

    Projects are not themselves scoped to a project: a client built with
    ``project=`` still sees every project here.
    """

    _endpoint = "projects"
    _api_extension = "projects"

    name = model.Attribute(readonly=True)
    description = model.Attribute()
    config = model.Attribute()
    used_by = model.Attribute(readonly=True)

    @classmethod
    def _collection(cls, client: Client) -> Any:
        client.assert_has_api_extension("projects")
        return _unscoped(client).projects

    @property
    def api(self) -> Any:
        from pylxd.models._mixins import quote

        return _unscoped(self.client).projects[quote(self.name)]

    @classmethod
    def create(
        cls,
        client: Client,
        name: str,
        description: str | None = None,
        config: dict[str, Any] | None = None,
    ) -> Project:
        """Create a project and return it as stored.

        Implements ``POST /1.0/projects``.

        :raises Conflict: when a project of that name exists.
        """
        cls._post_collection(
            client, drop_none(name=name, description=description, config=config)
        )
        return cls.get(client, name)  # type: ignore[no-any-return]

    def rename(self, new_name: str, wait: bool = True) -> Project:
        """Rename the project (``POST /1.0/projects/<name>``) and return it."""
        self._rename(new_name, wait=wait)
        return self.get(self.client, new_name)  # type: ignore[no-any-return]

    def state(self) -> model.AttributeDict:
        """Return the project's resource usage (``GET /1.0/projects/<name>/state``)."""
        return model.AttributeDict(self.api.state.get().json()["metadata"])


def _unscoped(client: Client) -> Any:
    """The API root without the client's project (projects are global)."""
    from pylxd._transport import _APINode

    root = client.api
    return _APINode(root._api_endpoint, timeout=root._timeout, session=root.session)

"""The fields most LXD objects share, declared once."""

from __future__ import annotations

from pylxd.models import _model as model


class Described(model.Model):
    """An object named by ``name``, with a ``description`` and a ``config``.

    Networks and their peers, ACLs, zones and their records, integrations,
    profiles, projects, storage pools, volumes and buckets all have these
    three: the name in their URL and the two fields of LXD's ``...Put``
    structs they share. A model lists only what it adds.
    """

    name = model.Attribute[str](readonly=True)
    description = model.Attribute[str]()
    config = model.Attribute[dict[str, str]]()

"""LXD metrics: ``/1.0/metrics`` (Prometheus/OpenMetrics text) and a parsed form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # pragma: no cover
    from pylxd.client import Client

#: Sample-name suffixes that belong to a family declared without them.
_SUFFIXES = ("_total", "_count", "_sum", "_bucket", "_created", "_info")

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True)
class Sample:
    """One line of metrics: ``name{labels} value [timestamp]``."""

    name: str
    labels: dict[str, str]
    value: float
    timestamp: float | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        """Tell whether the sample carries every label of ``labels``."""
        return all(self.labels.get(key) == value for key, value in labels.items())


@dataclass
class MetricFamily:
    """The samples of one metric, with its ``# TYPE`` and ``# HELP``."""

    name: str
    type: str = "unknown"
    help: str = ""
    samples: list[Sample] = field(default_factory=list)


class Metrics:
    """The metrics of the instances LXD runs, as text and parsed.

    >>> metrics = Metrics('# TYPE lxd_procs_total gauge\\n'
    ...                   'lxd_procs_total{name="c1",project="default"} 2\\n# EOF\\n')
    >>> metrics.value("lxd_procs_total", name="c1")
    2.0
    >>> metrics.families["lxd_procs_total"].type
    'gauge'
    """

    __slots__ = ("text", "families")

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = parse_metrics(text)

    @classmethod
    def get(cls, client: Client, target: str | None = None) -> Metrics:
        """Read the server's metrics.

        Implements ``GET /1.0/metrics`` (needs the ``metrics`` extension).

        :param target: the cluster member to read them from.
        """
        client.assert_has_api_extension("metrics")
        params = {"target": target} if target is not None else {}
        return cls(client.api.metrics.get(params=params).text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<Metrics: {len(self.families)} families>"

    def __iter__(self) -> Iterator[Sample]:
        for family in self.families.values():
            yield from family.samples

    def samples(self, metric: str, /, **labels: str) -> list[Sample]:
        """Return the samples called ``metric`` that carry all ``labels``.

        Incus names LXD's metrics ``incus_*`` for ``lxd_*``: a name with one
        prefix finds the samples of the other when it has none of its own.

        >>> Metrics('incus_procs_total{name="c1"} 2\\n').value("lxd_procs_total")
        2.0
        """
        for name in (metric, _other_daemon_name(metric)):
            found = [s for s in self if s.name == name and s.matches(labels)]
            if found:
                return found
        return []

    def value(self, metric: str, /, **labels: str) -> float:
        """Return the value of the one sample called ``metric`` with ``labels``.

        :raises KeyError: when no sample matches.
        :raises ValueError: when several do (add labels to pick one).
        """
        found = self.samples(metric, **labels)
        if not found:
            raise KeyError(f"No metric sample {metric!r} with labels {labels}")
        if len(found) > 1:
            raise ValueError(
                f"{len(found)} metric samples {metric!r} match {labels}: add labels"
            )
        return found[0].value


def _other_daemon_name(metric: str) -> str:
    """``lxd_x`` <-> ``incus_x`` (the same metric on LXD and on Incus)."""
    for mine, other in (("lxd_", "incus_"), ("incus_", "lxd_")):
        if metric.startswith(mine):
            return other + metric[len(mine) :]
    return metric


def parse_metrics(text: str) -> dict[str, MetricFamily]:
    """Parse Prometheus/OpenMetrics text into families keyed by name.

    >>> families = parse_metrics('# HELP x_total Things.\\n# TYPE x_total counter\\n'
    ...                          'x_total{a="1",b="q\\\\"uote"} 3 1700000000\\n')
    >>> families["x_total"].samples[0]
    Sample(name='x_total', labels={'a': '1', 'b': 'q"uote'}, value=3.0, timestamp=1700000000.0)

    :raises ValueError: for a line that is not valid, naming its number.
    """
    families: dict[str, MetricFamily] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith("#"):
                _parse_comment(line, families)
            else:
                sample = _parse_sample(line)
                _family_of(sample.name, families).samples.append(sample)
        except ValueError as err:
            raise ValueError(
                f"Invalid metrics line {number}: {line!r}: {err}"
            ) from None
    return families


def _parse_comment(line: str, families: dict[str, MetricFamily]) -> None:
    parts = line[1:].strip().split(None, 2)
    if len(parts) < 2 or parts[0] not in ("HELP", "TYPE"):
        return  # "# EOF" and free comments
    family = families.setdefault(parts[1], MetricFamily(parts[1]))
    text = parts[2] if len(parts) > 2 else ""
    if parts[0] == "TYPE":
        family.type = text
    else:
        family.help = text.replace("\\n", "\n").replace("\\\\", "\\")


def _family_of(name: str, families: dict[str, MetricFamily]) -> MetricFamily:
    if name in families:
        return families[name]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return families[name[: -len(suffix)]]
    return families.setdefault(name, MetricFamily(name))


def _parse_sample(line: str) -> Sample:
    brace = line.find("{")
    space = line.find(" ")
    if brace != -1 and (space == -1 or brace < space):
        name = line[:brace]
        labels, rest = _parse_labels(line, brace + 1)
    else:
        if space == -1:
            raise ValueError("no value")
        name, labels, rest = line[:space], {}, line[space:]
    fields = rest.split()
    if not name or not 1 <= len(fields) <= 2:
        raise ValueError("expected a name, a value and an optional timestamp")
    value = float(fields[0])
    timestamp = float(fields[1]) if len(fields) == 2 else None
    if timestamp is not None and math.isnan(timestamp):
        raise ValueError("the timestamp is not a number")
    return Sample(name, labels, value, timestamp)


def _parse_labels(line: str, pos: int) -> tuple[dict[str, str], str]:
    """Read ``key="value",...}`` from ``pos``; return the labels and the rest."""
    labels: dict[str, str] = {}
    while True:
        while pos < len(line) and line[pos] in " ,":
            pos += 1
        if line.startswith("}", pos):
            return labels, line[pos + 1 :]
        equals = line.find("=", pos)
        if equals == -1 or not line.startswith('"', equals + 1):
            raise ValueError('expected key="value" in the labels')
        key = line[pos:equals].strip()
        value, pos = _parse_quoted(line, equals + 2)
        labels[key] = value


def _parse_quoted(line: str, pos: int) -> tuple[str, int]:
    """Read a label value up to its closing quote; return it and the next position."""
    out: list[str] = []
    while pos < len(line):
        char = line[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(line):
            pos += 1
            out.append(_ESCAPES.get(line[pos], "\\" + line[pos]))
        else:
            out.append(char)
        pos += 1
    raise ValueError("a label value is not closed")

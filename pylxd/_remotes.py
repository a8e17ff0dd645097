"""Remotes of the ``lxc`` and ``incus`` tools, for ``Client.from_remote``.

``lxc remote add`` (and ``incus remote add``) store in their configuration
directory a ``config.yml`` naming the remotes and the default one, the
client certificate (``client.crt``/``client.key``) and each remote's server
certificate (``servercerts/<remote>.crt``). :func:`client_arguments` turns
one remote into the arguments of :class:`pylxd.Client`.

The tools write ``config.yml`` with Go's YAML library in block style; the
small reader here reads that subset (block mappings and sequences, plain and
quoted scalars, ``{}`` and ``[]``), so PyYAML is not needed, and refuses
anything else with a clear error rather than guessing.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, NoReturn

from pylxd import exceptions
from pylxd._transport import INCUS_SOCKET
from pylxd._types import JSONDict

#: Remote protocols that are LXD API servers (``incus`` is Incus's name).
API_PROTOCOLS = ("lxd", "incus")

_DEFAULT_CONFIG: JSONDict = {
    "default-remote": "local",
    "remotes": {"local": {"addr": "unix://", "public": False}},
}


# -- the YAML subset ----------------------------------------------------------
class _Lines:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.items: list[tuple[int, str, int]] = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = _strip_comment(raw).rstrip()
            if line.strip() and line.strip() not in ("---", "..."):
                if "\t" in line[: len(line) - len(line.lstrip())]:
                    self.fail(number, "tabs are not allowed for indentation")
                self.items.append(
                    (len(line) - len(line.lstrip()), line.strip(), number)
                )
        self.pos = 0

    def fail(self, number: int, why: str) -> NoReturn:
        raise exceptions.ClientConnectionFailed(
            f"Cannot read {self.source}: line {number}: {why}"
        )


def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


_PLAIN = {"true": True, "false": False, "null": None, "~": None, "": None}


def _scalar(text: str, lines: _Lines, number: int) -> Any:
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    if text[:1] in ("{", "[", "&", "*", "!", "|", ">"):
        lines.fail(number, f"unsupported YAML ({text[:20]!r})")
    if text[:1] == "'" and text[-1:] == "'" and len(text) > 1:
        return text[1:-1].replace("''", "'")
    if text[:1] == '"' and text[-1:] == '"' and len(text) > 1:
        try:
            return json.loads(text)
        except ValueError:
            lines.fail(number, f"bad double-quoted string {text!r}")
    if text.lower() in _PLAIN:
        return _PLAIN[text.lower()]
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    return text


def _split_key(content: str, lines: _Lines, number: int) -> tuple[str, str]:
    match = re.match(
        r"""^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:]+?):(?:\s+(.*))?$""", content
    )
    if match is None:
        lines.fail(number, f"expected 'key: value', got {content!r}")
    key = _scalar(match.group(1), lines, number)
    return str(key), (match.group(2) or "").strip()


def _block(lines: _Lines, indent: int) -> Any:
    """Read the mapping or sequence whose items are at ``indent``."""
    if lines.pos >= len(lines.items):
        return None
    is_list = (
        lines.items[lines.pos][1].startswith("- ") or lines.items[lines.pos][1] == "-"
    )
    result: Any = [] if is_list else {}
    while lines.pos < len(lines.items):
        level, content, number = lines.items[lines.pos]
        if level < indent:
            break
        if level > indent:
            lines.fail(number, "unexpected indentation")
        lines.pos += 1
        if is_list:
            if not (content.startswith("- ") or content == "-"):
                lines.fail(number, "expected a '- ' list item")
            result.append(_value(content[1:].strip(), lines, indent, number))
            continue
        key, rest = _split_key(content, lines, number)
        if key in result:
            lines.fail(number, f"duplicate key {key!r}")
        result[key] = _value(rest, lines, indent, number)
    return result


def _value(rest: str, lines: _Lines, indent: int, number: int) -> Any:
    if rest:
        if rest.startswith("- ") or re.match(r"^[^'\"{\[].*?:(\s|$)", rest):
            lines.fail(number, "compact nested collections are not supported")
        return _scalar(rest, lines, number)
    nxt = lines.items[lines.pos] if lines.pos < len(lines.items) else None
    if nxt is not None and nxt[0] > indent:
        return _block(lines, nxt[0])
    if nxt is not None and nxt[0] == indent and nxt[1].startswith("- "):
        return _block(lines, indent)  # Go writes list items at the key's level
    return None


def parse_config(text: str, source: str = "config.yml") -> JSONDict:
    """Read a ``config.yml`` as the ``lxc``/``incus`` tools write it.

    >>> parse_config("default-remote: s1\\nremotes:\\n  s1:\\n    addr: https://h:8443\\n"
    ...              "    public: false\\naliases: {}\\n")
    {'default-remote': 's1', 'remotes': {'s1': {'addr': 'https://h:8443', 'public': False}}, 'aliases': {}}

    :raises ClientConnectionFailed: naming the line of what it cannot read.
    """
    lines = _Lines(text, source)
    if not lines.items:
        return {}
    if lines.items[0][0] != 0:
        lines.fail(lines.items[0][2], "the document must start at column 0")
    document = _block(lines, 0)
    if lines.pos < len(lines.items):
        lines.fail(lines.items[lines.pos][2], "unexpected indentation")
    if not isinstance(document, dict):
        raise exceptions.ClientConnectionFailed(f"Cannot read {source}: not a mapping")
    return document


# -- finding the configuration -------------------------------------------------
def config_dirs() -> list[tuple[str, str]]:
    """Where the tools keep their configuration, in the order looked at:
    ``$LXD_CONF``, the snap's, ``~/.config/lxc``, ``$INCUS_CONF``,
    ``~/.config/incus``; each with its tool (``"lxd"`` or ``"incus"``)."""
    home = os.path.expanduser("~")
    found = []
    if os.environ.get("LXD_CONF"):
        found.append((os.environ["LXD_CONF"], "lxd"))
    found += [
        (os.path.join(home, "snap", "lxd", "common", "config"), "lxd"),
        (os.path.join(home, ".config", "lxc"), "lxd"),
    ]
    if os.environ.get("INCUS_CONF"):
        found.append((os.environ["INCUS_CONF"], "incus"))
    found.append((os.path.join(home, ".config", "incus"), "incus"))
    return found


def _tool_of(config_dir: str) -> str:
    return (
        "incus" if "incus" in os.path.basename(os.path.normpath(config_dir)) else "lxd"
    )


def load(config_dir: str | None) -> tuple[str | None, str, JSONDict]:
    """The configuration directory, its tool and its parsed ``config.yml``
    (the tools' built-in default, a ``local`` remote, when there is none)."""
    if config_dir is not None:
        candidates = [(os.fspath(config_dir), _tool_of(os.fspath(config_dir)))]
    else:
        candidates = config_dirs()
    for directory, tool in candidates:
        path = os.path.join(directory, "config.yml")
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            continue
        except OSError as err:
            raise exceptions.ClientConnectionFailed(
                f"Cannot read {path}: {err.strerror}"
            ) from err
        return directory, tool, parse_config(text, path)
    if config_dir is not None:  # a directory without config.yml: the default
        return candidates[0][0], candidates[0][1], _DEFAULT_CONFIG
    return None, "lxd", _DEFAULT_CONFIG


def _local_socket(addr: str, tool: str) -> str:
    path = addr[len("unix://") :]
    if path:
        return path
    if tool == "incus":
        incus_dir = os.environ.get("INCUS_DIR")
        return os.path.join(incus_dir, "unix.socket") if incus_dir else INCUS_SOCKET
    from pylxd._transport import default_socket_path

    return default_socket_path()


def client_arguments(name: str | None, config_dir: str | None) -> JSONDict:
    """The :class:`pylxd.Client` arguments for remote ``name`` (None: the
    default remote): ``endpoint``, and ``cert``, ``verify``, ``project`` when
    the remote has them.

    :raises InvalidArgument: for an unknown remote, or one that is an image
        server (``simplestreams``), not an LXD API server.
    """
    directory, tool, config = load(config_dir)
    remotes = config.get("remotes") or {}
    if not isinstance(remotes, dict):
        raise exceptions.InvalidArgument(
            f"{directory}/config.yml: 'remotes' is not a mapping"
        )
    if name is None:
        name = str(config.get("default-remote") or "local")
    remote = remotes.get(name)
    if name == "local" and remote is None:
        remote = {"addr": "unix://"}
    if not isinstance(remote, dict):
        known = ", ".join(sorted(remotes)) or "none"
        raise exceptions.InvalidArgument(
            f"No remote {name!r} in {directory or 'the default configuration'} "
            f"(remotes: {known})"
        )
    protocol = remote.get("protocol") or "lxd"
    if protocol not in API_PROTOCOLS:
        raise exceptions.InvalidArgument(
            f"Remote {name!r} is a {protocol} image server ({remote.get('addr')}), "
            "not an LXD server: it serves images, not instances"
        )
    return _arguments(name, remote, directory, tool)


def _arguments(
    name: str, remote: JSONDict, directory: str | None, tool: str
) -> JSONDict:
    addr = str(remote.get("addr") or "")
    arguments: JSONDict = {}
    project = remote.get("project")
    if project:
        arguments["project"] = str(project)
    if addr.startswith("unix:"):
        arguments["endpoint"] = _local_socket(addr, tool)
        return arguments
    if not addr.startswith("https://"):
        raise exceptions.InvalidArgument(
            f"Remote {name!r} has an address pylxd cannot use: {addr!r}"
        )
    arguments["endpoint"] = addr
    if directory is not None:
        crt, key = (os.path.join(directory, f"client.{ext}") for ext in ("crt", "key"))
        if os.path.exists(crt) and os.path.exists(key):
            arguments["cert"] = (crt, key)
        pinned = os.path.join(directory, "servercerts", f"{name}.crt")
        if os.path.exists(pinned):
            arguments["verify"] = pinned
    return arguments

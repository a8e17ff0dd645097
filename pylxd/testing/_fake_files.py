"""Fake LXD: instance files (``/1.0/instances/<name>/files``).

Each instance has an in-memory filesystem in
``fake.store("files", project)[instance_name]``: a dict mapping absolute
paths to entries ``{"type": "file"|"directory"|"symlink", "mode": int,
"uid": int, "gid": int, "content": bytes}`` (a symlink's content is its
target as created; a directory's is ``b""``; like LXD 5.0, ``GET`` answers
a symlink's target joined to the link's directory and normalised). It is created on first use with ``/``,
``/etc``, ``/root`` and ``/tmp``. Tests may seed it directly with
:func:`filesystem` and :func:`add_entry`.

The answers imitate LXD 5.0.2 as measured on a real daemon: ``Instance not
found`` and a bare ``Not Found`` (missing path or parent, append to a missing
file), ``Missing path argument``, ``Bad file type``/``Bad file write mode``,
sftp errors with status 500, ``X-LXD-mode`` parsed with Go's base-0 rules
and masked to ``0777``, a replaced file keeping its mode and owner, existing
directories left as they are.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pylxd.testing._fake import FakeError, FakeLXD, FakeRequest, Reply, route
from pylxd.testing._fake_helpers import instance_owned

_FILES = r"/1.0/(?:instances|containers|virtual-machines)/(?P<name>[^/]+)/files"
_TYPES = ("file", "directory", "symlink")
_DEFAULT_MODES = {"file": 0o644, "directory": 0o750, "symlink": 0o777}
_MAX_LINKS = 40  # like the kernel's ELOOP limit


def _entry(
    kind: str, mode: int, content: bytes = b"", uid: int = 0, gid: int = 0
) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": mode,
        "uid": uid,
        "gid": gid,
        "content": content,
        "modified": datetime.now(timezone.utc),
    }


def _seed() -> dict[str, dict[str, Any]]:
    return {
        "/": _entry("directory", 0o755),
        "/etc": _entry("directory", 0o755),
        "/root": _entry("directory", 0o700),
        "/tmp": _entry("directory", 0o1777),
    }


def filesystem(fake: FakeLXD, name: str, project: str = "default") -> dict[str, Any]:
    """The filesystem of instance ``name``; FakeError 404 if there is no such instance.

    A filesystem belongs to the instance object it was made for: an instance
    deleted and created again under the same name starts empty, a renamed
    one keeps its files.
    """
    return instance_owned(fake, "files", project, name, _seed)


def add_entry(
    fs: dict[str, Any],
    path: str,
    kind: str = "file",
    content: bytes = b"",
    mode: int | None = None,
    uid: int = 0,
    gid: int = 0,
) -> None:
    """Seed an entry (parents are not checked: tests build what they need)."""
    fs[path] = _entry(
        kind, _DEFAULT_MODES[kind] if mode is None else mode, content, uid, gid
    )


def _normalize(path: str) -> str:
    return posixpath.normpath("/" + path).replace("//", "/")


def _resolve(fs: dict[str, Any], path: str, follow_last: bool = False) -> str:
    """Resolve symlinks in the parents of ``path`` (and in the last part if asked)."""
    parts = [p for p in _normalize(path).split("/") if p]
    current = "/"
    hops = 0
    while parts:
        part = parts.pop(0)
        candidate = posixpath.join(current, part)
        entry = fs.get(candidate)
        is_last = not parts
        if entry is None or entry["type"] != "symlink" or (is_last and not follow_last):
            current = candidate
            continue
        hops += 1
        if hops > _MAX_LINKS:
            raise FakeError(
                500,
                f'sftp: "stat {path}: too many levels of symbolic links" (SSH_FX_FAILURE)',
            )
        target = entry["content"].decode("utf-8", "surrogateescape")
        base = "/" if target.startswith("/") else current
        parts = [
            p for p in _normalize(posixpath.join(base, target)).split("/") if p
        ] + parts
        current = "/"
    return _normalize(current)


def _path_arg(request: FakeRequest) -> str:
    path = request.query.get("path", "")
    if not path:
        raise FakeError(400, "Missing path argument")
    return path


def _children(fs: dict[str, Any], directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return [
        p[len(prefix) :]
        for p in fs
        if p != directory and p.startswith(prefix) and "/" not in p[len(prefix) :]
    ]


def _headers(entry: dict[str, Any]) -> dict[str, str]:
    return {
        "X-LXD-type": entry["type"],
        "X-LXD-mode": f"{entry['mode'] & 0o777:04o}",
        "X-LXD-uid": str(entry["uid"]),
        "X-LXD-gid": str(entry["gid"]),
        "X-LXD-modified": entry["modified"].strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
    }


def _lookup(
    fake: FakeLXD, request: FakeRequest, name: str
) -> tuple[str, dict[str, Any]]:
    fs = filesystem(fake, name, request.project)
    path = _resolve(fs, _path_arg(request))
    entry = fs.get(path)
    if entry is None:
        raise FakeError(404, "Not Found")
    return path, entry


@route("GET", _FILES)
def _files_get(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    path, entry = _lookup(fake, request, name)
    if entry["type"] == "directory":
        reply = fake.sync(_children(filesystem(fake, name, request.project), path))
        reply.headers.update(_headers(entry))
        return reply
    content = entry["content"]
    if entry["type"] == "symlink":  # LXD answers the target made absolute
        target = content.decode("utf-8", "surrogateescape")
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        content = target.encode("utf-8", "surrogateescape")
    return fake.raw(
        content,
        **_headers(entry),
        **{
            "Content-Length": str(len(content)),
            "Content-Disposition": f"inline;filename={posixpath.basename(path)}",
        },
    )


@route("HEAD", _FILES)
def _files_head(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    try:
        _, entry = _lookup(fake, request, name)
    except FakeError as failure:  # HEAD answers carry no body
        return Reply(failure.status, b"", {"Content-Type": "application/json"})
    return Reply(200, b"", _headers(entry))  # LXD 5.0 sends no length here


def _go_int(value: str | None) -> int | None:
    """Parse like Go's ``strconv.ParseInt(value, 0, 0)``; None when invalid."""
    if not value:
        return None
    text = value.lower()
    try:
        if text.startswith("0x"):
            return int(text[2:], 16)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0b"):
            return int(text[2:], 2)
        if text.startswith("0") and len(text) > 1:
            return int(text[1:], 8)
        return int(text, 10)
    except ValueError:
        return None


@route("POST", _FILES)
def _files_post(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    fs = filesystem(fake, name, request.project)
    raw_path = _path_arg(request)
    kind = request.headers.get("X-LXD-type") or "file"
    if kind not in _TYPES:
        raise FakeError(400, f"Bad file type: {kind}")
    write = request.headers.get("X-LXD-write") or "overwrite"
    if write not in ("overwrite", "append"):
        raise FakeError(400, f"Bad file write mode: {write}")
    path = _resolve(fs, raw_path, follow_last=(kind == "file"))
    parent = fs.get(posixpath.dirname(path))
    if parent is None:
        raise FakeError(404, "Not Found")
    if parent["type"] != "directory":
        raise FakeError(
            500, f'sftp: "open {raw_path}: not a directory" (SSH_FX_FAILURE)'
        )
    owner = {k: _go_int(request.headers.get(f"X-LXD-{k}")) for k in ("uid", "gid")}
    mode = _go_int(request.headers.get("X-LXD-mode"))
    _WRITERS[kind](_Write(fs, path, raw_path, request.data, write, mode, owner))
    return fake.empty()


@dataclass
class _Write:
    """One ``POST .../files``: where, what, and how."""

    fs: dict[str, Any]
    path: str  # resolved
    raw: str  # as asked, for LXD's messages
    data: bytes
    write: str  # overwrite or append
    mode: int | None
    owner: dict[str, int | None]

    def create(self, kind: str, content: bytes) -> None:
        """Make the entry at :attr:`path` with the asked mode and owner."""
        mode = _DEFAULT_MODES[kind] if self.mode is None else self.mode & 0o777
        uid, gid = self.owner["uid"] or 0, self.owner["gid"] or 0
        self.fs[self.path] = _entry(kind, mode, content, uid, gid)


def _write_file(w: _Write) -> None:
    existing = w.fs.get(w.path)
    if existing is not None:
        if existing["type"] == "directory":
            raise FakeError(
                500, f'sftp: "open {w.raw}: is a directory" (SSH_FX_FAILURE)'
            )
        content = existing["content"] + w.data if w.write == "append" else w.data
        existing["content"] = content
        existing["modified"] = datetime.now(timezone.utc)
        return
    if w.write == "append":
        raise FakeError(404, "Not Found")
    w.create("file", w.data)


def _write_directory(w: _Write) -> None:
    if w.path not in w.fs:  # LXD leaves an existing entry (even a file) alone
        w.create("directory", b"")


def _write_symlink(w: _Write) -> None:
    if w.path in w.fs:
        text = w.data.decode("utf-8", "replace")
        raise FakeError(
            500, f'sftp: "symlink {text} {w.raw}: file exists" (SSH_FX_FAILURE)'
        )
    w.fs[w.path] = _entry("symlink", 0o777, w.data)


_WRITERS = {
    "file": _write_file,
    "directory": _write_directory,
    "symlink": _write_symlink,
}


@route("DELETE", _FILES)
def _files_delete(fake: FakeLXD, request: FakeRequest, name: str) -> Reply:
    fs = filesystem(fake, name, request.project)
    raw = _path_arg(request)
    path = _resolve(fs, raw)
    entry = fs.get(path)
    if entry is None:
        raise FakeError(404, "Not Found")
    if path == "/":
        raise FakeError(
            500, 'sftp: "remove /: device or resource busy" (SSH_FX_FAILURE)'
        )
    if entry["type"] == "directory" and _children(fs, path):
        raise FakeError(
            500, f'sftp: "remove {raw}: directory not empty" (SSH_FX_FAILURE)'
        )
    del fs[path]
    return fake.empty()

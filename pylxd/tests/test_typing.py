"""The public API is typed: mypy sees models, not ``Any``, through the managers.

``typing/reveal_api.py`` calls ``reveal_type`` on the things users touch
(``client.instances.get(...)``, ``instance.config``, ...); each call has the
expected type in the comment above it. This test runs mypy on that file
with the project's configuration and compares.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

HERE = Path(__file__).parent
CHECKED = HERE / "typing" / "reveal_api.py"
CONFIG = HERE.parent.parent / "setup.cfg"
REVEALED = re.compile(r':(\d+): note: Revealed type is "(.*)"$')


def expected_types() -> dict[int, str]:
    """Line of each ``reveal_type`` call -> the type named in the comment above."""
    lines = CHECKED.read_text().splitlines()
    return {
        number: lines[number - 2].strip().removeprefix("# ")
        for number, line in enumerate(lines, start=1)
        if line.strip().startswith("reveal_type(")
    }


@pytest.fixture(scope="module")
def mypy_report() -> tuple[str, int]:
    args = [str(CHECKED), "--no-error-summary"]
    if CONFIG.exists():  # the source tree's settings (absent in an sdist)
        args += ["--config-file", str(CONFIG)]
    stdout, stderr, status = mypy_api.run(args)
    return stdout + stderr, status


def test_mypy_finds_no_error_in_typed_use(mypy_report: tuple[str, int]) -> None:
    report, _status = mypy_report
    errors = [line for line in report.splitlines() if ": error:" in line]
    assert errors == []


def test_revealed_types_are_the_declared_ones(mypy_report: tuple[str, int]) -> None:
    report, _status = mypy_report
    revealed = {
        # mypy before 1.x wrote "builtins.str" where later ones write "str".
        int(match.group(1)): match.group(2).replace("builtins.", "")
        for match in map(REVEALED.search, report.splitlines())
        if match
    }
    expected = expected_types()
    assert len(expected) >= 20
    assert revealed == expected

"""The benchmark suite runs (``python -m benchmarks --quick``) against the real LXD.

Only two short scenarios run here, in a few seconds: the suite itself is not
part of the timed test run (see ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def test_quick_suite_reports_tables_and_targets(
    lxd_env: dict[str, Any], client: Any, tmp_path: Path
) -> None:
    report = tmp_path / "report.md"
    env = dict(os.environ, LXD_DIR=lxd_env["main"]["lxd_dir"])
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--output", str(report)]
        + ["--only", "bench_events", "--only", "import"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    text = report.read_text()
    assert "FAILED" not in text
    assert "| pylxd |" in text and "| raw |" in text  # the events latency table
    assert "first Client() <= 2 ms CPU:" in text  # a verdict on a target
    assert "heavy modules loaded after Client() (ours): []" in text

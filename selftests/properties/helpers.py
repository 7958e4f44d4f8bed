"""Run the real property modules (suite/test_properties.py + its verdicts) in a pytest subprocess
against a reference-server variant."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ADMIN, PASSWORD, EMAIL = "rcc-prop-admin", "Prop-Admin-Pa55-word!", "rcc-prop-admin@example.com"
SCHEMA_IDS = ("SCHEMA-01", "SCHEMA-02", "SCHEMA-03", "SCHEMA-04")


@dataclass
class SuiteRun:
    returncode: int
    output: str
    report: dict[str, Any]

    def status(self, requirement: str) -> str:
        return next(r["status"] for r in self.report["requirements"] if r["id"] == requirement)

    def statuses(self) -> dict[str, str]:
        return {rid: self.status(rid) for rid in SCHEMA_IDS}

    @property
    def properties(self) -> dict[str, Any]:
        return self.report["properties"]


def run_properties(url: str, report_dir: Path, *, examples: int, seed: int, timeout: float = 240,
                   extra: tuple[str, ...] = ()) -> SuiteRun:
    """pytest on the two property modules against `url` as the admin (credentials via env, never argv)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update({"RCC_ADMIN_USER": ADMIN, "RCC_ADMIN_PASSWORD": PASSWORD})
    suite = ROOT / "rc_e2e_conformance" / "suite"
    cmd = [sys.executable, "-m", "pytest", str(suite / "test_properties.py"),
           str(suite / "test_verdicts_of_generated_requests.py"), "-p", "no:cacheprovider",
           "-q", "-s", "--rcc-url", url, "--rcc-examples", str(examples), "--rcc-seed", str(seed),
           "--rcc-report-dir", str(report_dir), *extra]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    report_path = report_dir / "report.json"
    assert report_path.is_file(), f"no report.json; pytest said:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}"
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, json.loads(report_path.read_text()))

"""Whole-suite runs against defective servers end in FAIL (exit 1), never "could not judge" (exit 2).

CI pipelines retry exit 2 as infrastructure trouble: a broken release must get exit 1, even when the
defect also spoils the set-up of other requirements (which then end in error, listed in the report).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DEFECTIVE = {  # the mutant → a MUST requirement it must fail
    "two_factor_skipped": "TFA-01",  # accepts calls without a code
    "any_code_accepted": "TFA-02",  # accepts any code
    "ok_body_off_schema": "OK-01",  # answers {"success": "true"}
    "wrong_user_reset": "EFFECT-03",  # resets the caller instead of the target
}


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(DEFECTIVE))
def test_a_defective_server_fails_the_whole_run(mutant: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    run = subprocess.run([sys.executable, "-m", "rc_e2e_conformance", "run", "--refserver-mutant", mutant,
                          "--examples", "5", "--seed", "1", "--report-dir", str(tmp_path), "--quiet"],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    report = json.loads((tmp_path / "report.json").read_text())
    status = {r["id"]: r["status"] for r in report["requirements"]}
    assert status[DEFECTIVE[mutant]] == "fail", status
    assert (run.returncode, report["verdict"]) == (1, "fail"), (run.returncode, report["verdict_reason"], run.stderr)

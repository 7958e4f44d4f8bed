"""A run right after one that used up the rate-limit window waits for the window, says so in one line, and judges."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rc_e2e_conformance.refserver.server import serve_in_thread

ADMIN, PASSWORD = "admin", "s3cret-admin-pass"


def test_a_second_run_waits_out_the_window_instead_of_erroring(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(RCC_ADMIN_USER=ADMIN, RCC_ADMIN_PASSWORD=PASSWORD)
    window = {"API_Enable_Rate_Limiter_Limit_Time_Default": "8000"}  # 8 s instead of 60: same rule, shorter wait
    runs = []
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="a@example.com",
                         settings=window) as server:
        for n in (1, 2):
            out = tmp_path / f"run{n}"
            runs.append((out, subprocess.run(
                [sys.executable, "-m", "rc_e2e_conformance", "run", "--url", server.url, "--report-dir", str(out),
                 "--quiet", "--allow-rate-limit-probe", "--requirement", "RATE-01", "--requirement", "PERM-01"],
                capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)))
    (_, first), (second_dir, second) = runs
    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr  # not "rate-limited, could not judge"
    waits = [line for line in (second.stdout + second.stderr).splitlines() if "rate-limited" in line]
    assert waits and all("waiting" in w for w in waits), second.stdout + second.stderr
    report = json.loads((second_dir / "report.json").read_text())
    assert {r["id"]: r["status"] for r in report["requirements"]}["PERM-01"] == "pass"

"""2FA off is a fact the admin reads (Accounts_TwoFactorAuthentication_Enabled), never a guess from answers.

- setting off, not declared: TFA-* are not judged and the run is not a pass (exit 2, one line);
- setting off, declared (--declare-2fa-off): TFA-* skipped with that reason, the report says so, the rest judges;
- TEST_MODE (setting reads on, no code ever asked): TFA-* FAIL, with the TEST_MODE hint.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rc_e2e_conformance.refserver.server import serve_in_thread

TFA_IDS = ("TFA-01", "TFA-02", "TFA-05", "TFA-06")
ADMIN, PASSWORD = "admin", "s3cret-admin-pass"


def _run(tmp_path: Path, *extra: str, whole_suite: bool = False,
         **server_options: object) -> tuple[subprocess.CompletedProcess[str], dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(RCC_ADMIN_USER=ADMIN, RCC_ADMIN_PASSWORD=PASSWORD)
    selection = [] if whole_suite else [arg for rid in (*TFA_IDS, "OK-01") for arg in ("--requirement", rid)]
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="a@example.com",
                         **server_options) as server:  # type: ignore[arg-type]
        run = subprocess.run(
            [sys.executable, "-m", "rc_e2e_conformance", "run", "--url", server.url, "--report-dir", str(tmp_path),
             "--quiet", *selection, *extra],
            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False,
        )
    return run, json.loads((tmp_path / "report.json").read_text())


SETTING_OFF = {"settings": {"Accounts_TwoFactorAuthentication_Enabled": "false"}}


def test_setting_off_is_not_judged_and_the_run_does_not_pass(tmp_path: Path) -> None:
    run, report = _run(tmp_path, **SETTING_OFF)
    assert run.returncode == 2, run.stdout + run.stderr
    status = {r["id"]: r for r in report["requirements"]}
    for rid in TFA_IDS:
        assert status[rid]["status"] == "error", status[rid]
        assert "2FA is switched off" in status[rid]["reason"] and "--declare-2fa-off" in status[rid]["reason"]
    assert status["OK-01"]["status"] == "pass"  # the rest of the suite still judges the server
    assert report["verdict"] == "error"


def test_setting_off_declared_skips_tfa_and_says_so(tmp_path: Path) -> None:
    run, report = _run(tmp_path, "--declare-2fa-off", **SETTING_OFF)
    assert run.returncode == 0, run.stdout + run.stderr
    status = {r["id"]: r for r in report["requirements"]}
    for rid in TFA_IDS:
        assert status[rid]["status"] == "skip" and "2FA declared off" in status[rid]["reason"], status[rid]
    assert status["OK-01"]["status"] == "pass"
    assert any("2FA declared off" in n for n in report["notices"]), report["notices"]
    assert "2FA declared off" in (tmp_path / "report.md").read_text().split("##", 1)[0]  # in the header


@pytest.mark.parametrize("declared", [False, True], ids=["undeclared", "declared"])
def test_test_mode_fails_tfa_unless_declared(tmp_path: Path, declared: bool) -> None:
    run, report = _run(tmp_path, *(["--declare-2fa-off"] if declared else []), test_mode=True)
    status = {r["id"]: r for r in report["requirements"]}
    if declared:
        assert run.returncode == 0 and all(status[rid]["status"] == "skip" for rid in TFA_IDS), status
        return
    assert run.returncode == 1, run.stdout + run.stderr
    assert report["verdict"] == "fail"
    assert status["TFA-01"]["status"] == "fail" and status["TFA-05"]["status"] == "fail"
    failure = next(r for r in report["requirements"] if r["id"] == "TFA-01")
    assert "TEST_MODE" in json.dumps(failure)


TOTP_OFF = {"settings": {"Accounts_TwoFactorAuthentication_By_TOTP_Enabled": "false"}}


def test_totp_method_off_is_the_2fa_off_rule_and_the_rest_still_judges(tmp_path: Path) -> None:
    """The TOTP method switched off: callers use the password fallback, TFA-* are not judged (exit 2)."""
    run, report = _run(tmp_path, **TOTP_OFF)
    assert run.returncode == 2, run.stdout + run.stderr
    status = {r["id"]: r for r in report["requirements"]}
    for rid in TFA_IDS:
        assert status[rid]["status"] == "error" and "TOTP method is switched off" in status[rid]["reason"], status[rid]
    assert status["OK-01"]["status"] == "pass"  # no false failure: the caller's code is the fallback


def test_totp_method_off_declared_judges_everything_else_without_a_false_failure(tmp_path: Path) -> None:
    settings = {**TOTP_OFF["settings"], "Accounts_TwoFactorAuthentication_RememberFor": "0"}
    run, report = _run(tmp_path, "--declare-2fa-off", "--strict", "--examples", "10", whole_suite=True,
                       settings=settings)
    assert run.returncode == 0, (report["verdict_reason"], run.stdout, run.stderr)
    judged = {r["id"] for r in report["requirements"] if r["status"] == "pass"}
    assert {"OK-01", "PERM-01", "EFFECT-01", "USER-01", "SCHEMA-01", "SCHEMA-04"} <= judged

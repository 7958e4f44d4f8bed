"""The suite sets itself up on a separately started reference server as on a default Rocket.Chat 8.x.

Profile 8 with the registration grace off, so the admin's users.create needs its second factor (the
password fallback) and every user the suite creates is asked for 2FA like an old one; e-mail 2FA at
login in effect. Runs as a user would: `rc-conformance run --url … --strict` in a subprocess.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from rc_e2e_conformance.refserver.server import serve_in_thread

ADMIN, PASSWORD = "rcadmin", "Admin-pass-for-live-setup-1"
NO_GRACE = {"Accounts_TwoFactorAuthentication_RememberFor": "0"}


def _env(**rcc: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(rcc)
    return env


def _run(url: str, tmp_path: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    run = subprocess.run([sys.executable, "-m", "rc_e2e_conformance", "run", "--url", url, "--strict", "--examples",
                          "10", "--allow-config-changes", "--allow-rate-limit-probe", "--report-dir", str(tmp_path),
                          "--quiet", *extra],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    report_file = tmp_path / "report.json"
    return run, json.loads(report_file.read_text()) if report_file.is_file() else {}


def _login(url: str) -> dict[str, str]:
    data = requests.post(f"{url}/api/v1/login", json={"user": ADMIN, "password": PASSWORD}, timeout=10).json()["data"]
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def _password_code() -> str:
    return hashlib.sha256(PASSWORD.encode()).hexdigest()


def test_password_admin_passes_strict_on_profile_8_without_grace(tmp_path: Path) -> None:
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="rcadmin@example.com",
                         settings=NO_GRACE) as server:
        run, report = _run(server.url, tmp_path, _env(RCC_ADMIN_USER=ADMIN, RCC_ADMIN_PASSWORD=PASSWORD))
    assert run.returncode == 0, (report.get("verdict_reason"), run.stdout, run.stderr)
    status = {r["id"]: r["status"] for r in report["requirements"]}
    assert status["TFA-09"] == "pass" and status["BODY-01"] == "pass"  # judged: the grace is off
    assert status["TFA-11"] == "skip" and status["USER-07"] == "skip"  # not for this line / setting


def test_personal_access_token_admin_passes_strict(tmp_path: Path) -> None:
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="rcadmin@example.com",
                         settings=NO_GRACE) as server:
        headers = _login(server.url)
        resp = requests.post(f"{server.url}/api/v1/users.generatePersonalAccessToken",
                             headers={**headers, "x-2fa-code": _password_code()},
                             json={"tokenName": "ci", "bypassTwoFactor": True}, timeout=10)
        token = resp.json()["token"]
        run, report = _run(server.url, tmp_path, _env(RCC_ADMIN_USER_ID=headers["X-User-Id"], RCC_ADMIN_TOKEN=token))
    assert run.returncode == 0, (report.get("verdict_reason"), run.stdout, run.stderr)
    assert token not in run.stdout + run.stderr + json.dumps(report)


def test_admin_with_email_2fa_gets_one_line_naming_the_ways_out(tmp_path: Path) -> None:
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="rcadmin@example.com",
                         admin_email_verified=True, settings=NO_GRACE) as server:
        headers = _login(server.url)
        requests.post(f"{server.url}/api/v1/users.2fa.enableEmail", headers=headers, timeout=10).raise_for_status()
        run, _ = _run(server.url, tmp_path, _env(RCC_ADMIN_USER=ADMIN, RCC_ADMIN_PASSWORD=PASSWORD))
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(lines) == 1 and "e-mail" in lines[0] and "personal access token" in lines[0], run.stderr

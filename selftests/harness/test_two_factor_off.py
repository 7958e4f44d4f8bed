"""A live server that does not enforce 2FA (setting off, or TEST_MODE): TFA-* are skipped with the reason, never failed."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from refserver.server import serve_in_thread

TFA_IDS = ("TFA-01", "TFA-02", "TFA-05", "TFA-06", "TFA-09")


@pytest.mark.parametrize("how", ["setting-off", "test-mode"])
def test_tfa_requirements_skip_when_the_server_does_not_enforce_2fa(how: str, tmp_path: Path) -> None:
    server_options = (
        {"settings": {"Accounts_TwoFactorAuthentication_Enabled": "false"}} if how == "setting-off" else {"test_mode": True}
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(RCC_ADMIN_USER="admin", RCC_ADMIN_PASSWORD="s3cret-admin-pass")
    selection = [arg for rid in (*TFA_IDS, "OK-01") for arg in ("--requirement", rid)]
    with serve_in_thread(admin_username="admin", admin_password="s3cret-admin-pass", admin_email="a@example.com",
                         **server_options) as server:
        run = subprocess.run(
            [sys.executable, "-m", "conformance", "run", "--url", server.url, "--report-dir", str(tmp_path),
             "--quiet", *selection],
            capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False,
        )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    status = {r["id"]: r for r in report["requirements"]}
    assert report["probe"]["two_factor"] == "off"
    for rid in TFA_IDS:
        assert status[rid]["status"] == "skip", status[rid]
        assert "2FA is not enforced" in status[rid]["reason"], status[rid]["reason"]
    assert status["OK-01"]["status"] == "pass"  # the rest of the suite still judges the server
    assert report["verdict"] == "pass"

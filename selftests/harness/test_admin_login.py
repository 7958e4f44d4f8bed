"""A wrong admin password costs one refused login per run, says so in one line, and never locks the admin out."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import requests

from rc_e2e_conformance.refserver.server import serve_in_thread

ADMIN, PASSWORD = "admin", "the-right-Pass-1"


def test_a_wrong_admin_password_is_one_refused_login_and_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(RCC_ADMIN_USER=ADMIN, RCC_ADMIN_PASSWORD="the-Wrong-pass-2")
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="a@example.com") as server:
        run = subprocess.run([sys.executable, "-m", "rc_e2e_conformance", "run", "--url", server.url,
                              "--report-dir", str(tmp_path), "--quiet"],
                             capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path, check=False)
        failed = server.store.find_by_username(ADMIN)["failed_logins"]
        after = requests.post(f"{server.url}/api/v1/login", json={"user": ADMIN, "password": PASSWORD}, timeout=10)
    assert run.returncode == 2, run.stdout + run.stderr
    assert failed == 1, f"{failed} refused logins in one run (Rocket.Chat blocks the account after 10)"
    assert after.status_code == 200, after.text  # the real admin can still log in right after
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "wrong user name or password" in errors[0], run.stderr
    assert "the-Wrong-pass-2" not in run.stdout + run.stderr

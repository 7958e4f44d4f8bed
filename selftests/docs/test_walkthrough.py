"""The README's curl walk-through (examples/walkthrough.sh) reproduces every answer of the docs page, per profile."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rc_e2e_conformance.refserver import Behaviour
from rc_e2e_conformance.refserver.server import serve_in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "walkthrough.sh"


def _run(url: str) -> dict[str, dict]:
    # The interpreter that runs the tests has pyotp; PATH's python3 may not (the script reads $PYTHON).
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(SCRIPT), url, "admin", "secret"], capture_output=True, text=True,
                         timeout=90, check=False, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    return {lines[i][3:]: json.loads(lines[i + 1]) for i in range(0, len(lines), 2)}


def _check(answers: dict[str, dict]) -> None:
    assert answers["Authorization (401)"]["message"] == "You must be logged in to do this."
    assert answers["TOTP Required (400)"]["errorType"] == "totp-required"
    assert answers["Invalid TOTP (400)"]["errorType"] == "totp-invalid"
    assert answers["Invalid User (400)"]["errorType"] == "error-invalid-user"
    assert answers["No Permission (400)"]["errorType"] == "error-not-allowed"
    assert answers["Success (200)"] == {"success": True}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("profile", ["8", "7", "6"])
def test_walkthrough_shows_every_documented_answer_twice(profile: str) -> None:
    """Run twice against one server: run-unique names make the second run as good as the first."""
    with serve_in_thread(admin_username="admin", admin_password="secret", admin_email="admin@example.com",
                         behaviour=Behaviour.for_profile(profile)) as server:
        _check(_run(server.url))
        _check(_run(server.url))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_walkthrough_on_8x_after_the_registration_grace() -> None:
    """Profile 8 with RememberFor 0: the admin and carol meet the password fallback, not the grace."""
    with serve_in_thread(admin_username="admin", admin_password="secret", admin_email="admin@example.com",
                         settings={"Accounts_TwoFactorAuthentication_RememberFor": "0"}) as server:
        _check(_run(server.url))

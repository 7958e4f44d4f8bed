"""The README's curl walk-through (examples/walkthrough.sh) reproduces every answer of the docs page."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from refserver.server import serve_in_thread

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "walkthrough.sh"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_walkthrough_shows_every_documented_answer() -> None:
    with serve_in_thread(admin_username="admin", admin_password="secret", admin_email="admin@example.com") as server:
        run = subprocess.run(
            ["bash", str(SCRIPT), server.url, "admin", "secret"],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    answers = {lines[i][3:]: json.loads(lines[i + 1]) for i in range(0, len(lines), 2)}
    assert answers["Authorization (401)"]["message"] == "You must be logged in to do this."
    assert answers["TOTP Required (400)"]["errorType"] == "totp-required"
    assert answers["Invalid TOTP (400)"]["errorType"] == "totp-invalid"
    assert answers["Invalid User (400)"]["errorType"] == "error-invalid-user"
    assert answers["No Permission (400)"]["errorType"] == "error-not-allowed"
    assert answers["Success (200)"] == {"success": True}

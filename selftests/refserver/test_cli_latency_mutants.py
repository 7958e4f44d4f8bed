"""The CLI (profiles, temporary default database, --latency), latency in serve_in_thread, mutants per profile."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from rc_e2e_conformance.refserver import Behaviour
from rc_e2e_conformance.refserver.__main__ import parse_duration
from rc_e2e_conformance.refserver.behaviour import PROFILES, RELEASE_SWITCHES, SERVER_PARAMETERS
from rc_e2e_conformance.refserver.mutants import MUTANTS, _m

from .conftest import start
from .helpers import ADMIN
from .test_robustness import ROOT, _free_port, _wait_up


def _cli_without_db(cwd: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ADMIN_USERNAME": "cliadmin", "ADMIN_PASS": "cli-pass", "ADMIN_EMAIL": "cli@x.test",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance.refserver", "--port", str(port), *extra],
                            cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_default_db_is_temporary_and_profile_and_latency_show(tmp_path: Path) -> None:
    port = _free_port()
    proc = _cli_without_db(tmp_path, port, "--profile", "7", "--latency", "30ms")
    try:
        banner = proc.stdout.readline() if proc.stdout else ""
        assert "profile 7" in banner and "version 7.10.0" in banner and "latency 30 ms" in banner, banner
        db = Path(banner.rsplit("db ", 1)[1].rstrip(")\n"))
        assert db.exists() and tmp_path not in db.parents
        url = f"http://127.0.0.1:{port}"
        _wait_up(url, proc)
        t0 = time.monotonic()
        assert requests.get(url + "/api/info", timeout=5).json()["version"] == "7.10"
        assert time.monotonic() - t0 >= 0.03  # a lower bound only
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert list(tmp_path.iterdir()) == [] and not db.parent.exists()  # nothing left in the cwd or in /tmp


def test_cli_default_profile_is_8(tmp_path: Path) -> None:
    port = _free_port()
    proc = _cli_without_db(tmp_path, port)
    try:
        assert "profile 8" in (proc.stdout.readline() if proc.stdout else "")
        _wait_up(f"http://127.0.0.1:{port}", proc)
        assert requests.get(f"http://127.0.0.1:{port}/api/info", timeout=5).json()["version"] == "8.8"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_refuses_a_mutant_on_a_profile_without_its_defect(tmp_path: Path) -> None:
    proc = _cli_without_db(tmp_path, _free_port(), "--mutant", "server_error_on_non_string")  # profile 8
    _, err = proc.communicate(timeout=15)
    assert proc.returncode != 0 and "does not apply to profile 8" in err and "Traceback" not in err


@pytest.mark.parametrize(("text", "seconds"), [("20ms", 0.02), ("0.5s", 0.5), ("0.25", 0.25), ("1", 1.0)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_latency_delays_every_answer_and_logins_more() -> None:
    with start(latency=0.05) as server:
        t0 = time.monotonic()
        requests.get(server.url + "/api/info", timeout=5)
        plain = time.monotonic() - t0
        t0 = time.monotonic()
        r = requests.post(server.url + "/api/v1/login", timeout=5,
                          json={"user": ADMIN["admin_username"], "password": ADMIN["admin_password"]})
        login = time.monotonic() - t0
    assert r.status_code == 200
    assert plain >= 0.05 and login >= 0.15  # lower bounds only: a loaded machine must not flake
    assert Behaviour().with_latency(0.02) == Behaviour(latency=0.02, login_latency=0.1)
    assert Behaviour().with_latency(0) == Behaviour()


def test_for_profile_accepts_every_line_and_keeps_defect_switches_apart() -> None:
    assert set(PROFILES) == {"8", "7", "6"} and Behaviour.for_profile(" 8 ") == Behaviour()
    with pytest.raises(ValueError):
        Behaviour.for_profile("5")
    for profile, facts in PROFILES.items():
        assert set(facts) <= set(RELEASE_SWITCHES), profile
    defaults = Behaviour()
    # Profiles differ only in release facts: every defect switch is the same on all lines.
    for profile in PROFILES:
        b = Behaviour.for_profile(profile)
        differing = {n for n in defaults.__dataclass_fields__ if getattr(b, n) != getattr(defaults, n)}
        assert differing <= set(RELEASE_SWITCHES), (profile, differing)


def test_mutants_say_where_they_apply() -> None:
    assert not MUTANTS["server_error_on_non_string"].applies_to("8")
    assert MUTANTS["server_error_on_non_string"].applies_to("7") and MUTANTS["server_error_on_non_string"].applies_to(6)
    for mutant in MUTANTS.values():
        assert not set(mutant.flipped()) & {*RELEASE_SWITCHES, *SERVER_PARAMETERS}, mutant.name
        for profile in mutant.profiles:
            b = mutant.on_profile(profile)
            assert b.server_version == Behaviour.for_profile(profile).server_version
            assert {k: getattr(b, k) for k in mutant.flipped()} == mutant.flipped()
    with pytest.raises(ValueError):
        MUTANTS["server_error_on_non_string"].on_profile("8")
    with pytest.raises(ValueError):
        _m("x", "a release fact is no defect", ("API-01",), body_schema_checked=False)

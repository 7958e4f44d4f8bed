"""End-to-end: `python -m rc_e2e_conformance run` in a subprocess against the embedded, an unreachable,
a live (reference) and a broken server — exit codes 0/1/2, the four files, one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rc_e2e_conformance.cli.main import target_slug
from rc_e2e_conformance.refserver.behaviour import Behaviour
from rc_e2e_conformance.refserver.server import serve_in_thread

pytestmark = pytest.mark.slow

ADMIN, PASSWORD = "rcc-e2e-admin", "E2e-Admin-Pa55-word!"
FILES = {"report.json", "report.md", "report.html", "junit.xml"}


def start_cli(cwd, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(env_extra or {})
    return subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance", "run", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=240):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_cli(cwd, *args, env_extra=None, timeout=240):
    return finish(start_cli(cwd, *args, env_extra=env_extra), timeout)


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def embedded_runs(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("embedded")
    # Two independent embedded servers on their own ports: run both at once to halve the wait.
    procs = [start_cli(cwd, "--seed", "7", "--examples", "5"),
             start_cli(cwd, "--seed", "7", "--examples", "5", "--report-dir", "second", "--quiet")]
    first, second = (finish(p) for p in procs)
    return cwd, first, second


def test_embedded_run_passes_and_writes_all_reports(embedded_runs):
    cwd, first, _ = embedded_runs
    assert first.returncode == 0, first.stdout + first.stderr
    out = cwd / "reports" / target_slug(None)
    assert {p.name for p in out.iterdir()} == FILES
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "pass" and report["target"]["embedded"] is True
    assert report["summary"]["statuses"]["pass"] > 20
    md = (out / "report.md").read_text()
    assert md.splitlines()[0].endswith("embedded reference server (not a Rocket.Chat server)")
    lines = first.stdout.splitlines()
    assert lines[-1].startswith("rc-conformance: verdict PASS") and "report.md" in lines[-1]
    assert any(ln.startswith("PASS   AUTH-01") for ln in lines)  # one progress line per requirement
    assert first.stderr == ""


def test_embedded_markdown_is_byte_identical_across_runs(embedded_runs):
    cwd, first, second = embedded_runs
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("\n") == 1  # --quiet: the verdict line only
    a = (cwd / "reports" / "embedded" / "report.md").read_bytes()
    b = (cwd / "second" / "report.md").read_bytes()
    assert a == b
    ja = json.loads((cwd / "reports" / "embedded" / "report.json").read_text())
    jb = json.loads((cwd / "second" / "report.json").read_text())
    assert ja["target"]["url"] != jb["target"]["url"]  # different ports, same Markdown


def test_unreachable_server_is_exit_2_with_one_line(tmp_path):
    proc = run_cli(tmp_path, "--url", "http://127.0.0.1:9", "--admin-user", ADMIN,
                   env_extra={"RCC_ADMIN_PASSWORD": PASSWORD}, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("rc-conformance: could not judge:") and "127.0.0.1:9" in line
    report = json.loads((tmp_path / "reports" / "127-0-0-1-9" / "report.json").read_text())
    assert report["verdict"] == "error" and report["harness_error"]
    assert "Traceback" not in proc.stdout


@pytest.fixture(scope="module")
def live_server():
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="admin@example.com") as srv:
        yield srv


def test_wrong_admin_password_is_exit_2_and_never_printed(tmp_path, live_server):
    wrong = "Wr0ng-Secret-Value-42"
    proc = run_cli(tmp_path, "--url", live_server.url, "--admin-user", ADMIN, "--report-dir", "out",
                   env_extra={"RCC_ADMIN_PASSWORD": wrong}, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("rc-conformance: could not judge:")
    texts = [proc.stdout, proc.stderr] + [p.read_text() for p in (tmp_path / "out").iterdir()]
    assert all(wrong not in t for t in texts)


def test_broken_server_is_exit_1(tmp_path):
    broken = Behaviour(clear_keys=False)  # answers 200 but leaves the E2E keys in place
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email="admin@example.com",
                         behaviour=broken) as srv:
        proc = run_cli(tmp_path, "--url", srv.url, "--admin-user", ADMIN, "--requirement", "EFFECT-01",
                       "--report-dir", "out", env_extra={"RCC_ADMIN_PASSWORD": PASSWORD}, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == ""
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {r["id"]: r["status"] for r in report["requirements"]}["EFFECT-01"] == "fail"
    assert report["verdict"] == "fail" and report["target"]["embedded"] is False
    assert "FAIL   EFFECT-01" in proc.stdout


def test_bad_configuration_is_exit_2_before_any_test(tmp_path):
    proc = run_cli(tmp_path, "--timeout", "-1", timeout=60)
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith("rc-conformance: configuration error: timeout must be > 0")
    assert not (tmp_path / "reports").exists()

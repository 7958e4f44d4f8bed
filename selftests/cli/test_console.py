"""`rc-conformance run` on the console: first line, honest selection lines, failure lines, one setup-error line,
a report whatever phase Ctrl-C lands in, and pytest's own exit status agreeing with the verdict."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rc_e2e_conformance.refserver.server import serve_in_thread

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCC_", "GITHUB_"))}
    env.update(extra)
    return env


def _cli(tmp_path: Path, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rc_e2e_conformance", "run", *args], cwd=tmp_path, env=_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def test_first_line_and_lines_only_for_selected_requirements(tmp_path):
    # test_generated_requests verifies SCHEMA-01..04: selecting SCHEMA-01 runs it, but SCHEMA-02..04 stay
    # "not selected" in the report, so the console must not print a status for them either.
    done = _cli(tmp_path, "--requirement", "SCHEMA-01", "--requirement", "AUTH-01", "--examples", "2",
                "--seed", "5", "--report-dir", "out")
    lines = done.stdout.splitlines()
    assert lines[0] == ("rc-conformance: checking the embedded reference server (NOT Rocket.Chat) — seed 5, "
                        "profile 8.x, reports in out"), done.stdout + done.stderr
    status_lines = [ln for ln in lines if not ln.startswith("rc-conformance:")]
    assert sorted(ln.split()[1] for ln in status_lines) == ["AUTH-01", "SCHEMA-01"], done.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    reasons = {r["id"]: r["reason"] for r in report["requirements"]}
    assert reasons["SCHEMA-02"] == "not selected"
    assert report["seed"] == 5 and report["run"]["reproduce"].startswith("rc-conformance run --examples 2 --seed 5")


def test_failure_lines_say_what_was_expected_and_what_came(tmp_path):
    done = _cli(tmp_path, "--refserver-mutant", "any_code_accepted", "--requirement", "TFA-02", "--report-dir", "out")
    assert done.returncode == 1, done.stdout + done.stderr
    fail = next(ln for ln in done.stdout.splitlines() if ln.startswith("FAIL"))
    assert "expected 400" in fail and "got 200" in fail and not fail.rstrip("…").endswith(":"), fail
    assert "MUTANT any_code_accepted" in (tmp_path / "out" / "report.md").read_text().splitlines()[0]


def test_a_setup_error_is_printed_once(tmp_path):
    with serve_in_thread(admin_username="admin", admin_password="Right-Pa55word", admin_email="a@example.com") as srv:
        done = _cli(tmp_path, "--url", srv.url, "--report-dir", "out", "--examples", "2",
                    RCC_ADMIN_USER="admin", RCC_ADMIN_PASSWORD="Wr0ng-Pa55word-77")
    assert done.returncode == 2, done.stdout + done.stderr
    errors = [ln for ln in done.stdout.splitlines() if ln.startswith("ERROR")]
    assert len(errors) == 1, done.stdout
    assert "same error as above" not in done.stdout and "Wr0ng-Pa55word-77" not in done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1


INTERRUPT = """
import sys
from rc_e2e_conformance.cli import main as cli
from rc_e2e_conformance.pytest_plugin import stash
from rc_e2e_conformance.report import progress

def boom(*args, **kwargs):
    raise KeyboardInterrupt

if sys.argv[1] == "configure":      # before pytest's session exists: the CLI writes the report
    stash.Handoff.pytest_configure = boom
else:                               # during collection: the plugin writes it
    progress.Progress.pytest_collection_finish = boom
sys.exit(cli.main(["run", "--requirement", "AUTH-01", "--report-dir", "out", "--junit", "j.xml"]))
"""


@pytest.mark.parametrize("phase", ["configure", "collection"])
def test_an_interrupt_in_any_phase_still_writes_a_report(tmp_path, phase):
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(INTERRUPT), phase], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1 and "interrupted" in done.stderr and "Traceback" not in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["verdict"] == "error" and "interrupted" in report["harness_error"]
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {"report.md", "report.html", "junit.xml"}
    assert (tmp_path / "j.xml").is_file()


@pytest.mark.parametrize("strict, code", [((), 0), (("--rcc-strict",), 1)])
def test_pytest_exit_status_follows_the_verdict_for_a_should_failure(tmp_path, strict, code):
    """USER-04 is SHOULD: its failure fails pytest's test but not the run — unless --rcc-strict."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "rc_e2e_conformance" / "suite"), "-p", "no:cacheprovider", "-q",
         "--tb=no",
         "--rcc-refserver-mutant", "username_case_sensitive", "--rcc-requirement", "USER-04",
         "--rcc-report-dir", str(tmp_path / "out"), *strict],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=180)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    status = {r["id"]: r["status"] for r in report["requirements"]}["USER-04"]
    assert (status, report["verdict"]) == (("fail", "fail") if strict else ("warn", "pass"))
    assert "1 failed" in done.stdout  # pytest still shows the failing test…
    assert done.returncode == code, done.stdout[-2000:]  # …but its exit status is the verdict's


def test_github_step_summary_is_appended_by_a_run(tmp_path):
    summary = tmp_path / "summary.md"
    done = _cli(tmp_path, "--requirement", "AUTH-02", "--quiet", "--report-dir", "out",
                GITHUB_STEP_SUMMARY=str(summary))
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary.read_text() == (tmp_path / "out" / "report.md").read_text() + "\n"

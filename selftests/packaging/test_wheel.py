"""The built wheel on its own: installed into a fresh venv, run from a temporary directory, and as plain pytest.

The venv also holds pytest-timeout, pytest-xdist and pytest-rerunfailures, as a separate project's would:
the suite runs through the `pytest11` entry point with the same verdict as `rc-conformance run`, and the
two plugins that break what it judges are refused in one line.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ("pytest-timeout", "pytest-xdist", "pytest-rerunfailures")
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """No RCC_* settings, no PYTHONPATH: nothing of the checkout may leak into the installed package."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("RCC_", "PYTEST_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(cmd: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
                 cwd=out)
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("rc_e2e_conformance-*.whl")
    return path


@pytest.fixture(scope="module")
def env_bin(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel and the three third-party plugins."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    bin_dir = where / "bin"
    done = _run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                 str(wheel), *PLUGINS], cwd=where, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return bin_dir


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """Somebody else's pytest project, outside the checkout: its own ini file, its own test."""
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers -p no:cacheprovider\n")
    (tmp_path / "test_theirs.py").write_text("def test_theirs():\n    assert True\n")
    return tmp_path


def _statuses(report_dir: Path) -> tuple[str, dict[str, str]]:
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    return report["verdict"], {r["id"]: r["status"] for r in report["requirements"]}


def test_the_wheel_holds_spec_catalogue_suite_refserver_and_entry_points(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    for name in ("openapi/users.resetE2EKey.yaml", "openapi/requirements.yaml", "suite/conftest.py",
                 "suite/test_properties.py", "refserver/server.py", "report/templates/report.html.j2",
                 "report/schemas/report.schema.json", "pytest_plugin/plugin.py", "py.typed"):
        assert f"rc_e2e_conformance/{name}" in names, name
    assert not any(n.startswith(("selftests/", "tests/", "conformance/", "refserver/")) for n in names)
    assert "[pytest11]" in entry_points and "rc-refserver = " in entry_points and "rc-conformance = " in entry_points


def test_installed_wheel_runs_from_a_temporary_directory(env_bin: Path, tmp_path: Path) -> None:
    where = _run([str(env_bin / "python"), "-c", "import rc_e2e_conformance as p; print(p.__file__)"], cwd=tmp_path)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout  # the wheel, not the checkout
    done = _run([str(env_bin / "rc-conformance"), "run", "--quiet", "--report-dir", "out", "--seed", "7",
                 "--examples", "10"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    verdict, statuses = _statuses(tmp_path / "out")
    assert verdict == "pass" and statuses["AUTH-01"] == "pass" and len(statuses) > 30


def test_a_separate_project_runs_the_suite_through_the_entry_point_with_the_same_verdict(
        env_bin: Path, project: Path) -> None:
    cli = _run([str(env_bin / "rc-conformance"), "run", "--quiet", "--report-dir", "cli", "--seed", "7",
                "--examples", "10"], cwd=project)
    plain = _run([str(env_bin / "python"), "-m", "pytest", "--pyargs", "rc_e2e_conformance.suite", "-q",
                  "--timeout", "600", "--rcc-seed", "7", "--rcc-examples", "10", "--rcc-report-dir", "plain",
                  "--junitxml", "junit.xml"], cwd=project)
    assert cli.returncode == plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-2000:]
    assert _statuses(project / "cli") == _statuses(project / "plain")
    junit = (project / "junit.xml").read_text(encoding="utf-8")
    for rid in ("AUTH-01", "RATE-01"):
        assert f'<property name="requirement" value="{rid}"' in junit
    theirs = _run([str(env_bin / "python"), "-m", "pytest", "-q", "--junitxml", "theirs.xml"], cwd=project)
    assert theirs.returncode == 0 and "1 passed" in theirs.stdout  # their own run: the plugin stays out of it
    assert not (project / "reports").exists() and "requirement" not in (project / "theirs.xml").read_text()


@pytest.mark.parametrize("args, why", [(("-n", "2"), "pytest-xdist"), (("--reruns", "1"), "--reruns")])
def test_xdist_and_reruns_are_refused_in_one_line(env_bin: Path, project: Path, args: tuple[str, ...],
                                                   why: str) -> None:
    done = _run([str(env_bin / "python"), "-m", "pytest", "--pyargs", "rc_e2e_conformance.suite", *args], cwd=project)
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    assert done.returncode == 4 and len(lines) == 1, lines
    assert why in lines[0] and "Traceback" not in lines[0]
    theirs = _run([str(env_bin / "python"), "-m", "pytest", "-q", *args], cwd=project)
    assert theirs.returncode == 0, theirs.stdout[-2000:]  # their own tests may use both

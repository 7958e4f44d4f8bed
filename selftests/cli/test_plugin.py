"""The pytest plugin on its own: prefixed options (no clash with pytest-timeout or pytest's --strict), its marker."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: A conftest that makes the plugin active for its project's own tests (the public way: plugin.activate).
ACTIVATE = ("from rc_e2e_conformance.pytest_plugin.plugin import activate\n\n\n"
            "def pytest_configure(config):\n    activate(config)\n")


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _suite(tmp_path: Path) -> None:
    # No markers in the ini file: the plugin must register `requirement` itself (--strict-markers).
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers --strict-config\n")
    (tmp_path / "conftest.py").write_text(ACTIVATE)
    (tmp_path / "test_x.py").write_text('import pytest\n\n@pytest.mark.requirement("AUTH-01")\n'
                                        'def test_a():\n    pass\n')


def test_the_plugin_registers_its_marker(tmp_path):
    _suite(tmp_path)
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_x.py::test_a" in done.stdout
    markers = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--markers"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=60).stdout
    assert "@pytest.mark.requirement(*ids)" in markers


def test_options_are_prefixed_and_unprefixed_ones_are_not_the_plugins(tmp_path):
    _suite(tmp_path)
    ok = _pytest(tmp_path, "--rcc-timeout", "3", "--rcc-strict", "--rcc-seed", "4", "--rcc-requirement", "AUTH-01")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad_value = _pytest(tmp_path, "--rcc-timeout", "soon")
    assert bad_value.returncode == 4 and "timeout must be a number" in bad_value.stderr
    for old in ("--target-url", "--timeout"):
        done = _pytest(tmp_path, old, "x")
        assert done.returncode == 4 and "unrecognized arguments" in done.stderr, old  # not silently accepted
    help_text = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--help"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60).stdout
    assert "--rcc-url=URL" in help_text and "--rcc-strict" in help_text and "(env RCC_URL)" in help_text


def test_the_entry_point_plugin_is_inert_in_an_unrelated_project(tmp_path):
    """Loaded by its pytest11 entry point, it reads no settings, installs no handler, adds no fixture or report."""
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = --strict-markers\nmarkers =\n    requirement(x): theirs\n")
    (tmp_path / "conformance.toml").write_text("examples = not-a-number\n")  # would be a usage error if read
    (tmp_path / "test_theirs.py").write_text(
        "import signal\nimport pytest\n\n@pytest.mark.requirement('THEIR-1')\n"
        "def test_theirs(request):\n"
        "    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL\n"
        "    assert request.config.pluginmanager.has_plugin('rc_e2e_conformance.pytest_plugin.plugin')\n"
        "    assert not request.config.pluginmanager.has_plugin('rc_e2e_conformance.pytest_plugin.fixtures')\n"
        "    assert request.node.user_properties == []\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RCC_", "PYTEST_"))}
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--junitxml", "j.xml"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rc-conformance" not in done.stdout and not (tmp_path / "reports").exists()
    targeted = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=tmp_path,
                              env={**env, "RCC_URL": "https://chat.example.com"}, capture_output=True, text=True,
                              timeout=60)
    assert targeted.returncode == 4 and "conformance configuration" in targeted.stderr  # a target activates it


def test_requirement_ids_become_allure_labels_where_allure_is_installed(tmp_path):
    fake = tmp_path / "fake"
    (fake / "allure").mkdir(parents=True)
    (fake / "allure" / "__init__.py").write_text(
        "import os\n\nclass dynamic:\n    @staticmethod\n    def label(name, *values):\n"
        "        with open(os.environ['LABELS'], 'a') as f:\n"
        "            f.write(name + '=' + ','.join(values) + '\\n')\n")
    project = tmp_path / "project"
    project.mkdir()
    _suite(project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update(PYTHONPATH=str(fake), LABELS=str(tmp_path / "labels.txt"))
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "labels.txt").read_text() == "requirement=AUTH-01\n"


def _asks_for_suite(monkeypatch, suite: Path, cwd: Path, *args: str) -> bool:
    from types import SimpleNamespace

    from rc_e2e_conformance.pytest_plugin import plugin

    monkeypatch.setattr(plugin, "_suite_dir", lambda: suite.resolve())
    config = SimpleNamespace(args=list(args), invocation_params=SimpleNamespace(dir=cwd))
    return plugin.suite_requested(config)  # type: ignore[arg-type]


def test_what_counts_as_asking_for_the_suite(tmp_path, monkeypatch):
    checkout = tmp_path / "checkout" / "rc_e2e_conformance" / "suite"
    installed = tmp_path / "project" / ".venv" / "lib" / "site-packages" / "rc_e2e_conformance" / "suite"
    for suite in (checkout, installed):
        suite.mkdir(parents=True)
        (suite / "test_body.py").write_text("")
        assert _asks_for_suite(monkeypatch, suite, tmp_path, "rc_e2e_conformance.suite")
        assert _asks_for_suite(monkeypatch, suite, tmp_path, f"{suite}/test_body.py::test_x")
        assert not _asks_for_suite(monkeypatch, suite, tmp_path, "rc_e2e_conformance.cli")
    assert _asks_for_suite(monkeypatch, checkout, tmp_path / "checkout", ".")  # the checkout's own `pytest`
    # a project whose venv lives inside it: its `pytest .` never collects site-packages
    assert not _asks_for_suite(monkeypatch, installed, tmp_path / "project", ".")
    assert not _asks_for_suite(monkeypatch, checkout, tmp_path, "selftests")

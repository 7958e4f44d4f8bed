"""The pytest plugin on its own: prefixed options (no clash with pytest-timeout or pytest's --strict), its marker."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _suite(tmp_path: Path) -> None:
    # No markers in the ini file: the plugin must register `requirement` itself (--strict-markers).
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = --strict-markers --strict-config\n")
    (tmp_path / "conftest.py").write_text('from rc_e2e_conformance.pytest_plugin.plugin import activate\n\n\ndef pytest_configure(config):\n    activate(config)\n')
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

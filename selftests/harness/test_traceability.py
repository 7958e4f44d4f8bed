"""Traceability: every catalogue ID has a test in the suite, every test names known IDs, the plugin enforces it."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from rc_e2e_conformance.contract.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "rc_e2e_conformance" / "suite"


def _marked_ids() -> dict[str, set[str]]:
    """requirement ID -> test functions naming it, read from the source (no server needed)."""
    found: dict[str, set[str]] = {}
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
                continue
            for deco in node.decorator_list:
                func = deco.func if isinstance(deco, ast.Call) else None
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name == "requirement":
                    for arg in deco.args:
                        found.setdefault(ast.literal_eval(arg), set()).add(f"{path.name}::{node.name}")
    return found


def test_every_catalogue_id_has_a_test():
    missing = [r.id for r in load_catalogue() if r.id not in _marked_ids()]
    assert not missing, f"requirement IDs without a test in the suite: {', '.join(missing)}"


def test_every_test_names_only_known_ids():
    known = {r.id for r in load_catalogue()}
    unknown = {i: tests for i, tests in _marked_ids().items() if i not in known}
    assert not unknown, f"tests name IDs missing from openapi/requirements.yaml: {unknown}"


def test_every_test_has_a_requirement_and_a_docstring():
    bare = []
    for path in sorted(TESTS.glob("test_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names = {getattr(getattr(d, "func", None), "attr", getattr(getattr(d, "func", None), "id", ""))
                         for d in node.decorator_list}
                if "requirement" not in names or not ast.get_docstring(node):
                    bare.append(f"{path.name}::{node.name}")
    assert not bare, f"tests without @requirement or docstring: {bare}"


#: A conftest that makes the plugin active for its project's own tests (the public way: plugin.activate).
ACTIVATE = ("from rc_e2e_conformance.pytest_plugin.plugin import activate\n\n\n"
            "def pytest_configure(config):\n    activate(config)\n")


def _pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    # Third-party plugins are switched off: they are not under test and triple the start-up time.
    quiet = [arg for name in ("cacheprovider", "hypothesispytest", "xdist", "benchmark", "schemathesis", "anyio")
             for arg in ("-p", f"no:{name}")]
    return subprocess.run([sys.executable, "-m", "pytest", *quiet, "--collect-only", "-q", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _suite(tmp_path: Path, body: str) -> None:
    (tmp_path / "conftest.py").write_text(ACTIVATE, encoding="utf-8")
    (tmp_path / "test_x.py").write_text("import pytest\n" + body, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    requirement(*ids): ids\n", encoding="utf-8")


def test_unknown_id_is_a_usage_error(tmp_path):
    _suite(tmp_path, '@pytest.mark.requirement("AUTH-01", "NOPE-42")\ndef test_a():\n    pass\n')
    out = _pytest(tmp_path)
    assert out.returncode == 4 and "unknown requirement ID(s) NOPE-42" in out.stderr + out.stdout


def test_requirement_option_selects_and_rate_tests_run_last(tmp_path):
    _suite(tmp_path, "\n".join([
        '@pytest.mark.requirement("RATE-01")\ndef test_rate():\n    pass\n',
        '@pytest.mark.requirement("AUTH-01")\ndef test_auth():\n    pass\n',
        '@pytest.mark.requirement("TFA-01", "AUTH-02")\ndef test_tfa():\n    pass\n',
    ]))
    order = [line.split("::")[1] for line in _pytest(tmp_path).stdout.splitlines() if "::" in line]
    assert order == ["test_auth", "test_tfa", "test_rate"]
    picked = _pytest(tmp_path, "--rcc-requirement", "AUTH-02", "--rcc-requirement", "RATE-01").stdout
    assert "test_tfa" in picked and "test_rate" in picked and "test_auth" not in picked
    bad = _pytest(tmp_path, "--rcc-requirement", "ZZZ-1")
    assert bad.returncode == 4 and "ZZZ-1" in bad.stderr + bad.stdout

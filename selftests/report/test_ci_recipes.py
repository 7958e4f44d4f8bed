"""The CI recipes (GitHub Actions, GitLab CI, Dockerfile) parse, gate on the exit code and run the real CLI."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from rc_e2e_conformance.cli.main import _parser
from rc_e2e_conformance.contract.config import load_settings
from rc_e2e_conformance.contract.options import values

ROOT = Path(__file__).resolve().parents[2]
RECIPES = ("examples/github-actions.yml", "examples/gitlab-ci.yml")


def _scripts(node: object) -> list[str]:
    """Every shell text of a workflow: GitHub `run:` values and GitLab `script:` items."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                out.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                out += [str(v) for v in value]
            else:
                out += _scripts(value)
    elif isinstance(node, list):
        for value in node:
            out += _scripts(value)
    return out


def _commands(text: str) -> list[list[str]]:
    """`rc-conformance run …` invocations in a shell text (up to the end of the line or `||`)."""
    found = []
    for line in text.replace(" \\\n", " ").splitlines():
        for match in re.finditer(r"rc-conformance run\b[^|;&\n]*", line):
            found.append(shlex.split(match.group(0))[1:])
    return found


@pytest.mark.parametrize("path", RECIPES)
def test_recipe_parses_runs_the_cli_and_keeps_reports(path, tmp_path, monkeypatch):
    doc = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    scripts = _scripts(doc)
    commands = [c for s in scripts for c in _commands(s)]
    assert len(commands) >= 2, f"{path}: expected an embedded and a Rocket.Chat run"
    monkeypatch.chdir(tmp_path)
    env = {"RCC_ADMIN_USER": "rcadmin", "RCC_ADMIN_PASSWORD": "ci-only-pass"}
    for argv in commands:
        args = _parser().parse_args(argv)  # a typo'd option exits 2 here
        assert args.command == "run"
        load_settings(values(args), env)  # and every value is one the suite accepts
    assert any("--url" in c for c in commands) and any("--url" not in c for c in commands)
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "rocketchat/rocket.chat:8." in text and "mongo:" in text and "--replSet rs0" in text
    assert "rs.initiate" in text and "TEST_MODE" in text  # the warning not to set it
    assert "|| true" not in " ".join(s for s in scripts if "rc-conformance run" in s)  # the exit code gates


def test_github_actions_uploads_reports_always():
    doc = yaml.safe_load((ROOT / "examples/github-actions.yml").read_text(encoding="utf-8"))
    for name, job in doc["jobs"].items():
        uploads = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact")]
        assert uploads and uploads[0]["if"] == "always()" and uploads[0]["with"]["path"] == "reports/", name


def test_gitlab_keeps_reports_and_junit():
    doc = yaml.safe_load((ROOT / "examples/gitlab-ci.yml").read_text(encoding="utf-8"))
    for name in ("reference-server", "rocketchat"):
        artifacts = doc[name]["artifacts"]
        assert artifacts["when"] == "always" and "reports/" in artifacts["paths"]
        assert artifacts["reports"]["junit"].endswith("junit.xml")


def test_dockerfile_runs_the_cli_and_reports_to_a_volume(tmp_path, monkeypatch):
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert cmd and yaml.safe_load(cmd.group(1)) == ["rc-conformance", "run"]
    assert "RCC_REPORT_DIR=/reports" in text and 'VOLUME ["/reports"]' in text and "USER rcc" in text
    assert "ARG" not in text  # secrets never as build arguments
    monkeypatch.chdir(tmp_path)
    assert load_settings({}, {"RCC_REPORT_DIR": "/reports"}).report_dir == "/reports"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".git" in ignored and "conformance.toml" in ignored  # no local secrets file in the image

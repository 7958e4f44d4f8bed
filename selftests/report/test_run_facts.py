"""Every report format carries the run's facts (reproduce, seed, profile, versions…) and marks mutants/embedded."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from rc_e2e_conformance.report import render_all, write_reports
from rc_e2e_conformance.report.ci import append_step_summary
from rc_e2e_conformance.report.render import md_inline

from .synthetic import SHA, mixed_report, run_info


@pytest.fixture(scope="module")
def live_texts():
    run = run_info(embedded=False, url="https://chat.example.com", version="6.13.0")
    run.profile_note = "example note"
    return render_all(mixed_report(run=run))


@pytest.mark.parametrize("name", ["report.json", "report.md", "report.html", "junit.xml"])
def test_each_format_carries_the_run_facts(live_texts, name):
    text = live_texts[name]
    for fact in ("rc-conformance run --seed 1234", "1234", "--allow-config-changes", "3.12.0", "4.32.5",
                 "example note", SHA[:12]):
        assert fact in text, f"{fact!r} missing from {name}"
    assert ("6.x" in text) or ('"profile": "6"' in text) or ('name="profile" value="6"' in text), name


@pytest.mark.parametrize("name", ["report.json", "report.md", "report.html", "junit.xml"])
def test_each_format_marks_a_mutant_and_the_embedded_server(name):
    mutant = render_all(mixed_report(run=run_info(embedded=True, mutant="any_code_accepted")))[name]
    embedded = render_all(mixed_report(run=run_info(embedded=True)))[name]
    marks = {"report.json": ('"kind": "mutant"', '"kind": "embedded"'),
             "junit.xml": ('name="target_kind" value="mutant"', 'name="target_kind" value="embedded"'),
             "report.md": ("☣️ This run checked **mutant `any_code_accepted`**", "⚠️ This run checked the **embedded"),
             "report.html": ('<div class="banner err" id="target-mark"><b>Mutant <code>any_code_accepted',
                             '<div class="banner" id="target-mark"><b>Embedded reference server.')}[name]
    assert marks[0] in mutant and marks[1] not in mutant
    assert marks[1] in embedded and "any_code_accepted" not in embedded


def test_json_run_object_and_target_kind():
    data = json.loads(render_all(mixed_report(run=run_info(embedded=True, mutant="m1")))["report.json"])
    assert data["target"]["kind"] == "mutant" and data["target"]["mutant"] == "m1" and data["target"]["profile"] == "7"
    assert data["run"]["examples"] == 50 and data["run"]["opt_in"] == ["--allow-config-changes"]
    assert data["run"]["versions"]["schemathesis"] == "4.32.5"


def test_md_first_line_names_a_mutant():
    md = render_all(mixed_report(run=run_info(embedded=True, mutant="m1")))["report.md"]
    assert md.splitlines()[0].startswith("# Conformance of users.resetE2EKey — MUTANT m1 of the embedded")


def test_inline_markdown_renders_code_and_strong_and_escapes_the_rest():
    html = str(md_inline("No `x-2fa-code` → **400** <script>alert(1)</script> & `<b>`"))
    assert html == ("No <code>x-2fa-code</code> → <strong>400</strong> &lt;script&gt;alert(1)&lt;/script&gt; "
                    "&amp; <code>&lt;b&gt;</code>")


def test_html_renders_the_catalogue_markdown_and_has_a_footer():
    html = render_all(mixed_report())["report.html"]
    assert "<code>totp-required</code>" in html and "`totp-required`" not in html.split("<body>", 1)[1]
    footer = html.split('<footer', 1)[1].split("</footer>", 1)[0]
    assert "rc-conformance 0.1.0" in footer and SHA[:12] in footer and "report schema 1.1" in footer


def test_junit_is_parseable_with_the_facts_as_properties(live_texts):
    root = ET.fromstring(live_texts["junit.xml"].split("\n", 1)[1])
    props = {p.get("name"): p.get("value") for p in root.findall("testsuite/properties/property")}
    assert props["profile"] == "6" and props["target_kind"] == "live" and props["schemathesis_version"] == "4.32.5"


def test_github_step_summary_gets_the_markdown_report(tmp_path):
    paths = write_reports(mixed_report(), tmp_path / "out")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    assert append_step_summary(paths, {"GITHUB_STEP_SUMMARY": str(summary)}) is True
    text = summary.read_text()
    assert text.startswith("earlier step\n# Conformance of users.resetE2EKey")
    assert append_step_summary(paths, {}) is False  # not on GitHub: nothing written anywhere

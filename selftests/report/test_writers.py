"""The four report files: schema-valid JSON, deterministic Markdown, self-contained HTML, JUnit for CI."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import jsonschema
import pytest

from rc_e2e_conformance.contract.redact import clear_secrets, redact, register_secret
from rc_e2e_conformance.report import FILES, render_all, write_reports
from rc_e2e_conformance.report.compare import report_schema
from rc_e2e_conformance.report.render import render_html, render_markdown
from rc_e2e_conformance.report.write import render_junit

from .synthetic import exchange, mixed_report, mixed_results, result, run_info

STATUSES = {"pass", "fail", "error", "skip", "xfail", "xpass", "warn"}


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator(report_schema(), format_checker=jsonschema.FormatChecker()).validate(report)


def test_report_json_validates_against_its_schema_with_every_status(tmp_path):
    from rc_e2e_conformance.contract.expectations import Expectation, Expectations

    exps = Expectations((Expectation("AUTH-01", "stale"), Expectation("OK-02", "known", versions=None)), "e.toml")
    results = [r for r in mixed_results() if r.requirement_ids != ("OK-02",)]
    results.append(result("OK-02", "failed", message="nope"))
    report = mixed_report(results=results, expectations=exps)
    assert STATUSES == {r["status"] for r in report["requirements"]}
    validate(report)
    write_reports(report, tmp_path)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    validate(on_disk)
    assert on_disk["schema_version"] == "1.1" and on_disk["verdict"] == "fail"


def test_schema_rejects_a_wrong_status():
    report = mixed_report()
    report["requirements"][0]["status"] = "green"
    with pytest.raises(jsonschema.ValidationError):
        validate(report)


def test_markdown_is_byte_identical_for_identical_outcomes():
    a = mixed_report(run=run_info(url="http://127.0.0.1:41234", started="2025-06-01T10:00:00+00:00"))
    other_port = mixed_results(url="http://127.0.0.1:50999")
    slow = [r.__class__(**{**r.__dict__, "duration_s": r.duration_s * 7 + 1}) for r in other_port]
    b = mixed_report(run=run_info(url="http://127.0.0.1:50999", started="2025-06-02T23:59:59+00:00",
                                  finished="2025-06-03T00:30:00+00:00"), results=slow)
    assert render_all(a)["report.md"] == render_all(b)["report.md"]
    assert render_all(a)["report.json"] != render_all(b)["report.json"]  # the JSON keeps times and the port
    assert "<embedded-server-url>/api/v1/users.resetE2EKey" in render_all(a)["report.md"]


def test_markdown_first_line_names_the_target():
    embedded = render_markdown(mixed_report())
    assert embedded.splitlines()[0] == ("# Conformance of users.resetE2EKey — embedded reference server "
                                        "(not a Rocket.Chat server)")
    live = render_markdown(mixed_report(run=run_info(embedded=False, url="https://chat.example.com", version="7.1.0")))
    title = "# Conformance of users.resetE2EKey — https://chat.example.com (server version 7.1.0)"
    assert live.splitlines()[0] == title
    assert "embedded reference server" not in live


def test_markdown_lists_failures_with_evidence_and_curl_and_warnings():
    md = render_markdown(mixed_report())
    failures = md.split("## Failures", 1)[1].split("## Errors", 1)[0]
    assert "AUTH-02" in failures and "curl -X POST" in failures and "200 application/json" in failures
    assert "````\nexpected 401" in failures  # the message's own ``` cannot close the fence
    assert "TFA-07" in md.split("## Warnings", 1)[1]
    assert "TFA-09" in md.split("## Errors (could not judge)", 1)[1]
    assert "**Verdict: FAIL**" in md


def test_redaction_leaves_clean_reports_unchanged():
    """Defence in depth must not garble: a report without secrets is unchanged by redact()."""
    report = mixed_report()
    assert redact(render_markdown(report)) == render_markdown(report)
    assert redact(render_html(report)) == render_html(report)
    assert redact(render_junit(report)) == render_junit(report)


@pytest.fixture
def secrets():
    values = ["Adm1n-<Pa55&word>-\"XYZ\"", "JBSWY3DPEHPK3PXPTOTPSECRET", "tok-9f8e7d6c5b4a"]
    for v in values:
        register_secret(v)
    yield values
    clear_secrets()


def test_no_registered_secret_reaches_any_report_file(tmp_path, secrets):
    password, totp, token = secrets
    leaky = result("AUTH-02", "failed", message=f"login with {password} failed; token {token}",
                   evidence=(exchange(200).__class__(
                       request=f"POST /x\nX-Auth-Token: {token}\n\n{{\"pw\": \"{password}\"}}",
                       response=f"200 application/json\n{{\"secret\": \"{totp}\"}}",
                       curl=f"curl -H 'X-Auth-Token: {token}' -d '{password}'"),))
    results = [r for r in mixed_results() if r.requirement_ids != ("AUTH-02",)] + [leaky]
    report = mixed_report(results=results, run=run_info(harness_error=f"admin {password} rejected"))
    # Fields build_report does not redact itself: the writers must still catch them.
    report["probe"]["note"] = f"probe saw {password}"
    report["requirements"][0]["statement"] = f"statement quoting {password} and {totp}"
    paths = write_reports(report, tmp_path)
    assert sorted(p.name for p in paths) == sorted(FILES)
    for path in paths:
        text = path.read_text()
        for secret in secrets:
            escaped = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            for form in {secret, escaped, escaped.replace('"', "&#34;"), escaped.replace('"', "&quot;"),
                         secret.replace('"', '\\"')}:
                assert form not in text, f"{secret} leaked into {path.name} as {form}"
        assert "***" in text


def _junit(report: dict):
    return ET.fromstring(render_junit(report).split("\n", 1)[1]).find("testsuite")


def test_junit_has_one_testcase_per_requirement_with_right_counts():
    report = mixed_report()
    suite = _junit(report)
    cases = suite.findall("testcase")
    assert len(cases) == len(report["requirements"]) == int(suite.get("tests"))
    assert [c.get("name") for c in cases] == [r["id"] for r in report["requirements"]]  # the ID, nothing else
    statements = [c.find("properties/property[@name='statement']").get("value") for c in cases]
    assert statements == [r["statement"] for r in report["requirements"]]
    assert {c.get("classname") for c in cases} == {r["family"] for r in report["requirements"]}
    counts = report["summary"]["statuses"]
    assert len(suite.findall("testcase/failure")) == int(suite.get("failures")) == counts["fail"]
    assert len(suite.findall("testcase/error")) == int(suite.get("errors")) == counts["error"]
    skipped = counts["skip"] + counts["xfail"] + counts["warn"]
    assert len(suite.findall("testcase/skipped")) == int(suite.get("skipped")) == skipped
    failed = next(c for c in cases if c.get("name") == "AUTH-02")
    assert "expected 401" in failed.find("failure").get("message")


def test_junit_should_failure_is_a_visible_skip_or_a_failure_with_strict():
    warned = next(c for c in _junit(mixed_report()).findall("testcase") if c.get("name") == "TFA-07")
    assert warned.find("failure") is None
    message = warned.find("skipped").get("message")
    assert message.startswith("SHOULD requirement failed") and "code of the previous step refused" in message
    strict = next(c for c in _junit(mixed_report(strict=True)).findall("testcase") if c.get("name") == "TFA-07")
    assert strict.find("skipped") is None and "previous step" in strict.find("failure").get("message")


def test_junit_times_count_a_shared_test_once():
    shared = result(("AUTH-01", "AUTH-02"), "passed", duration=3.0)
    alone = result("AUTH-03", "passed", duration=1.0)
    suite = _junit(mixed_report(results=[shared, alone]))
    times = {c.get("name"): float(c.get("time")) for c in suite.findall("testcase")}
    assert times["AUTH-01"] == times["AUTH-02"] == 1.5 and times["AUTH-03"] == 1.0
    assert float(suite.get("time")) == 4.0  # 3 s + 1 s, not 3 + 3 + 1


def test_junit_carries_the_run_facts():
    report = mixed_report(run=run_info(embedded=True, mutant="any_code_accepted"))
    props = {p.get("name"): p.get("value") for p in _junit(report).findall("properties/property")}
    assert props["target_kind"] == "mutant" and props["mutant"] == "any_code_accepted"
    assert props["seed"] == "1234" and props["profile"] == "7" and props["examples"] == "50"
    assert props["reproduce"].startswith("rc-conformance run") and props["python_version"]


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.tags: list[str] = []
        self.inputs: list[dict] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "action", "data") and value:
                self.refs.append((tag, name, value))
        if tag == "input":
            self.inputs.append(dict(attrs))


def test_html_is_self_contained_and_has_matrix_filter_chart_and_details():
    report = mixed_report()
    html = render_html(report)
    parser = _Assets()
    parser.feed(html)
    parser.close()
    assert parser.refs == []  # no external (or any) asset references at all
    assert "http://" not in html.replace(report["target"]["url"], "").replace("http://127.0.0.1:41234", "")
    assert "link" not in parser.tags and "<script src" not in html
    assert {"svg", "details", "style", "script", "table"} <= set(parser.tags)
    assert {i.get("value") for i in parser.inputs if i.get("type") == "checkbox"} == STATUSES
    assert html.count('class="req row-') == len(report["requirements"])


def test_html_escapes_what_the_server_sent():
    results = mixed_results() + [result("OK-01", "failed", name="test_x", message="<script>alert(1)</script>")]
    html = render_html(mixed_report(results=results))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

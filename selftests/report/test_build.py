"""build_report: the status rules per requirement and the verdict of the run (architecture.md §4)."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.contract.catalogue import by_id, load_catalogue
from rc_e2e_conformance.contract.expectations import Expectation, Expectations
from rc_e2e_conformance.report import build_report, requirement_status, verdict_of
from rc_e2e_conformance.report.build import MAX_EVIDENCE

from .synthetic import TODAY, exchange, mixed_report, result, run_info

MUST, SHOULD = by_id()["AUTH-01"], by_id()["TFA-07"]


def status(req, *outcomes, strict=False, selected=True, expectation=None):
    tests = [result(req.id, o, name=f"test_{i}", message=f"{o} message") for i, o in enumerate(outcomes)]
    return requirement_status(req, tests, strict=strict, selected=selected, expectation=expectation)


@pytest.mark.parametrize("outcomes, expected", [
    (("passed",), "pass"),
    (("passed", "skipped"), "pass"),
    (("failed",), "fail"),
    (("passed", "failed"), "fail"),
    (("failed", "error"), "error"),
    (("passed", "error"), "error"),
    (("skipped", "skipped"), "skip"),
    (("xfailed",), "xfail"),
    (("xpassed",), "pass"),
])
def test_must_requirement_status(outcomes, expected):
    assert status(MUST, *outcomes)[0] == expected


def test_should_failure_warns_unless_strict():
    assert status(SHOULD, "passed", "failed") == ("warn", "tests/test_tfa.py::test_1: failed message")
    assert status(SHOULD, "passed", "failed", strict=True)[0] == "fail"
    assert status(SHOULD, "error", "failed", strict=False)[0] == "error"


def test_skip_reasons():
    assert status(MUST) == ("skip", "no test ran")
    assert status(MUST, "passed", selected=False) == ("skip", "not selected")
    assert status(MUST, "skipped", "skipped") == ("skip", "skipped message")


def test_expectation_turns_fail_and_warn_into_xfail_and_pass_into_xpass():
    exp = Expectation("AUTH-01", "6.x sends no success field")
    assert status(MUST, "failed", expectation=exp)[0] == "xfail"
    assert status(SHOULD, "failed", expectation=exp)[0] == "xfail"
    assert status(SHOULD, "failed", strict=True, expectation=exp)[0] == "xfail"
    st, reason = status(MUST, "passed", expectation=exp)
    assert st == "xpass" and "stale" in reason
    # an expectation never hides that the suite could not judge, nor invents a result
    assert status(MUST, "error", expectation=exp)[0] == "error"
    assert status(MUST, "skipped", expectation=exp)[0] == "skip"


@pytest.mark.parametrize("statuses, verdict", [
    (["pass", "pass"], "pass"),
    (["pass", "warn", "skip", "xfail", "xpass"], "pass"),
    (["pass", "fail", "warn"], "fail"),
    (["fail", "error", "pass"], "fail"),  # a proven failure outranks what could not be judged
    (["error", "pass"], "error"),
    (["skip", "skip"], "error"),  # nothing judged: never a green light
])
def test_verdict_precedence_is_fail_then_error_then_pass(statuses, verdict):
    assert verdict_of(statuses, "")[0] == verdict


def test_harness_error_makes_the_verdict_error():
    assert verdict_of(["pass"], "target unreachable") == ("error", "target unreachable")


def test_a_proven_failure_stays_a_failure_after_a_harness_error():
    verdict, reason = verdict_of(["fail", "error", "pass"], "the run was interrupted before it finished")
    assert verdict == "fail"
    assert "1 requirement(s) failed" in reason and "1 more could not be judged" in reason
    assert "interrupted" in reason


def test_mixed_report_statuses_and_summary():
    report = mixed_report()
    got = {r["id"]: r["status"] for r in report["requirements"]}
    assert [r["id"] for r in report["requirements"]] == [r.id for r in load_catalogue()]
    assert (got["AUTH-02"], got["TFA-07"], got["TFA-08"], got["TFA-09"], got["RATE-01"], got["USER-04"]) == (
        "fail", "warn", "skip", "error", "skip", "pass")
    counts = report["summary"]["statuses"]
    assert sum(counts.values()) == report["summary"]["requirements"] == len(load_catalogue())
    assert (counts["fail"], counts["warn"], counts["error"], counts["skip"]) == (1, 1, 1, 2)
    assert report["verdict"] == "fail"  # AUTH-02 failed: proven, even though TFA-09 could not be judged
    assert report["summary"]["tests"]["total"] == sum(
        v for k, v in report["summary"]["tests"].items() if k != "total")


def test_strict_turns_the_should_warning_into_fail():
    results = [r for r in mixed_report()["requirements"]]
    assert {r["id"]: r["status"] for r in results}["TFA-07"] == "warn"
    strict = mixed_report(strict=True)
    assert {r["id"]: r["status"] for r in strict["requirements"]}["TFA-07"] == "fail"
    assert strict["strict"] is True


def test_an_interrupted_run_reports_unrun_requirements_as_not_judged():
    run = run_info()
    run.harness_error = "the run was interrupted before it finished"
    report = build_report(run, [result("AUTH-01")], load_catalogue(), None, False, TODAY, selected=("AUTH-01",
                                                                                                    "AUTH-02"))
    by = {r["id"]: r for r in report["requirements"]}
    assert by["AUTH-01"]["status"] == "pass"
    assert by["AUTH-02"]["status"] == "error"
    assert by["AUTH-02"]["reason"] == "not judged: the run was interrupted before it finished"
    assert by["AUTH-03"]["status"] == "skip" and by["AUTH-03"]["reason"] == "not selected"
    assert report["verdict"] == "error"


def test_selection_marks_other_requirements_not_selected():
    report = build_report(run_info(), [result("AUTH-01")], load_catalogue(), None, False, TODAY,
                          selected=("AUTH-01",))
    by = {r["id"]: r for r in report["requirements"]}
    assert by["AUTH-01"]["status"] == "pass" and report["verdict"] == "pass"
    assert by["AUTH-02"]["status"] == "skip" and by["AUTH-02"]["reason"] == "not selected"
    assert report["selection"] == ["AUTH-01"]


def test_evidence_is_capped_and_failing_tests_come_first():
    passing = result("OK-01", "passed", name="test_a", evidence=tuple(exchange(200, str(i)) for i in range(4)))
    failing = result("OK-01", "failed", name="test_z", evidence=(exchange(400, "bad"), exchange(400, "bad2")))
    report = build_report(run_info(), [passing, failing], load_catalogue(), None, False, TODAY)
    ev = next(r for r in report["requirements"] if r["id"] == "OK-01")["evidence"]
    assert len(ev) == MAX_EVIDENCE
    assert [e["nodeid"].endswith("test_z") for e in ev] == [True, True, False, False, False]


def test_unknown_and_untagged_tests_are_noted():
    report = build_report(run_info(), [result("NOPE-01"), result(())], load_catalogue(), None, False, TODAY)
    assert any("NOPE-01" in n for n in report["notes"])
    assert any("name no requirement" in n for n in report["notes"])


def test_expectations_in_a_full_report():
    exps = Expectations((Expectation("AUTH-02", "known 200"), Expectation("AUTH-01", "stale one")), "x.toml")
    report = mixed_report(expectations=exps)
    by = {r["id"]: r for r in report["requirements"]}
    assert by["AUTH-02"]["status"] == "xfail" and by["AUTH-02"]["expectation"]["state"] == "applied"
    assert by["AUTH-01"]["status"] == "xpass" and by["AUTH-01"]["expectation"]["state"] == "stale"
    assert {e["requirement"]: e["state"] for e in report["expectations"]} == {"AUTH-01": "stale", "AUTH-02": "applied"}
    assert report["verdict"] == "error"  # TFA-09 still errors: expectations never hide that

"""Turn per-test results into the report dict: one status per requirement, one verdict per run."""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from rc_e2e_conformance.contract.catalogue import Requirement
from rc_e2e_conformance.contract.expectations import NONE, Expectation, Expectations
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import RunInfo, TestResult

SCHEMA_VERSION = "1.1"  # 1.1 added target.kind/profile/mutant and the run object
ENDPOINT = "POST /api/v1/users.resetE2EKey"
#: Requirement statuses, worst first (the order summaries and legends use).
STATUSES = ("error", "fail", "warn", "xpass", "xfail", "skip", "pass")
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
#: Evidence kept per requirement: enough to reproduce, not a dump of every property-test case.
MAX_EVIDENCE = 5
MAX_FIELD = 8000
NOT_SELECTED = "not selected"
NO_TEST_RAN = "no test ran"


def _clip(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def first_line(text: str, limit: int = 200) -> str:
    return _clip(next((ln.strip() for ln in str(text).splitlines() if ln.strip()), ""), limit)


def _trim(text: str, limit: int = MAX_FIELD) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[:limit] + "\n… (truncated)"


def requirement_status(req: Requirement, tests: Sequence[TestResult], *, strict: bool, selected: bool = True,
                       expectation: Expectation | None = None, run_error: str = "") -> tuple[str, str]:
    """Status and one-line reason for one requirement, expectation applied. A selected requirement whose tests
    never ran because of `run_error` (the run-level harness error, e.g. an interrupt) was not judged: it is
    *error*, not a quiet *skip*."""
    status, reason = _raw_status(req, tests, strict=strict, selected=selected)
    if status == "skip" and reason == NO_TEST_RAN and run_error:
        return "error", f"not judged: {first_line(run_error)}"
    if expectation is not None:
        if status in ("fail", "warn"):
            return "xfail", f"known deviation: {expectation.reason} (was: {reason})"
        if status == "pass":
            return "xpass", f"listed as a known deviation ({expectation.reason}) but passed: the expectation is stale"
    return status, reason


def _raw_status(req: Requirement, tests: Sequence[TestResult], *, strict: bool, selected: bool) -> tuple[str, str]:
    if not selected:
        return "skip", NOT_SELECTED
    if not tests:
        return "skip", NO_TEST_RAN
    by = {o: [t for t in tests if t.outcome == o] for o in OUTCOMES}
    if by["error"]:
        return "error", _why(by["error"][0])
    if by["failed"]:
        return "fail" if req.is_must or strict else "warn", _why(by["failed"][0])
    if by["xfailed"] and not (by["passed"] or by["xpassed"]):
        return "xfail", _why(by["xfailed"][0])
    if len(by["skipped"]) == len(tests):
        return "skip", "; ".join(sorted({first_line(t.message) or "skipped" for t in tests}))
    return "pass", ""


def headline(text: str, limit: int = 200) -> str:
    """The first line of a message; when it ends in ":" (a list follows), the list joined on, so the
    line says what was expected AND what came, never a bare trailing colon."""
    head, *rest = [ln.strip() for ln in str(text).splitlines() if ln.strip()] or [""]
    if head.endswith(":") and rest:
        head += " " + "; ".join(ln.lstrip("- ").strip() for ln in rest if not ln.startswith(("Reproduce:", "curl ")))
    return _clip(head, limit)


def _why(test: TestResult) -> str:
    return redact(f"{test.nodeid}: {headline(test.message) or test.outcome}")


def verdict_of(statuses: Iterable[str], harness_error: str) -> tuple[str, str]:
    """fail > error > pass: a proven failure is reported as such even when other
    requirements could not be judged — CI retries exit 2 as infrastructure trouble, a broken release
    must get exit 1. warn/skip/xfail/xpass never fail a run, but a run that judged nothing is *error*."""
    statuses = list(statuses)
    fails, errors = statuses.count("fail"), statuses.count("error")
    if fails:
        also = [f"{errors} more could not be judged" if errors else "",
                f"the run also stopped short: {redact(first_line(harness_error, 300))}" if harness_error else ""]
        return "fail", "; ".join([f"{fails} requirement(s) failed", *filter(None, also)])
    if harness_error:
        return "error", redact(first_line(harness_error, 500))
    if errors:
        return "error", f"{errors} requirement(s) could not be judged (harness error)"
    if not any(s in ("pass", "warn", "xfail", "xpass") for s in statuses):
        return "error", "no requirement was judged (every requirement was skipped)"
    return "pass", "every judged requirement passed or is a listed deviation/warning"


def _evidence(tests: Sequence[TestResult]) -> list[dict[str, str]]:
    # Failing tests first: their exchanges are what a reader needs to reproduce the finding.
    ordered = sorted(tests, key=lambda t: (t.outcome not in ("failed", "error"), t.nodeid))
    kept = [(t, ev) for t in ordered for ev in t.evidence][:MAX_EVIDENCE]
    return [{"nodeid": t.nodeid, "request": _trim(ev.request), "response": _trim(ev.response),
             "curl": _trim(ev.curl, 4000)} for t, ev in kept]


def build_report(run: RunInfo, results: list[TestResult], catalogue: Iterable[Requirement],
                 expectations: Expectations | None, strict: bool, today: date, *,
                 selected: Collection[str] = ()) -> dict[str, Any]:
    """The whole report as a JSON-ready dict (schema: report/schemas/report.schema.json); `selected` is the
    requirement selection (empty = every requirement was selected)."""
    catalogue = tuple(catalogue)
    expectations = expectations or NONE
    known = {r.id for r in catalogue}
    notes: list[str] = []
    unknown = sorted({rid for t in results for rid in t.requirement_ids if rid not in known})
    if unknown:
        notes.append(f"tests name requirement IDs missing from the catalogue: {', '.join(unknown)}")
    untagged = sorted(t.nodeid for t in results if not t.requirement_ids)
    if untagged:
        notes.append(f"{len(untagged)} test(s) name no requirement: {', '.join(untagged[:5])}")

    requirements: list[dict[str, Any]] = []
    exp_rows = []
    for req in catalogue:
        tests = sorted((t for t in results if req.id in t.requirement_ids), key=lambda t: t.nodeid)
        exp = expectations.applicable(req.id, run.server_version, today)
        status, reason = requirement_status(
            req, tests, strict=strict, selected=not selected or req.id in selected, expectation=exp,
            run_error=run.harness_error)
        exp_state = None if exp is None else {"xfail": "applied", "xpass": "stale"}.get(status, "unused")
        for e in expectations.for_requirement(req.id):
            state = exp_state if e is exp else e.state(run.server_version, today)
            # Another entry that applies is shadowed: an earlier entry for the same ID applies instead.
            exp_rows.append({**e.to_dict(), "state": "shadowed" if state == "applies" else state})
        requirements.append({
            "id": req.id,
            "level": req.level,
            "family": req.family,
            "source": list(req.source),
            "statement": req.statement,
            "status": status,
            "reason": redact(reason),
            "tests": [{"nodeid": t.nodeid, "outcome": t.outcome, "duration_s": round(t.duration_s, 3),
                       "message": _trim(t.message, 4000), "doc": redact(t.doc)} for t in tests],
            "evidence": _evidence(tests),
            "expectation": {**exp.to_dict(), "state": exp_state} if exp is not None else None,
        })

    statuses = [r["status"] for r in requirements]
    verdict, verdict_reason = verdict_of(statuses, run.harness_error)
    return {
        "schema_version": SCHEMA_VERSION,
        "endpoint": ENDPOINT,
        "verdict": verdict,
        "verdict_reason": verdict_reason,
        "strict": bool(strict),
        "target": {"url": redact(run.target_url), "embedded": bool(run.embedded),
                   "server_version": run.server_version,
                   "kind": "mutant" if run.mutant else ("embedded" if run.embedded else "live"),
                   "mutant": run.mutant, "profile": run.profile or None, "profile_note": run.profile_note},
        "suite_version": run.suite_version,
        "spec_sha256": run.spec_sha256,
        "seed": run.seed,
        "started": run.started,
        "finished": run.finished,
        "selection": sorted(selected),
        "run": {"examples": run.examples, "opt_in": list(run.opt_in), "reproduce": redact(run.reproduce),
                "versions": dict(run.versions)},
        "summary": {
            "requirements": len(requirements),
            "statuses": {s: statuses.count(s) for s in STATUSES},
            "tests": {"total": len(results), **{o: sum(1 for t in results if t.outcome == o) for o in OUTCOMES}},
        },
        "requirements": requirements,
        "properties": asdict(run.properties),
        "rate_limited_answers": run.rate_limited_answers,
        "probe": dict(run.probe),
        "harness_error": redact(run.harness_error),
        "notices": [redact(n) for n in run.notices],
        "expectations": exp_rows,
        "expectations_file": expectations.source or None,
        "notes": notes,
    }

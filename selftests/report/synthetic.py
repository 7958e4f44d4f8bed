"""Synthetic runs for the report selftests: RunInfo and TestResult lists without any server."""
from __future__ import annotations

from datetime import date

from rc_e2e_conformance.contract.catalogue import load_catalogue
from rc_e2e_conformance.contract.releases import release_of
from rc_e2e_conformance.contract.results import Evidence, RunInfo, TestResult
from rc_e2e_conformance.report import build_report

TODAY = date(2025, 6, 1)
SHA = "0123456789abcdef" * 4


def run_info(*, embedded: bool = True, url: str = "http://127.0.0.1:41234", version: str | None = "7.4.0",
             started: str = "2025-06-01T10:00:00+00:00", finished: str = "2025-06-01T10:01:00+00:00",
             harness_error: str = "", mutant: str | None = None, profile: str | None = None) -> RunInfo:
    return RunInfo(target_url=url, embedded=embedded, server_version=version, suite_version="0.1.0",
                   spec_sha256=SHA, seed=1234, started=started, finished=finished, harness_error=harness_error,
                   examples=50, opt_in=("--allow-config-changes",), mutant=mutant,
                   profile=profile or release_of(version).profile,
                   reproduce="rc-conformance run --seed 1234" + (f" --refserver-mutant {mutant}" if mutant else ""),
                   versions={"python": "3.12.0", "pytest": "9.0.3", "schemathesis": "4.32.5"})


def result(rid: str | tuple[str, ...], outcome: str = "passed", *, name: str | None = None, message: str = "",
           duration: float = 0.25, evidence: tuple[Evidence, ...] = ()) -> TestResult:
    ids = (rid,) if isinstance(rid, str) else rid
    first = ids[0] if ids else "NONE-00"
    nodeid = f"tests/test_{first.split('-')[0].lower()}.py::{name or 'test_' + first.lower().replace('-', '_')}"
    return TestResult(nodeid=nodeid, requirement_ids=ids, outcome=outcome, duration_s=duration,
                      message=message, doc=f"The rule of {first}.", evidence=evidence)


def exchange(status: int = 400, note: str = "", url: str = "http://127.0.0.1:41234") -> Evidence:
    return Evidence(
        request=f"POST {url}/api/v1/users.resetE2EKey\nx-user-id: u1\nx-auth-token: ***\n\n{{\"userId\": \"x{note}\"}}",
        response=f"{status} application/json\n{{\"success\": false, \"errorType\": \"totp-required\"}}",
        curl=f"curl -X POST '{url}/api/v1/users.resetE2EKey' -H 'x-auth-token: ***'",
    )


def mixed_results(url: str = "http://127.0.0.1:41234") -> list[TestResult]:
    """One requirement per status, plus passes for every other requirement."""
    special = {
        "AUTH-02": [result("AUTH-02", "failed", message="expected 401, got 200 | see body\n```\n{}",
                           evidence=(exchange(200, url=url),))],
        "TFA-07": [result("TFA-07", "failed", message="code of the previous step refused")],
        "TFA-08": [result("TFA-08", "skipped", message="2FA is not enforced on this target")],
        "TFA-09": [result("TFA-09", "error", message="ProvisioningError: cannot create user")],
        "USER-04": [result("USER-04", "passed"), result("USER-04", "skipped", name="test_other", message="n/a")],
    }
    out: list[TestResult] = []
    for req in load_catalogue():
        if req.id == "RATE-01":
            continue  # "no test ran"
        out.extend(special.get(req.id, [result(req.id, "passed", evidence=(exchange(url=url),))]))
    return out


def mixed_report(**kwargs):
    run = kwargs.pop("run", None) or run_info()
    results = kwargs.pop("results", None) or mixed_results()
    return build_report(run, results, load_catalogue(), kwargs.pop("expectations", None),
                        kwargs.pop("strict", False), kwargs.pop("today", TODAY), **kwargs)

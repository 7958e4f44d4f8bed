"""pytest plugin: one TestResult per test, and at session end the report (built, written, verdict kept)."""
from __future__ import annotations

import inspect
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from rc_e2e_conformance import __version__
from rc_e2e_conformance.contract.catalogue import load_catalogue
from rc_e2e_conformance.contract.errors import HarnessError
from rc_e2e_conformance.contract.expectations import Expectations, load_expectations
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import Evidence, RunInfo, TestResult
from rc_e2e_conformance.contract.spec import spec_sha256
from rc_e2e_conformance.report import build_report, write_reports
from rc_e2e_conformance.report.build import first_line
from rc_e2e_conformance.report.render import summary_line
from rc_e2e_conformance.server import evidence
from rc_e2e_conformance.server.cleanup import interrupted, signals_deferred

from .plugin import requirement_ids
from .stash import COLLECTOR_KEY, REPORT_KEY, RUN_KEY, SETTINGS_KEY, TARGET_KEY

MAX_MESSAGE_LINES = 40
MAX_MESSAGE_CHARS = 4000
_FAILURE_CLASS_RE = re.compile(r"^(AssertionError(: )?|(_pytest\.outcomes\.)?Failed: )")
_ATTR = "rcc"  # attribute on TestReport; plain data so pytest-xdist can ship it to the controller


class Collector:
    """Accumulates the phases of each test and keeps the finished results in run order."""

    def __init__(self, expectations: Expectations) -> None:
        self.expectations = expectations
        self.results: list[TestResult] = []
        self.collection_errors: list[str] = []
        self.listeners: list[Callable[[TestResult], None]] = []
        self.report: dict[str, Any] | None = None
        self.paths: list[Path] = []
        self.write_error = ""
        self._phases: dict[str, list[dict[str, Any]]] = {}

    # Registered as a plugin object: these hooks run where reports arrive (the xdist controller too).
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, _ATTR, None)
        if data is None:
            return
        self._phases.setdefault(report.nodeid, []).append({**data, "duration": report.duration})
        if data["when"] == "teardown":
            result = _combine(report.nodeid, self._phases.pop(report.nodeid))
            self.results.append(result)
            for listener in self.listeners:
                listener(result)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(
                f"{report.nodeid or 'collection'}: {first_line(str(report.longrepr), 300)}")


def _combine(nodeid: str, phases: list[dict[str, Any]]) -> TestResult:
    """setup decides unless it passed; then call; a failing teardown (cleanup) makes it an error."""
    by_when = {p["when"]: p for p in phases}
    first = by_when.get("setup") or phases[0]
    # pytest's subtests report extra "call" phases under the same nodeid: the worst one decides.
    calls = [p for p in phases if p["when"] == "call"]
    worst = [p for p in calls if p["outcome"] in ("error", "failed")]
    call = min(worst, key=lambda p: p["outcome"] != "error") if worst else (calls[-1] if calls else first)
    main = first if first["outcome"] != "passed" else call
    outcome, message = main["outcome"], main["message"]
    teardown = by_when.get("teardown")
    if teardown and teardown["outcome"] == "error":
        outcome = "error"
        message = "\n".join(m for m in (message, teardown["message"]) if m)  # the latter starts "teardown: "
    return TestResult(nodeid=nodeid, requirement_ids=tuple(first.get("ids", ())), outcome=outcome,
                      duration_s=sum(p["duration"] for p in phases), message=_trim(message), doc=first.get("doc", ""),
                      evidence=tuple(Evidence(**e) for p in phases for e in p.get("evidence", ())))


def _trim(text: str) -> str:
    lines = redact(text).strip().splitlines()
    if len(lines) > MAX_MESSAGE_LINES:
        lines = lines[:MAX_MESSAGE_LINES] + [f"… ({len(lines) - MAX_MESSAGE_LINES} more lines)"]
    out = "\n".join(lines)
    return out if len(out) <= MAX_MESSAGE_CHARS else out[:MAX_MESSAGE_CHARS] + "… (truncated)"


def _exc_message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    if excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        # exconly() carries pytest's assertion rewriting ("assert 200 == 401"); drop the class name.
        return _FAILURE_CLASS_RE.sub("", excinfo.exconly()).strip()
    return f"{type(excinfo.value).__name__}: {excinfo.value}"


def _classify(report: pytest.TestReport, call: pytest.CallInfo[None]) -> tuple[str, str]:
    """The test-level outcome of one phase: HarnessError or any setup/teardown failure → error."""
    excinfo = call.excinfo
    if report.skipped:
        if hasattr(report, "wasxfail"):
            return "xfailed", str(report.wasxfail)
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr or "")
        return "skipped", reason.removeprefix("Skipped: ")
    if report.passed:
        return ("xpassed", str(report.wasxfail)) if hasattr(report, "wasxfail") else ("passed", "")
    message = _exc_message(excinfo) if excinfo is not None else str(report.longrepr or "")
    if report.when != "call":
        return "error", f"{report.when}: {message}"
    if excinfo is None or excinfo.errisinstance((AssertionError, pytest.fail.Exception)):
        return "failed", message
    if excinfo.errisinstance(HarnessError):
        return "error", message
    # Anything else (TypeError, an unwrapped network error) means the test itself could not judge.
    return "error", f"unexpected {message}"


def _doc(item: pytest.Item) -> str:
    doc = inspect.getdoc(getattr(item, "obj", None)) or ""
    return " ".join(doc.split("\n\n")[0].split())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        exps = load_expectations(getattr(config.stash.get(SETTINGS_KEY, None), "expectations", None))
    except HarnessError as exc:
        raise pytest.UsageError(redact(str(exc))) from None
    config.stash[COLLECTOR_KEY] = collector = Collector(exps)
    config.pluginmanager.register(collector, "rcc-report-collector")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    evidence.take()  # forget exchanges recorded outside any test (e.g. by session-level setup)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    outcome, message = _classify(report, call)
    data: dict[str, Any] = {"when": report.when, "outcome": outcome, "message": message}
    if report.when == "setup":
        data["ids"] = list(dict.fromkeys(map(str, requirement_ids(item))))
        data["doc"] = redact(_doc(item))
    if report.when == "teardown":
        data["evidence"] = [asdict(e) for e in evidence.take()]
    setattr(report, _ATTR, data)
    return report


def _finalize_run(config: pytest.Config, collector: Collector, exitstatus: int) -> RunInfo:
    settings = config.stash.get(SETTINGS_KEY, None)
    run = config.stash.get(RUN_KEY, None)
    if run is None:  # the harness never got far enough to create one
        run = RunInfo(target_url=(settings.url or "embedded") if settings else "",
                      embedded=getattr(settings, "url", None) is None, server_version=None,
                      suite_version=__version__, spec_sha256=spec_sha256(), seed=getattr(settings, "seed", None),
                      started=datetime.now(UTC).isoformat(timespec="seconds"))
    run.finished = datetime.now(UTC).isoformat(timespec="seconds")
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        run.target_url, run.embedded, run.server_version = target.url, target.embedded, target.server_version
    run.strict = bool(getattr(settings, "strict", run.strict))
    if not run.harness_error:
        run.harness_error = _run_level_error(collector, exitstatus)
    return run


def _run_level_error(collector: Collector, exitstatus: int) -> str:
    if collector.collection_errors:
        return f"test collection failed: {collector.collection_errors[0]}"
    if exitstatus == pytest.ExitCode.INTERRUPTED or interrupted():
        return "the run was interrupted before it finished"
    judged = [r for r in collector.results if r.outcome in ("passed", "failed", "xfailed", "xpassed")]
    errors = [r for r in collector.results if r.outcome == "error"]
    if errors and not judged:
        # Nothing could be judged: the same setup failure repeated per test; report it once.
        common, _ = Counter(first_line(r.message, 300) for r in errors).most_common(1)[0]
        return common.removeprefix("setup: ")
    return ""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    collector = config.stash.get(COLLECTOR_KEY, None)
    if collector is None or config.option.collectonly:  # nothing ran: there is no verdict to give
        return
    settings = config.stash.get(SETTINGS_KEY, None)
    # An impatient Ctrl-C must not cut the report short: it is the one thing that says what happened.
    with signals_deferred(reraise=False):
        run = _finalize_run(config, collector, exitstatus)
        report = build_report(run, collector.results, load_catalogue(), collector.expectations,
                              run.strict, date.today(), selected=getattr(settings, "requirements", ()))
        collector.report = report
        config.stash[REPORT_KEY] = report
        report_dir, junit = getattr(settings, "report_dir", None), getattr(settings, "junit", None)
        try:  # neither given: nothing is written
            collector.paths = write_reports(report, report_dir, junit=junit)
        except OSError as exc:
            collector.write_error = redact(f"cannot write reports to {report_dir or junit}: {exc.strerror or exc}")
    session.exitstatus = exit_status(int(exitstatus), report, collector.results)


def exit_status(pytest_status: int, report: dict[str, Any], results: list[TestResult]) -> int:
    """pytest's exit status made to agree with the verdict: 0 pass, 1 fail or could not judge.

    A failed test whose requirements all ended in warn (a SHOULD failure without --rcc-strict) or in
    xfail (a listed deviation) fails pytest but not the run. A test naming no requirement (a selftest
    in the project's own run) is never excused. Interrupts, usage errors and empty selections keep
    pytest's own code.
    """
    if pytest_status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return pytest_status
    if report["verdict"] != "pass":
        return pytest.ExitCode.TESTS_FAILED
    excused = {r["id"] for r in report["requirements"] if r["status"] in ("warn", "xfail")}
    unexcused = [t for t in results if t.outcome in ("failed", "error")
                 and not (t.requirement_ids and set(t.requirement_ids) <= excused)]
    return pytest.ExitCode.TESTS_FAILED if unexcused else pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter: Any) -> None:
    collector = terminalreporter.config.stash.get(COLLECTOR_KEY, None)
    if collector is None or collector.report is None:
        return
    terminalreporter.write_line(summary_line(collector.report, collector.paths))
    if collector.write_error:
        terminalreporter.write_line(f"rc-conformance: {collector.write_error}", red=True)

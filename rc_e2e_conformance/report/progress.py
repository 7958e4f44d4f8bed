"""The CLI's terminal view of a run: one line per requirement as it completes, instead of pytest's dots."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any, TextIO

import pytest

from rc_e2e_conformance.contract.catalogue import by_id
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import TestResult

from .build import first_line, requirement_status

WIDTH = 120


class Progress:
    """A pytest plugin object passed to `pytest.main(plugins=[...])` by the CLI."""

    def __init__(self, stream: TextIO, quiet: bool = False, compact: bool = True,
                 lookup: Callable[[pytest.Config, str], Any] | None = None) -> None:
        #: lookup(config, "collector" | "settings" | "target"): what the pytest layer keeps in its stash
        #: (handed in by the CLI: this layer does not import the pytest plugin).
        self._lookup = lookup or (lambda config, name: None)
        self.stream = stream
        self.quiet = quiet or not compact  # not compact: pytest's own output is shown instead
        self.compact = compact
        self.report: dict[str, Any] | None = None
        self.paths: list[Any] = []
        self.write_error = ""
        self.internal_error = ""
        self._remaining: Counter[str] = Counter()  # tests still to come, per requirement
        self._results: dict[str, list[TestResult]] = defaultdict(list)
        self._collector: Any = None
        self._strict = False
        self._config: pytest.Config | None = None
        self._errors_told: set[str] = set()  # error causes already printed
        self._selected: set[str] = set()
        self._told_target = False

    def _line(self, text: str) -> None:
        self.stream.write(redact(text) + "\n")
        self.stream.flush()

    def rcc_notice(self, line: str) -> None:
        """A one-line notice from inside the run (e.g. waiting out a rate limit): shown even when quiet."""
        self._line(line)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._config = session.config
        self._collector = self._lookup(session.config, "collector")
        settings = self._lookup(session.config, "settings")
        self._strict = bool(getattr(settings, "strict", False))
        self._selected = set(getattr(settings, "requirements", ()))
        for item in session.items:
            for mark in item.iter_markers("requirement"):
                self._remaining.update(set(map(str, mark.args)))
        if self._collector is not None:
            self._collector.listeners.append(self._on_result)
        if not self.quiet:
            shown = [r for r in self._remaining if self._wanted(r)]
            also = len(self._remaining) - len(shown)
            self._line(f"rc-conformance: {len(session.items)} tests for {len(shown)} requirements"
                       + (f" (they also touch {also} unselected requirement(s), not judged)" if also else ""))

    def _wanted(self, rid: str) -> bool:
        return not self._selected or rid in self._selected

    def _on_result(self, result: TestResult) -> None:
        catalogue = by_id()
        if not self._told_target and not self.quiet:
            self._tell_target()
        for rid in dict.fromkeys(result.requirement_ids):
            self._results[rid].append(result)
            self._remaining[rid] -= 1
            # An unselected requirement a shared test touched is "not selected" in the report: no line.
            if self._remaining[rid] > 0 or rid not in catalogue or self.quiet or not self._wanted(rid):
                continue
            version = getattr(self._target(), "server_version", None)  # (a listener of the collector: it exists)
            exp = self._collector.expectations.applicable(rid, version, date.today())
            status, reason = requirement_status(catalogue[rid], self._results[rid], strict=self._strict,
                                                expectation=exp)
            head, _, tail = reason.partition(": ")
            reason = tail if "::" in head else reason  # the nodeid is in the report; keep the line short
            detail = catalogue[rid].statement if status == "pass" or not reason else reason
            if status == "error":
                # A broken setup errors every test the same way: say each cause once; the verdict line
                # counts them all (and says the cause again on stderr).
                cause = reason.removeprefix("setup: ")
                if cause in self._errors_told:
                    continue
                self._errors_told.add(cause)
            self._line(first_line(f"{status.upper():<6} {rid:<10} {detail}", WIDTH))

    def _target(self) -> Any:
        return self._lookup(self._config, "target") if self._config is not None else None

    def _tell_target(self) -> None:
        """Once the target answered /api/info: its version and the profile applied (live targets)."""
        target = self._target()
        if target is None:
            return
        self._told_target = True
        if not target.embedded:
            release = target.release
            note = f" — {release.note}" if release.note else ""
            self._line(f"rc-conformance: server version {target.server_version or 'unknown'}, "
                       f"profile {release.profile}.x{note}")

    @pytest.hookimpl(wrapper=True)
    def pytest_report_teststatus(self, report: Any, config: pytest.Config):
        category, letter, word = yield
        # compact: keep pytest's counting, drop its dots (our lines replace them)
        return (category, "", "") if self.compact else (category, letter, word)

    def pytest_internalerror(self, excrepr: Any, excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
        self.internal_error = redact(first_line(excinfo.exconly(), 300))
        return True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._collector = self._collector or self._lookup(config, "collector")
        if self._collector is not None:
            self.report = self._collector.report
            self.paths = list(self._collector.paths)
            self.write_error = self._collector.write_error


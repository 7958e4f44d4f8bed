"""The session ledger of the property run: every failure filed under the one SCHEMA-ID it breaks."""
from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.results import Evidence

REQUIREMENTS = ("SCHEMA-01", "SCHEMA-02", "SCHEMA-03", "SCHEMA-04")
#: Groups (check + failure title) shown per requirement in a failure message.
MAX_GROUPS = 4
MAX_TEXT = 1500
MAX_NOTES = 20


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters)"


@dataclass(frozen=True)
class Finding:
    """One failed check for one generated request (all text already redacted)."""

    requirement: str
    check: str
    title: str
    message: str
    request: str
    response: str
    curl: str
    size: int  # length of the request as sent: the smallest failing example is the one shown

    @property
    def group(self) -> tuple[str, str]:
        return self.check, self.title

    def evidence(self) -> Evidence:
        return Evidence(request=self.request, response=self.response, curl=self.curl)


@dataclass(repr=False)
class Ledger:
    """Filled by the exploring test, read by one small test per SCHEMA-ID."""

    cases: int = 0
    generated: int = 0  # cases schemathesis generated (sent or not; the rest of `cases` are explicit.py's)
    duplicates: int = 0  # generated cases not sent: the same request was already sent
    findings: dict[str, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    notes: list[str] = field(default_factory=list)  # SHOULD-level observations, never failures
    statuses: Counter = field(default_factory=Counter)  # HTTP status -> answers, for the run summary
    harness_error: str = ""  # the run could not judge (network, provisioning, a refused unsafe request)
    started: bool = False
    finished: bool = False
    seed: int | None = None
    examples: int | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __repr__(self) -> str:
        return f"Ledger(cases={self.cases}, failures={self.failure_count}, seed={self.seed})"

    def add(self, finding: Finding) -> None:
        with self._lock:
            self.findings[finding.requirement].append(finding)

    def count_status(self, status: int) -> None:
        with self._lock:  # answers are counted from the worker threads of the run
            self.statuses[status] += 1

    def note(self, text: str) -> None:
        text = redact(text)
        with self._lock:
            if text not in self.notes and len(self.notes) < MAX_NOTES:
                self.notes.append(text)

    def fail_run(self, message: str) -> None:
        with self._lock:
            if not self.harness_error:
                self.harness_error = redact(message)

    def failures(self, requirement: str) -> list[Finding]:
        return list(self.findings.get(requirement, ()))

    @property
    def failure_count(self) -> int:
        return sum(len(items) for items in self.findings.values())

    def representatives(self, requirement: str) -> list[tuple[Finding, int]]:
        """The smallest failing request of each (check, title) group, with the group's size."""
        groups: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for finding in self.failures(requirement):
            groups[finding.group].append(finding)
        reps = [(min(items, key=lambda f: f.size), len(items)) for items in groups.values()]
        return sorted(reps, key=lambda pair: (-pair[1], pair[0].check))

    def status_summary(self) -> str:
        return ", ".join(f"{status}: {count}" for status, count in sorted(self.statuses.items())) or "none"

    def message(self, requirement: str) -> str:
        """The failure message of `requirement`'s test: counts, then the smallest example per group."""
        failures = self.failures(requirement)
        reps = self.representatives(requirement)
        lines = [f"{requirement}: {len(failures)} failed check(s) over {self.cases} generated request(s), "
                 f"{len(reps)} distinct kind(s); the smallest failing request of each kind follows "
                 f"(seed {self.seed}, --examples {self.examples} reproduces the run).",
                 f"Answers by status: {self.status_summary()}"]
        for finding, count in reps[:MAX_GROUPS]:
            lines += ["", f"[{finding.check}] {finding.title} — {count} request(s)", _clip(finding.message, 600),
                      "Request:", _clip(finding.request), "Response:", _clip(finding.response),
                      f"Reproduce with: {_clip(finding.curl)}"]
        if len(reps) > MAX_GROUPS:
            lines.append(f"… and {len(reps) - MAX_GROUPS} more kind(s)")
        return "\n".join(lines)

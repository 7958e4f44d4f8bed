"""The data the pytest plugin collects per test and hands to the report writers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: pytest-level outcome of one test, after the plugin's classification:
#: "error" = the harness could not judge (HarnessError, fixture failure), never a contract failure.
Outcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


@dataclass(frozen=True)
class Evidence:
    """One redacted request/response exchange that supports a verdict."""

    request: str  # e.g. "POST http://…/api/v1/users.resetE2EKey\nx-auth-token: ***\n\n{…}" (redacted, truncated)
    response: str  # e.g. "400 application/json\n{…}" (redacted, truncated)
    curl: str  # a copy-pasteable curl line with secrets shown as ***


@dataclass(frozen=True)
class TestResult:
    nodeid: str
    requirement_ids: tuple[str, ...]
    outcome: Outcome
    duration_s: float
    message: str = ""  # redacted; first lines of the failure/skip reason
    doc: str = ""  # the test's docstring (the rule, in one sentence)
    evidence: tuple[Evidence, ...] = ()


@dataclass
class PropertyStats:
    cases: int = 0  # requests sent (generated + hand-picked)
    duplicates: int = 0  # generated cases that repeated a request already sent: not sent again
    failures: int = 0
    seed: int | None = None
    examples: int | None = None


@dataclass
class RunInfo:
    target_url: str
    embedded: bool
    server_version: str | None
    suite_version: str
    spec_sha256: str
    seed: int | None
    started: str  # ISO 8601 UTC
    finished: str = ""
    strict: bool = False
    probe: dict[str, Any] = field(default_factory=dict)  # e.g. {"two_factor": "on"|"off", "test_mode": bool}
    properties: PropertyStats = field(default_factory=PropertyStats)
    rate_limited_answers: int = 0  # count of 429s seen outside RATE-01
    harness_error: str = ""  # set when the run could not judge at all (one line, redacted)
    examples: int | None = None  # property-test examples requested
    opt_in: tuple[str, ...] = ()  # opt-in flags in force, as command-line flags (e.g. --allow-config-changes)
    reproduce: str = ""  # the rc-conformance command that reruns this run (no secrets: they come from env)
    profile: str = ""  # release profile applied (conformance.releases), "" until known
    profile_note: str = ""  # why that profile, when it is not simply the version's release line
    mutant: str | None = None  # the embedded server ran as this deliberately broken mutant
    versions: dict[str, str] = field(default_factory=dict)  # python, pytest, schemathesis, hypothesis
    notices: list[str] = field(default_factory=list)  # shown prominently at the top of every report

"""Faults after provisioning, through a fault proxy in front of a reference server: resets, 5xx and 429 storms, a hang.

Each run must end in a clear error (exit 2) or a failure with evidence (exit 1) — never a pass, never
a traceback — and still delete every user it created.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from selftests.safety.helpers import PASSWORD, RefProcess, cli_env, report, run_cli
from selftests.safety.secrets import assert_masked_evidence, assert_no_secrets, from_wire, outputs

from .servers import RESET_PATH, FaultProxy

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_leftovers")]
RESET_ONLY = frozenset({RESET_PATH})


def _run(tmp_path: Path, proxy: FaultProxy, *requirements: str, extra: tuple[str, ...] = (), timeout: float = 90,
         **env: str):
    args = [a for rid in requirements for a in ("--requirement", rid)]
    return run_cli("run", "--url", proxy.url, "--report-dir", str(tmp_path / "report"), *args, *extra,
                   env=cli_env(tmp_path / "state", **env), cwd=tmp_path, timeout=timeout)


def _statuses(tmp_path: Path) -> dict[str, str]:
    return {r["id"]: r["status"] for r in report(tmp_path / "report")["requirements"] if r["status"] != "skip"}


def _leak_check(tmp_path: Path, done, proxy: FaultProxy) -> None:
    secrets, codes = from_wire(proxy.seen)
    assert secrets and codes, "the proxy should have seen tokens and codes"
    texts = outputs(done.out, done.err, folders=[tmp_path / "report", tmp_path / "state"])
    assert_no_secrets(texts, secrets | {PASSWORD}, codes)


def test_connection_reset_on_the_reset_call_is_an_error_and_never_retried(ref: RefProcess, tmp_path: Path) -> None:
    with FaultProxy(upstream=ref.url, mode="reset", paths=RESET_ONLY) as proxy:
        done = _run(tmp_path, proxy, "OK-01", "USER-01")
    assert done.code == 2, done.both[-3000:]
    assert "connection reset by the server" in done.error_line()
    assert _statuses(tmp_path) == {"OK-01": "error", "USER-01": "error"}
    resets = proxy.requests_to(RESET_PATH)
    copies = Counter((s.headers, s.body) for s in resets)
    assert resets and max(copies.values()) == 1, "a reset call was sent more than once"
    _leak_check(tmp_path, done, proxy)  # an error run says nothing secret either


def test_a_dropped_setup_read_is_retried(ref: RefProcess, tmp_path: Path) -> None:
    with FaultProxy(upstream=ref.url, mode="reset", paths=frozenset({"/api/info"}), max_faults=1) as proxy:
        done = _run(tmp_path, proxy, "AUTH-01")
    assert done.code == 0, done.both[-3000:]
    assert "Traceback" not in done.both
    assert [s.fault for s in proxy.requests_to("/api/info")][:2] == ["reset", ""]


def test_5xx_storm_fails_with_evidence(ref: RefProcess, tmp_path: Path) -> None:
    with FaultProxy(upstream=ref.url, mode="status", status=500, paths=RESET_ONLY) as proxy:
        done = _run(tmp_path, proxy, "OK-01", "USER-01", "AUTH-01", "TFA-01")
    assert done.code == 1, done.both[-3000:]
    assert "Traceback" not in done.both and "verdict FAIL" in done.out
    assert _statuses(tmp_path) == {"OK-01": "fail", "USER-01": "fail", "AUTH-01": "fail", "TFA-01": "fail"}
    rep = report(tmp_path / "report")
    for req in rep["requirements"]:
        if req["status"] == "fail":
            assert any(ev["response"].startswith("500 ") for ev in req["evidence"]), req["id"]
    assert assert_masked_evidence(rep) >= 3
    _leak_check(tmp_path, done, proxy)


def test_effects_are_not_judged_after_a_failed_reset(ref: RefProcess, tmp_path: Path) -> None:
    """A 503 (a gateway or an overloaded server) says nothing about the rule: OK-02 is not judged, and
    EFFECT-03, which observes what a successful reset leaves alone, has nothing to judge either."""
    with FaultProxy(upstream=ref.url, mode="status", status=503, paths=RESET_ONLY) as proxy:
        done = _run(tmp_path, proxy, "OK-02", "EFFECT-03")
    assert done.code == 2, done.both[-3000:]
    assert "HTTP 503" in done.error_line()
    assert _statuses(tmp_path) == {"OK-02": "error", "EFFECT-03": "error"}


def test_429_storm_is_inconclusive_not_failed(ref: RefProcess, tmp_path: Path) -> None:
    """Reset calls and logins answer 429 (the admin's setup calls bypass the limiter, as in Rocket.Chat)."""
    with FaultProxy(upstream=ref.url, mode="ratelimit", paths=frozenset({RESET_PATH, "/api/v1/login"}),
                    trigger=f"POST {RESET_PATH}") as proxy:
        done = _run(tmp_path, proxy, "OK-01", "PERM-01", "SELF-01", timeout=60)
    assert done.code == 2, done.both[-3000:]
    assert "429" in done.error_line() or "rate" in done.error_line().lower()
    statuses = _statuses(tmp_path)
    assert set(statuses.values()) == {"error"}, statuses
    assert done.seconds < 45  # the waits for X-RateLimit-Reset are bounded
    # A refused login is retried once, after the X-RateLimit-Reset the 429 named (1 s ahead), not at once.
    logins: dict[str, list[float]] = {}
    for s in proxy.requests_to("/api/v1/login"):
        if s.status == 429:  # keyed by user: the TOTP code in the body may change between attempts
            logins.setdefault(json.loads(s.body)["user"], []).append(s.at)
    gaps = [b - a for times in logins.values() for a, b in zip(times, times[1:], strict=False)]
    assert gaps and min(gaps) >= 0.8 and max(gaps) < 5, gaps


def test_reset_calls_hang_the_deadline_ends_the_run(ref: RefProcess, tmp_path: Path) -> None:
    """After the 2FA probe every reset call hangs: per-request timeouts, then the deadline, end the run."""
    with FaultProxy(upstream=ref.url, mode="hang", paths=RESET_ONLY, trigger=f"POST {RESET_PATH}",
                    trigger_after=True) as proxy:
        done = _run(tmp_path, proxy, "OK-01", "OK-02", "USER-01", "USER-02", "USER-03", "USER-04", "USER-05",
                    "USER-06", "PERM-01", "PERM-04", "TFA-01", "TFA-02", extra=("--timeout", "1", "--deadline", "6"))
    assert done.code == 2, done.both[-3000:]
    assert done.seconds < 30
    statuses = _statuses(tmp_path)  # the trigger call itself was answered: its test may pass
    assert "fail" not in statuses.values() and list(statuses.values()).count("error") >= 11, statuses
    messages = " ".join(t["message"] for r in report(tmp_path / "report")["requirements"] for t in r["tests"])
    # 6 s: start-up, provisioning and a TOTP step-edge wait (up to 3 s) still leave room for a timeout.
    assert "run deadline of 6 s reached" in messages and "timed out after 1 s" in messages


def test_server_stops_answering_crash_record_then_cleanup(ref: RefProcess, tmp_path: Path) -> None:
    """After the first reset call the whole server goes silent: the run ends in bounded time, its cleanup gives
    up at the first unanswered call (not one timeout per user), the crash record names what is left,
    and `rc-conformance cleanup` removes it once the server is back."""
    with FaultProxy(upstream=ref.url, mode="hang", trigger=f"POST {RESET_PATH}", trigger_after=True) as proxy:
        done = _run(tmp_path, proxy, "AUTH-02", "OK-01", "USER-01", "USER-02", extra=("--timeout", "1"))
        assert done.code == 2, done.both[-3000:]
        assert done.seconds < 30
        assert "no answer from" in done.error_line()
        statuses = _statuses(tmp_path)  # what ran before the silence may pass; nothing after it is judged
        assert "fail" not in statuses.values() and list(statuses.values()).count("error") >= 2, statuses
        messages = " ".join(t["message"] for r in report(tmp_path / "report")["requirements"] for t in r["tests"])
        assert "rc-conformance cleanup --url" in messages

        records = list((tmp_path / "state").glob("run-rcc-*.json"))
        assert len(records) == 1
        record = json.loads(records[0].read_text())
        left = ref.admin.run_users()
        assert left and sorted(record["users"].values()) == sorted(left)

        proxy.mode = "pass"  # the server is back
        proxy.release.set()
        cleaned = run_cli("cleanup", "--url", proxy.url, env=cli_env(tmp_path / "state"), cwd=tmp_path)
    assert cleaned.code == 0 and "Traceback" not in cleaned.both, cleaned.both
    assert ref.admin.run_users() == [] and not records[0].exists()

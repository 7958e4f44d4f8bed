"""Interrupt safety: SIGINT/SIGTERM mid-run clean up and report `error`; kill -9 leaves a crash record for `cleanup`."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from selftests.faults.servers import RESET_PATH, FaultProxy

from .helpers import PASSWORD, RefProcess, cli_env, finish, report, run_cli, start_cli, wait_for
from .secrets import assert_no_secrets, from_wire

pytestmark = pytest.mark.slow

PERMISSION = "edit-other-user-e2ee"
NO_LIMIT = {"API_Enable_Rate_Limiter": "false"}  # several runs share one client IP


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefProcess]:
    proc = RefProcess(tmp_path_factory.mktemp("interrupt") / "ref.db", settings=NO_LIMIT)
    try:
        yield proc
    finally:
        proc.stop()
    assert not proc.internal_errors()


@pytest.fixture
def held_grant(server: RefProcess) -> Iterator[FaultProxy]:
    """A proxy that forwards everything, but holds the first reset call made after a permissions.update:
    the run is then provably inside `granted(...)`, with the permission changed on the server."""
    with FaultProxy(upstream=server.url, mode="hang", paths=frozenset({RESET_PATH}),
                    trigger="POST /api/v1/permissions.update", trigger_after=True) as proxy:
        yield proxy


def _records(state: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(state.glob("run-rcc-*.json"))] if state.is_dir() else []


def test_impatient_ctrl_c_after_users_exist_cleans_up_and_reports_error(server: RefProcess, tmp_path: Path) -> None:
    """Ctrl-C, Ctrl-C again, then SIGTERM: only the first unwinds the run; cleanup and report still finish."""
    before = server.admin.roles_of(PERMISSION)
    state, out = tmp_path / "state", tmp_path / "report"
    proc = start_cli("run", "--url", server.url, "--examples", "2", "--report-dir", str(out),
                     env=cli_env(state), cwd=tmp_path)
    wait_for(lambda: len(server.admin.run_users()) >= 2, 30, "users of the run to exist", proc)
    for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
        proc.send_signal(sig)
        time.sleep(0.05)  # apart, so the kernel delivers each one (two pending SIGINTs merge into one)
    done = finish(proc, 60)
    assert done.code == 2, done.both[-2000:]
    assert "Traceback" not in done.both
    *notes, last = done.err.splitlines()
    assert "could not judge" in last and "interrupted" in last, done.err
    # The second and third signal only print a note each (at least one arrives before the run ends).
    assert notes and all("finishing cleanup and the report first" in n for n in notes), done.err
    assert server.admin.run_users() == []
    assert server.admin.roles_of(PERMISSION) == before
    rep = report(out)
    assert rep["verdict"] == "error" and "interrupted" in rep["harness_error"]
    assert _records(state) == []  # a clean interrupt needs no crash record


def test_sigterm_while_a_permission_is_granted_restores_it(server: RefProcess, held_grant: FaultProxy,
                                                            tmp_path: Path) -> None:
    before = server.admin.roles_of(PERMISSION)
    state, out = tmp_path / "state", tmp_path / "report"
    proc = start_cli("run", "--url", held_grant.url, "--requirement", "PERM-03", "--allow-config-changes",
                     "--report-dir", str(out), env=cli_env(state), cwd=tmp_path)
    wait_for(held_grant.holding.is_set, 30, "the reset call inside the permission grant", proc)
    assert server.admin.roles_of(PERMISSION) == sorted({*before, "user"})  # the change is live right now
    assert _records(state)[0]["permissions"][PERMISSION]["before"] == before
    proc.send_signal(signal.SIGTERM)
    done = finish(proc, 60)
    assert done.code == 2, done.both[-2000:]
    assert "interrupted" in done.error_line()
    assert server.admin.roles_of(PERMISSION) == before
    assert server.admin.run_users() == []
    assert report(out)["verdict"] == "error"
    assert _records(state) == []


def test_kill_9_leaves_a_record_that_cleanup_uses(server: RefProcess, held_grant: FaultProxy, tmp_path: Path) -> None:
    before = server.admin.roles_of(PERMISSION)
    state = tmp_path / "state"
    env = cli_env(state)
    proc = start_cli("run", "--url", held_grant.url, "--requirement", "PERM-03", "--allow-config-changes",
                     "--report-dir", str(tmp_path / "report"), env=env, cwd=tmp_path)
    wait_for(held_grant.holding.is_set, 30, "the reset call inside the permission grant", proc)
    proc.send_signal(signal.SIGKILL)
    finish(proc, 30)
    held_grant.mode = "pass"
    held_grant.release.set()

    left = server.admin.run_users()
    assert left, "a killed run should have left its users behind"
    files = sorted(state.glob("run-rcc-*.json"))
    assert len(files) == 1
    text = files[0].read_text()
    record = json.loads(text)
    assert record["url"] == held_grant.url and all(u.startswith(record["prefix"]) for u in left)
    assert sorted(record["users"].values()) == sorted(left)
    assert record["permissions"] == {PERMISSION: {"before": before, "after": sorted({*before, "user"})}}
    assert PASSWORD not in text and "token" not in text.lower() and "secret" not in text.lower()
    secrets, codes = from_wire(held_grant.seen)  # every token, password, TOTP secret and code of the run
    assert secrets and codes
    assert_no_secrets({str(files[0]): text}, secrets, codes)

    # Another run's record for another server must be ignored, not touched.
    other = state / "run-rcc-0000beef.json"
    other.write_text(json.dumps({"format": 1, "url": "http://127.0.0.1:9", "prefix": "rcc-0000beef-",
                                 "users": {}, "permissions": {}}))
    done = run_cli("cleanup", "--url", held_grant.url, env=env, cwd=tmp_path, timeout=60)
    assert done.code == 0, done.both
    assert "Traceback" not in done.both
    assert f"cleanup of run {record['prefix']}*" in done.out
    assert server.admin.run_users() == []
    assert server.admin.roles_of(PERMISSION) == before
    assert not files[0].exists() and other.exists()

    again = run_cli("cleanup", "--url", held_grant.url, env=env, cwd=tmp_path, timeout=60)
    assert again.code == 0 and "nothing to clean up" in again.out


def test_cleanup_refuses_a_prefix_the_suite_never_generates(server: RefProcess, tmp_path: Path) -> None:
    before = sorted(server.admin.usernames())
    done = run_cli("cleanup", "--url", server.url, "--prefix", "rcc-", env=cli_env(tmp_path / "state"), cwd=tmp_path)
    assert done.code == 2
    assert "refusing to sweep" in done.error_line()
    assert sorted(server.admin.usernames()) == before


def test_interrupt_swallowed_inside_a_gc_callback_still_ends_the_run(tmp_path: Path) -> None:
    """A signal handled while a gc callback runs (hypothesis installs one) loses its KeyboardInterrupt:
    Python reports it as "exception ignored" and carries on. The run must still stop and say error."""
    script = tmp_path / "swallow.py"
    script.write_text(textwrap.dedent("""
        import gc, os, signal, sys
        from rc_e2e_conformance.server import cleanup
        cleanup.install_interrupt_handlers()
        sys.unraisablehook = lambda args: print("ignored:", type(args.exc_value).__name__)
        def callback(phase, info):
            if phase == "start":
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):  # the handler runs here, between two bytecodes of the callback
                    pass
        gc.callbacks.append(callback)
        gc.collect()
        gc.callbacks.remove(callback)
        print("still running; interrupted:", cleanup.interrupted())
        try:
            cleanup.raise_if_interrupted()
        except KeyboardInterrupt as exc:
            print("raised again:", exc)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert "ignored: KeyboardInterrupt" in out  # the problem is real: the first KeyboardInterrupt is lost
    assert "interrupted: SIGINT" in out and "raised again: SIGINT" in out


def test_ctrl_c_while_the_property_run_sends_stops_it_and_cleans_up(server: RefProcess, tmp_path: Path) -> None:
    """The property run sends its cases slowly (a proxy delays each reset): Ctrl-C must not send the rest."""
    state, out = tmp_path / "state", tmp_path / "report"
    with FaultProxy(upstream=server.url, mode="slow", delay=0.2, paths=frozenset({RESET_PATH})) as proxy:
        proc = start_cli("run", "--url", proxy.url, "--examples", "300", "--report-dir", str(out),
                         env=cli_env(state), cwd=tmp_path)
        resets = lambda: sum(1 for s in proxy.seen if s.path == RESET_PATH)  # noqa: E731
        wait_for(lambda: resets() >= 40, 60, "the property run at work", proc)
        proc.send_signal(signal.SIGINT)
        at_interrupt = resets()
        done = finish(proc, 45)
        after = resets() - at_interrupt
    assert done.code == 2, done.both[-2000:]
    # About 300 cases were left; the ones already in flight or queued on the bounded pool may still go.
    assert after < 20, f"{after} resets were sent after the interrupt"
    assert "interrupted" in done.err.splitlines()[-1], done.err
    assert server.admin.run_users() == []
    assert report(out)["verdict"] == "error"


def test_swallowed_interrupt_ends_a_real_run_with_error(server: RefProcess, tmp_path: Path) -> None:
    """The handler ran but its KeyboardInterrupt was lost: the run stops at the next test, says error."""
    state, out = tmp_path / "state", tmp_path / "report"
    root = str(Path(__file__).resolve().parents[2])
    env = cli_env(state, PYTEST_ADDOPTS="-p selftests.safety.swallowed_interrupt", PYTHONPATH=root)
    done = run_cli("run", "--url", server.url, "--examples", "5", "--report-dir", str(out), env=env, cwd=tmp_path)
    assert done.code == 2, done.both[-2000:]
    assert "interrupted" in done.err.splitlines()[-1], done.err
    rep = report(out)
    assert rep["verdict"] == "error" and "interrupted" in rep["harness_error"]
    ran = [t for r in rep["requirements"] for t in r["tests"] if t["outcome"] in ("passed", "failed")]
    assert len(ran) < 10, "the run went on after the interrupt"
    assert server.admin.run_users() == []

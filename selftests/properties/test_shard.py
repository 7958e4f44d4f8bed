"""The fuzzing child (conformance/properties/shard.py), forked and spawned, against real servers.

It judges its cases like the exploring test and sends its findings back redacted. It stops when it
is cancelled, when its parent dies, and it never leaves the run without an answer: a dead or silent
child is a harness error, never a pass.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from conformance.client import Client
from conformance.config import Settings
from conformance.errors import HarnessError
from conformance.properties.ledger import Ledger
from conformance.properties.safety import NameMapper, PoolUser, js_blank
from conformance.properties.shard import FuzzShard, make_job
from conformance.provisioning import Provisioner
from conformance.targets import probe_two_factor
from refserver.behaviour import Behaviour
from refserver.server import serve_in_thread

from selftests.safety.helpers import process_gone

from .helpers import ADMIN, EMAIL, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
STARTS = ("fork", "spawn")


def _wait_gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: a hung server."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def _bare_job(url: str, *, timeout: float = 30.0, examples: int = 5) -> dict:
    """A job whose caller and pool exist nowhere: enough to exercise the protocol and the network."""
    return {"url": url, "verify_tls": True, "ca_bundle": None, "timeout": timeout, "seed": 3, "examples": examples,
            "run": "rcc-0badc0de-", "two_factor": True,
            "caller": {"id": "shardcaller1", "username": "rcc-0badc0de-caller", "password": "Shard-pass-0123456",
                       "email": "c@example.com", "token": "shard-token-0123456789", "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"},
            "pool": [{"id": "pooluser1", "username": "rcc-0badc0de-pool1"}], "secrets": []}


@pytest.fixture(params=[Behaviour(), Behaviour(error_500_on_non_string=True)], ids=["faithful", "500-on-non-string"])
def live(request: pytest.FixtureRequest) -> Iterator[tuple[Behaviour, Settings, Provisioner]]:
    with serve_in_thread(admin_username=ADMIN, admin_password=PASSWORD, admin_email=EMAIL,
                         behaviour=request.param) as server:
        client = Client(server.url)
        prov = Provisioner(client, admin_user=ADMIN, admin_password=PASSWORD)
        try:
            yield request.param, Settings(url=server.url, examples=25, seed=5), prov
        finally:
            prov.cleanup()
            client.close()


#: Runs one job the way the suite does, in a fresh (single-threaded) interpreter: FuzzShard() forks.
FORKING_PARENT = """
import json, sys
from conformance.properties import shard as module
job = json.loads(sys.stdin.read())
child = module.FuzzShard()
assert isinstance(child.proc, module._Forked), "a single-threaded parent forks its child"
child.submit(job)
result = child.result(timeout=120)
assert child.proc.poll() is not None, "the child is gone once its result is read"
print(json.dumps(result))
"""


def _run_job(start: str, job: dict) -> dict:
    if start == "fork":  # this pytest process has threads (the live server): fork from a clean one
        proc = subprocess.run([sys.executable, "-c", FORKING_PARENT], input=json.dumps(job), capture_output=True,
                              text=True, timeout=180, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(proc.stdout)
    child = FuzzShard(start="spawn")
    try:
        child.submit(job)
        return child.result(timeout=120)
    finally:
        child.cancel()
        assert child.proc.poll() is not None


@pytest.mark.parametrize("start", STARTS)
def test_child_sends_and_judges_the_fuzzing_cases(live, start):
    behaviour, settings, prov = live
    caller = prov.create_user("admin", totp=True, keys=False)
    pool = [prov.create_user("user", keys=True) for _ in range(2)]
    two_factor = probe_two_factor(prov.client, caller)
    result = _run_job(start, make_job(settings, settings.url or "", 5, prov.prefix, two_factor, caller, pool))
    assert "error" not in result, result.get("error")
    ledger = Ledger()
    ledger.merge_wire(result["ledger"])
    assert ledger.cases >= settings.examples  # hypothesis may add a few; it never sends fewer
    assert not ledger.harness_error
    assert sum(ledger.statuses.values()) == ledger.cases
    if behaviour.error_500_on_non_string:
        assert [f.check for f in ledger.failures("SCHEMA-02")], "the 500s of the mutant were found by the child"
        assert not ledger.failures("SCHEMA-03") and not ledger.failures("SCHEMA-04")
    else:
        assert ledger.failure_count == 0, ledger.message("SCHEMA-01")
    # Every user reference the child sent is a pool user or a never-matching name of THIS run.
    mapper = NameMapper(run=prov.prefix, pool=tuple(PoolUser(u.id, u.username) for u in pool))
    odd = [v for _, v in result["sent"] if not (js_blank(v) or mapper.allowed(v))]
    assert result["sent"] and not odd, odd[:5]
    text = json.dumps(result["ledger"])
    for secret in (caller.password, caller.totp_secret, caller.token, *result["tokens"]):
        assert secret not in text


@pytest.mark.parametrize("start", STARTS)
def test_unreachable_server_is_a_harness_error_not_a_pass(start):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    shard = FuzzShard(start=start)
    shard.submit(_bare_job(f"http://127.0.0.1:{port}", timeout=2))
    result = shard.result(timeout=60)
    assert "network error" in result["ledger"]["harness_error"]
    assert result["ledger"]["cases"] >= 1


@pytest.mark.parametrize("start", STARTS)
def test_a_dead_child_is_a_harness_error(silent_server, start):
    """Killed before its job: submit fails. Killed while working: no result line, never a pass."""
    early = FuzzShard(start=start)
    os.kill(early.proc.pid, signal.SIGKILL)
    early.proc.wait()
    with pytest.raises(HarnessError, match="fuzzing process could not be given its job"):
        early.submit(_bare_job(silent_server))
    late = FuzzShard(start=start)
    late.submit(_bare_job(silent_server, timeout=60))  # it now waits on a server that never answers
    os.kill(late.proc.pid, signal.SIGKILL)
    with pytest.raises(HarnessError, match="fuzzing process ended without a result"):
        late.result(timeout=30)


@pytest.mark.parametrize("start", STARTS)
def test_silent_child_times_out_and_cancel_stops_it(silent_server, start):
    shard = FuzzShard(start=start)
    shard.submit(_bare_job(silent_server, timeout=60))
    began = time.monotonic()
    with pytest.raises(HarnessError, match="no result within 0.5 s"):
        shard.result(timeout=0.5)
    assert time.monotonic() - began < 8  # cancel() terminated it: no waiting for the 60-s request timeout
    assert shard.proc.poll() is not None


@pytest.mark.parametrize("start", STARTS)
def test_child_exits_when_its_parent_dies(silent_server, start, tmp_path):
    """A run killed with SIGKILL leaves no fuzzing process behind (it sees EOF on its job pipe)."""
    script = textwrap.dedent(f"""
        import json, os, sys
        sys.path.insert(0, {str(ROOT)!r})
        from conformance.properties.shard import FuzzShard
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        shard = FuzzShard(start={start!r})
        shard.submit(json.loads(sys.argv[1]))
        print(shard.proc.pid, flush=True)
        os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(_bare_job(silent_server, timeout=60))],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    child = int(proc.stdout.split()[0])
    assert _wait_gone(child), f"fuzzing child {child} outlived its parent"


@pytest.fixture
def auth_ignoring_server() -> Iterator[str]:
    """Answers every reset 200 {"success": true}, whoever calls (and logs anyone in): auth not enforced."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = {"success": True}
            if self.path.startswith("/api/v1/login"):
                body = {"status": "success", "data": {"userId": "shardcaller1", "authToken": "shard-token-0123456789"}}
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("start", STARTS)
def test_child_runs_the_ignored_auth_check_for_the_run(auth_ignoring_server, start):
    """The parent leaves schemathesis' ignored_auth to the child: the child must catch a server that
    answers 200 without credentials (under SCHEMA-01)."""
    shard = FuzzShard(start=start)
    shard.submit(_bare_job(auth_ignoring_server, timeout=10, examples=10))
    result = shard.result(timeout=120)
    ledger = Ledger()
    ledger.merge_wire(result["ledger"])
    assert not ledger.harness_error
    assert "ignored_auth" in {f.check for f in ledger.failures("SCHEMA-01")}, ledger.message("SCHEMA-01")


def test_prestarted_child_nobody_takes_is_discarded(monkeypatch):
    from conformance.properties import shard as module

    monkeypatch.setattr(module, "_PRESTARTED", None)  # a real run's waiting child is not this test's
    module.prestart()
    child = module._PRESTARTED
    assert child is not None and child.proc.poll() is None
    module.discard()
    assert module._PRESTARTED is None and _wait_gone(child.proc.pid)


def test_no_child_can_start_the_fuzzing_runs_in_the_pytest_process(monkeypatch):
    """Out of processes (fork and spawn both fail): no error, the exploring test fuzzes itself."""
    from conformance.properties import shard as module

    def refuse(*args, **kwargs):
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(module, "_PRESTARTED", None)  # a real run's waiting child is not this test's
    monkeypatch.setattr(module, "_Forked", refuse)
    monkeypatch.setattr(module.subprocess, "Popen", refuse)
    module.prestart()
    assert module._PRESTARTED is None
    assert module.take() is None


def test_without_probes_ignored_auth_still_judges_the_answer(auth_ignoring_server):
    """The parent sends no ignored_auth probes (the child does), but a 2xx to a request WITHOUT
    credentials is still a failure it reports itself."""
    import schemathesis
    from schemathesis.checks import CheckContext

    from conformance.paths import SPEC_PATH
    from conformance.properties.checks import build_checks, judge

    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    schema.config.update(base_url=auth_ignoring_server)
    operation = next(r.ok() for r in schema.get_all_operations())
    case = operation.Case(body={}, media_type="application/json", headers={"x-2fa-code": "123456"})
    response = case.call(base_url=auth_ignoring_server)
    assert response.status_code == 200
    mapper = NameMapper(run="rcc-0badc0de-")
    for probes in (True, False):
        ctx = CheckContext(override=None, auth=None, headers=None, config=schema.config.checks_config_for(
            operation=operation, phase=None), transport_kwargs={"base_url": auth_ignoring_server},
            response_checks=None, auth_enforced_operations=set())
        found = judge(case, response, ctx, build_checks(mapper, True, auth_probes=probes))
        assert ("SCHEMA-01", "ignored_auth") in {(req, name) for req, name, _ in found}, probes


def test_a_child_that_sent_nothing_fails_the_run_instead_of_passing():
    """The parent's own cases are never 0, so an empty fuzzing phase must be caught on its own."""
    from types import SimpleNamespace

    from conformance.properties.explore import Exploration
    from conformance.properties.safety import GuardedSession

    empty = {"ledger": Ledger().to_wire(), "sent": [], "tokens": [], "seconds": 0.1}
    run = SimpleNamespace(shard=SimpleNamespace(result=lambda wait: empty), ledger=Ledger(),
                          session=GuardedSession(NameMapper(run="rcc-0badc0de-")))
    Exploration._merge_shard(run, None)  # type: ignore[arg-type]
    assert "sent no generated case" in run.ledger.harness_error

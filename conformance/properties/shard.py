"""The fuzzing phase of a property run, in its own process, so it runs on a second core.

A run's generated cases come from three schemathesis phases: examples, coverage and fuzzing. Fuzzing
(hypothesis drawing N cases) is CPU-bound and the largest part of a run. The exploring test in the
pytest process sends the examples and coverage cases; this module's child process sends the fuzzing
cases at the same time, through the same code (`Exploration.run_case`, the same checks, the same
GuardedSession), with the same seed. Its answers are judged in the child and come back as ledger
entries, which the parent merges before it checks the bystanders.

Protocol (one JSON line each way, never on argv or in the environment, since the job holds secrets):
- The parent starts the child early (`prestart()`, right after collection, see tests/conftest.py).
  While the parent is still single-threaded the child is a fork of it: ready at once, nothing to
  import. Otherwise it is `python -m conformance.properties.shard`, which imports while the parent
  provisions. Either way it waits for its job on a pipe.
- The parent writes one job line: target, TLS, timeout, seed, N, the child's own caller (a disposable
  admin with TOTP: a fuzzed empty body is a self-reset, which must not log out the parent's caller),
  the pool users, the run prefix and the 2FA probe's answer.
- The child writes one result line and exits. EOF on stdin (the parent died or cancelled) ends it
  at once, and it ignores SIGINT: the parent decides when it stops, then cleans up.

The child also runs schemathesis' ignored_auth check, for the whole run (see `Exploration.probes_auth`).
The child never creates, deletes or logs out a user; it logs its own caller in again after a
self-reset. Every text it sends back is already redacted, and it reports the tokens it obtained so
the parent masks them too.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO, Any

from ..errors import HarnessError
from ..actors import Actor
from ..client import Client
from ..config import Settings
from ..redact import redact, register_secret
from ..targets import Target
from .caller import PropertyCaller
from .ledger import Ledger
from .safety import GuardedSession, NameMapper, PoolUser

#: The phases the child runs; the exploring test runs the others.
CHILD_PHASES = ("fuzzing",)
PARENT_PHASES = ("examples", "coverage")
MODULE = "conformance.properties.shard"
STDERR_TAIL = 300


class _Forked:
    """The child as a fork of this (single-threaded) process: nothing to import, ready at once.

    The same small interface as `subprocess.Popen` (stdin, stdout, poll, terminate, kill, wait).
    """

    def __init__(self, stderr: int) -> None:
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (job_r, job_w, res_r, res_w):
                os.close(fd)
            raise
        if pid == 0:  # the child: never returns into the parent's code (pytest, atexit handlers)
            code = 70
            try:
                os.close(job_w)
                os.close(res_r)
                devnull = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1):  # the terminal and pytest's capture files belong to the parent
                    os.dup2(devnull, fd)
                os.dup2(stderr, 2)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                code = child_main(os.fdopen(job_r, "rb"), os.fdopen(res_w, "wb"))
            finally:
                os._exit(code)
        os.close(job_r)
        os.close(res_w)
        self.pid = pid
        self.stdin: IO[bytes] | None = os.fdopen(job_w, "wb")
        self.stdout: IO[bytes] | None = os.fdopen(res_r, "rb")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("fuzzing child", timeout or 0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass


def _can_fork() -> bool:
    """Fork only a single-threaded process (a fork copies no other thread, but their held locks), and
    only on Linux (on macOS, system frameworks that requests may have touched do not survive a fork)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork") and threading.active_count() == 1


class FuzzShard:
    """Parent side: one child process, started early, given one job, read once.

    The child is a fork of this process when it is single-threaded (the plugin starts it right after
    collection, before any thread); otherwise a fresh `python -m conformance.properties.shard`.
    """

    def __init__(self, start: str | None = None) -> None:
        """`start`: "fork" or "spawn" to choose (tests); by default fork when single-threaded."""
        self.proc: Any
        self._stderr = tempfile.TemporaryFile()  # the child's last words, for the error message
        try:
            if start == "fork" or (start is None and _can_fork()):
                self.proc = _Forked(self._stderr.fileno())
            else:
                self.proc = subprocess.Popen([sys.executable, "-m", MODULE], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=self._stderr, close_fds=True)
        except BaseException:
            self._stderr.close()
            raise
        self._result: dict[str, Any] | None = None

    def submit(self, job: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(job).encode() + b"\n")
            self.proc.stdin.flush()
        except OSError:
            raise HarnessError(self._died("could not be given its job")) from None

    def result(self, timeout: float | None = None) -> dict[str, Any]:
        """The child's result line (waits for it); a HarnessError when it failed or timed out."""
        if self._result is not None:
            return self._result
        assert self.proc.stdout is not None
        line = _read_line(self.proc.stdout, timeout)
        if line is None:
            self.cancel()
            raise HarnessError(f"the fuzzing process gave no result within {timeout:g} s (run deadline)")
        try:
            result = json.loads(line)
        except ValueError:
            result = None
        if not isinstance(result, dict):
            self.cancel()
            raise HarnessError(self._died("ended without a result"))
        self.cancel()  # it exits right after writing; never wait on its interpreter shutdown
        self._result = result
        return result

    def cancel(self) -> None:
        """Stop the child (idempotent): before cleanup deletes the users it sends requests as."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self._stderr):
            if pipe is not None and not pipe.closed:
                try:
                    pipe.close()
                except OSError:
                    pass

    def _died(self, what: str) -> str:
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        last = ""
        if not self._stderr.closed:
            self._stderr.seek(0)
            lines = [ln.strip() for ln in self._stderr.read().decode("utf-8", "replace").splitlines() if ln.strip()]
            last = f": {lines[-1][:STDERR_TAIL]}" if lines else ""
        return redact(f"the fuzzing process {what} (exit status {self.proc.returncode}){last}")


def _read_line(stream: IO[bytes], timeout: float | None) -> bytes | None:
    """One line from `stream`; None when nothing arrived within `timeout`. Interruptible."""
    if timeout is not None:
        if os.name == "posix":  # a line already waiting is read even when no time is left
            ready, _, _ = select.select([stream], [], [], max(timeout, 0.0))
            if not ready:
                return None
        else:
            box: list[bytes] = []
            reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
            reader.start()
            reader.join(max(timeout, 0.05))
            return box[0] if box else None
    return stream.readline()


_PRESTARTED: FuzzShard | None = None
_LOCK = threading.Lock()


def _alive_or_new(shard: FuzzShard | None) -> FuzzShard | None:
    """`shard` if it still waits for a job, else a new child (a dead one's pipes closed); None when
    no child can be started (no processes left, say)."""
    if shard is not None and shard.proc.poll() is None:
        return shard
    if shard is not None:
        shard.cancel()
    try:
        return FuzzShard()
    except OSError:
        return None


def prestart() -> None:
    """Start the child now, while this process is still single-threaded (no-op when one is waiting)."""
    global _PRESTARTED
    with _LOCK:
        _PRESTARTED = _alive_or_new(_PRESTARTED)


def take() -> FuzzShard | None:
    """The prestarted child (or a new one); the caller owns it from now on. None when no child can
    be started: the exploring test then runs the fuzzing phase itself, as one process."""
    global _PRESTARTED
    with _LOCK:
        shard, _PRESTARTED = _PRESTARTED, None
    return _alive_or_new(shard)


def discard() -> None:
    """Stop a prestarted child nobody took (the exploring test was deselected or never ran)."""
    global _PRESTARTED
    with _LOCK:
        shard, _PRESTARTED = _PRESTARTED, None
    if shard is not None:
        shard.cancel()


def make_job(settings: Settings, url: str, seed: int, run_prefix: str, two_factor: bool | None, caller: Actor,
             pool: list[Actor]) -> dict[str, Any]:
    """The child's job. It carries the child caller's secrets, hence a pipe, never argv or the environment."""
    return {"url": url, "verify_tls": settings.verify_tls, "ca_bundle": settings.ca_bundle,
            "timeout": settings.timeout, "seed": seed, "examples": settings.examples, "run": run_prefix,
            "two_factor": two_factor,
            "caller": {"id": caller.id, "username": caller.username, "password": caller.password,
                       "email": caller.email, "token": caller.token, "totp_secret": caller.totp_secret},
            "pool": [{"id": a.id, "username": a.username} for a in pool],
            "secrets": [v for v in (caller.password, caller.token, caller.totp_secret) if v]}


# -- child side ------------------------------------------------------------------------------------
def _watch_parent(stdin: IO[bytes]) -> None:
    """EOF on stdin: the parent is gone or cancelled the job; stop at once."""
    try:
        while stdin.read(65536):
            pass
    finally:
        os._exit(3)


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Send and judge the fuzzing cases described by `job`; return the result line's content."""
    from .explore import Exploration  # explore imports this module

    for secret in job.get("secrets", ()):
        register_secret(secret)
    settings = Settings(url=job["url"], verify_tls=job["verify_tls"], ca_bundle=job["ca_bundle"],
                        timeout=job["timeout"], examples=job["examples"], seed=job["seed"])
    client = Client(settings.url or "", timeout=settings.timeout, verify_tls=settings.verify_tls,
                    ca_bundle=settings.ca_bundle)
    caller_data = job["caller"]
    actor = Actor(id=caller_data["id"], username=caller_data["username"], password=caller_data["password"],
                  email=caller_data["email"], token=caller_data["token"], totp_secret=caller_data["totp_secret"],
                  roles=("admin",), client=client)
    caller = PropertyCaller(actor)
    pool = [Actor(id=u["id"], username=u["username"], password="", email="") for u in job["pool"]]
    mapper = NameMapper(run=job["run"], pool=tuple(PoolUser(a.id, a.username) for a in pool))
    session = GuardedSession(mapper)
    session.verify = settings.tls_verify
    run = Exploration(settings=settings, target=Target(url=settings.url or "", embedded=False), client=client,
                      provisioner=None, caller=caller, pool=pool, bystanders=[], mapper=mapper,  # type: ignore[arg-type]
                      session=session, two_factor=job["two_factor"],
                      ledger=Ledger(seed=job["seed"], examples=job["examples"]))
    try:
        run.explore(CHILD_PHASES)
        run.drain()
    finally:
        run.workers.close()
        session.close()
        client.session.close()
    return {"ledger": run.ledger.to_wire(), "sent": [list(p) for p in session.sent],
            "tokens": [actor.token] if actor.token else []}


def child_main(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """Read one job, run it, write one result line; an exception becomes the result's `error`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C, then stops this process
    line = stdin.readline()
    if not line.strip():
        return 0  # the parent never sent a job (nothing selected it): nothing to do
    threading.Thread(target=_watch_parent, args=(stdin,), daemon=True, name="rcc-shard-watch").start()
    started = time.monotonic()
    try:
        result = run_job(json.loads(line))
    except Exception as exc:  # noqa: BLE001 — reported to the parent as one redacted line
        result = {"error": redact(f"{type(exc).__name__}: {exc}")}
    result["seconds"] = round(time.monotonic() - started, 3)
    stdout.write(json.dumps(result).encode() + b"\n")
    stdout.flush()
    return 0


def main() -> int:
    code = child_main(sys.stdin.buffer, sys.stdout.buffer)
    sys.stdout.flush()
    os._exit(code)  # no interpreter shutdown: the parent reads the result and stops waiting at once


if __name__ == "__main__":
    main()

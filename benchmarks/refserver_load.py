"""The reference server under a mixed load: N concurrent clients create, log in, set keys, fetch and reset.

Run: python benchmarks/refserver_load.py [--clients 16] [--seconds 30] [--url URL] [--json]
Prints requests/s, latency percentiles per operation, answers by status and the errors; asserts nothing
(selftests/safety/test_load.py runs it briefly and judges the figures). Without --url a server is started
in its own process (`python -m rc_e2e_conformance.refserver`, temp DB) so client threads do not share its GIL.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
API = "/api/v1"
ADMIN = ("loadadmin", "Load-Admin-Pa55word", "loadadmin@example.com")
MAX_SECONDS, MAX_CLIENTS = 600.0, 128  # bounded, whatever the command line says


@dataclass
class Figures:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)  # 5xx, unexpected answers, network failures
    expected_keys: dict[str, dict[str, str] | None] = field(default_factory=dict)  # username -> keys or None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    def summary(self) -> dict[str, Any]:
        ops = {}
        for op, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            pick = lambda q, ordered=ordered: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
            ops[op] = {"count": len(ordered), "p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99),
                       "max_ms": round(ordered[-1] * 1000, 1)}
        return {"seconds": round(self.seconds, 2), "requests": self.requests,
                "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
                "operations": ops, "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "server_errors": sum(v for k, v in self.statuses.items() if k >= 500),
                "errors": len(self.errors), "first_errors": self.errors[:5], "users": len(self.expected_keys)}


class Worker:
    """One client: its own HTTP session, its own admin-role caller (rate-limit exempt, password-fallback 2FA)."""

    def __init__(self, url: str, index: int, admin: dict[str, str], figures: Figures) -> None:
        self.url, self.index, self.admin, self.figures = url, index, admin, figures
        self.http = requests.Session()
        self.caller_password = f"Caller-{index}-Pa55word"
        self.caller = self._create_and_login(f"loadcaller{index}", self.caller_password, role="admin", verified=False)
        self.code = hashlib.sha256(self.caller_password.encode()).hexdigest()  # behaviour.md §3.2 fallback

    def call(self, op: str, method: str, path: str, expect: int, **kwargs: Any) -> requests.Response | None:
        started = time.perf_counter()
        try:
            resp = self.http.request(method, self.url + path, timeout=30, **kwargs)
        except requests.RequestException as exc:
            with self.figures.lock:
                self.figures.errors.append(f"{op}: {type(exc).__name__}")
            return None
        took = time.perf_counter() - started
        with self.figures.lock:
            self.figures.latencies[op].append(took)
            self.figures.statuses[resp.status_code] += 1
            if resp.status_code != expect:
                self.figures.errors.append(f"{op}: HTTP {resp.status_code} (expected {expect}): {resp.text[:120]}")
        return resp if resp.status_code == expect else None

    def _create_and_login(self, username: str, password: str, role: str = "user",
                          verified: bool = False) -> dict[str, str]:
        body = {"username": username, "email": f"{username}@example.com", "name": username, "password": password,
                "roles": [role], "verified": verified}  # unverified: no e-mail 2FA at login (behaviour.md §11.1)
        if self.call("create", "POST", f"{API}/users.create", 200, headers=self.admin, json=body) is None:
            raise RuntimeError(f"could not create {username}")
        if role == "user":
            self._expect(username, None)  # created: it must exist afterwards, without keys so far
        login = self.login(username, password)
        if login is None:
            raise RuntimeError(f"could not log in as {username}")
        return login

    def login(self, username: str, password: str) -> dict[str, str] | None:
        resp = self.call("login", "POST", f"{API}/login", 200, json={"user": username, "password": password})
        if resp is None:
            return None
        data = resp.json()["data"]
        return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}

    def fetch(self, who: dict[str, str], expect: int = 200) -> dict[str, Any] | None:
        resp = self.call("fetch", "GET", f"{API}/e2e.fetchMyKeys", expect, headers=who)
        return resp.json() if resp is not None and expect == 200 else None

    def iteration(self, n: int) -> None:
        """create → login → set keys → fetch (must read them back) → reset (2 in 3) → old token 401 → keys gone."""
        name, password = f"load{self.index}x{n}", f"User-{self.index}-{n}-Pa55"
        user = self._create_and_login(name, password)
        keys = {"public_key": json.dumps({"n": name}), "private_key": f"private-{name}"}
        if self.call("set_keys", "POST", f"{API}/e2e.setUserPublicAndPrivateKeys", 200, headers=user,
                     json={**keys, "force": True}) is None:
            return
        self._expect(name, keys)
        got = self.fetch(user)
        if got is not None and (got.get("public_key"), got.get("private_key")) != tuple(keys.values()):
            self._lost(f"fetch after set_keys of {name} returned other keys")
        if n % 3 == 2:
            return  # this one keeps its keys: the final check must find them
        ok = self.call("reset", "POST", f"{API}/users.resetE2EKey", 200,
                       headers={**self.caller, "x-2fa-code": self.code}, json={"userId": user["X-User-Id"]})
        if ok is None:
            return
        self._expect(name, None)
        self.fetch(user, expect=401)  # every session of the target is gone
        again = self.login(name, password)
        if again is not None:
            got = self.fetch(again)
            if got is not None and (got.get("public_key") or got.get("private_key")):
                self._lost(f"keys of {name} survived a successful reset")

    def _expect(self, name: str, keys: dict[str, str] | None) -> None:
        with self.figures.lock:
            self.figures.expected_keys[name] = keys

    def _lost(self, what: str) -> None:
        with self.figures.lock:
            self.figures.errors.append(f"lost write: {what}")


def admin_headers(url: str) -> dict[str, str]:
    data = requests.post(f"{url}{API}/login", json={"user": ADMIN[0], "password": ADMIN[1]}, timeout=30).json()["data"]
    return {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}


def run_load(url: str, clients: int = 16, seconds: float = 30.0) -> Figures:
    """Drive the server for `seconds` (bounded) with `clients` threads; returns the raw figures."""
    clients = max(1, min(clients, MAX_CLIENTS))
    seconds = max(0.5, min(seconds, MAX_SECONDS))
    figures = Figures()
    admin = admin_headers(url)
    workers = [Worker(url, i, admin, figures) for i in range(clients)]
    stop = time.monotonic() + seconds

    def loop(worker: Worker) -> None:
        n = 0
        while time.monotonic() < stop:
            try:
                worker.iteration(n)
            except (RuntimeError, ValueError, KeyError) as exc:  # a broken answer: count it, keep loading
                with figures.lock:
                    figures.errors.append(f"iteration: {type(exc).__name__}: {exc}")
            n += 1

    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in workers]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 120)  # a stuck request times out after 30 s; never wait forever
    figures.seconds = time.monotonic() - started
    return figures


def check_state(url: str, figures: Figures) -> list[str]:
    """After the load: every created user exists exactly once and holds exactly the keys it should."""
    admin = admin_headers(url)
    users = requests.get(f"{url}{API}/users.list", headers=admin, params={"count": 0}, timeout=60).json()["users"]
    names = Counter(str(u["username"]) for u in users)
    problems = [f"duplicate user {n}" for n, c in names.items() if c > 1]
    problems += [f"lost user {n}" for n in figures.expected_keys if n not in names]
    http = requests.Session()
    for name, keys in sorted(figures.expected_keys.items()):
        index, n = name.removeprefix("load").split("x")
        resp = http.post(f"{url}{API}/login", json={"user": name, "password": f"User-{index}-{n}-Pa55"}, timeout=30)
        if resp.status_code != 200:
            problems.append(f"{name}: login HTTP {resp.status_code}")
            continue
        data = resp.json()["data"]
        got = http.get(f"{url}{API}/e2e.fetchMyKeys", timeout=30,
                       headers={"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}).json()
        have = {"public_key": got["public_key"], "private_key": got["private_key"]} if "public_key" in got else None
        if have != keys:
            problems.append(f"{name}: keys {'missing' if keys and not have else 'unexpected'} after the load")
    return problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: str, log: str | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """`rc-refserver` on a free port (its log goes to `log`, else nowhere); returns (process, url)."""
    port = free_port()
    env = {**os.environ, "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASS": ADMIN[1], "ADMIN_EMAIL": ADMIN[2],
           "PYTHONPATH": str(ROOT)}
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it open
    proc = subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance.refserver", "--host", "127.0.0.1", "--port",
                             str(port),
                             "--db", db], env=env, stdout=out, stderr=subprocess.STDOUT)
    if log:
        out.close()  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/api/info", timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("refserver did not start")


def _print(summary: dict[str, Any], problems: list[str]) -> None:
    print(f"{summary['requests']} requests in {summary['seconds']} s = {summary['requests_per_s']} req/s; "
          f"{summary['users']} users; answers {summary['statuses']}; {summary['errors']} error(s)")
    print(f"{'operation':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for op, f in summary["operations"].items():
        print(f"{op:<10} {f['count']:>7} {f['p50_ms']:>8} {f['p95_ms']:>8} {f['p99_ms']:>8} {f['max_ms']:>8}")
    for line in summary["first_errors"]:
        print(f"error: {line}")
    print(f"state afterwards: {'consistent' if not problems else '; '.join(problems[:5])}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--url", help="an already running reference server with admin loadadmin (default: start one)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = (None, args.url) if args.url else start_server(os.path.join(tmp, "load.db"))
        try:
            figures = run_load(url, args.clients, args.seconds)
            problems = check_state(url, figures)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
    summary = {**figures.summary(), "state_problems": problems}
    if args.json:
        print(json.dumps(summary))
    else:
        _print(summary, problems)
    return 0


if __name__ == "__main__":
    sys.exit(main())

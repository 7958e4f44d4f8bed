"""A reference server in its own process, an admin view of it, and `rc-conformance` runs in subprocesses."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "rcc-safety-admin"
PASSWORD = "Safety-Admin-Pa55word-7c1e"
EMAIL = "rcc-safety-admin@example.com"
START_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RefProcess:
    """`rc-refserver --db FILE` in a subprocess (so signals and kill -9 hit only the suite)."""

    def __init__(self, db: Path, settings: dict[str, str] | None = None, mutant: str | None = None,
                 admin_email_verified: bool = False) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ADMIN_USERNAME": ADMIN, "ADMIN_PASS": PASSWORD, "ADMIN_EMAIL": EMAIL,
               "PYTHONPATH": str(ROOT), "ADMIN_EMAIL_VERIFIED": "true" if admin_email_verified else "false"}
        env.update({f"OVERWRITE_SETTING_{k}": v for k, v in (settings or {}).items()})
        cmd = [sys.executable, "-m", "rc_e2e_conformance.refserver", "--host", "127.0.0.1", "--port", str(self.port),
               "--db", str(db)]
        if mutant:
            cmd += ["--mutant", mutant]
        self.log = db.with_suffix(".log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_S
        while True:
            try:
                if requests.get(self.url + "/api/info", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"refserver did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        self.admin = Session(self.url, ADMIN, PASSWORD)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def internal_errors(self) -> list[str]:
        """Logged 5xx bugs (a client hanging up mid-request is not one: the server logs it at INFO)."""
        text = self.log.read_text(errors="replace")
        entries = re.split(r"\n(?=\d{4}-\d\d-\d\d )", text)
        return [e.splitlines()[0] for e in entries if "INTERNAL ERROR" in e]


class Session:
    """A logged-in user of the reference server, talking to it directly (not through the suite)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        resp = requests.post(f"{url}/api/v1/login", json={"user": user, "password": password}, timeout=10)
        resp.raise_for_status()
        data = resp.json()["data"]
        self.user_id, self.token = str(data["userId"]), str(data["authToken"])

    @property
    def headers(self) -> dict[str, str]:
        return {"X-User-Id": self.user_id, "X-Auth-Token": self.token}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(f"{self.url}/api/v1/{path}", headers=self.headers, params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return requests.post(f"{self.url}/api/v1/{path}", headers=self.headers, json=body, timeout=10)

    def usernames(self) -> list[str]:
        body = self.get("users.list", count=1000).json()
        return [str(u["username"]) for u in body["users"]]

    def run_users(self) -> list[str]:
        """Users any suite run created (every run prefix starts with rcc- and is not the admin)."""
        return [u for u in self.usernames() if u.startswith("rcc-") and u != ADMIN]

    def roles_of(self, permission: str) -> list[str]:
        listing = self.get("permissions.listAll").json()["update"]
        return sorted(next(p["roles"] for p in listing if p["_id"] == permission))


def cli_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI run: admin credentials via env (never argv), crash records in `state_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env.update({"RCC_ADMIN_USER": ADMIN, "RCC_ADMIN_PASSWORD": PASSWORD, "RCC_STATE_DIR": str(state_dir),
                "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def start_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@dataclass
class Done:
    code: int
    out: str
    err: str
    seconds: float

    @property
    def both(self) -> str:
        return self.out + self.err

    def error_line(self) -> str:
        """The one-line stderr of an exit-2 run; no traceback anywhere."""
        assert "Traceback" not in self.both, self.both[-3000:]
        lines = [ln for ln in self.err.splitlines() if ln.strip()]
        assert len(lines) == 1, f"expected one stderr line, got:\n{self.err[-3000:]}"
        return lines[0]


def finish(proc: subprocess.Popen[str], timeout: float, started: float | None = None) -> Done:
    started = started if started is not None else time.monotonic()
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        raise AssertionError(
            f"rc-conformance did not finish within {timeout} s:\n{out[-2000:]}\n{err[-2000:]}") from None
    return Done(proc.returncode, out, err, time.monotonic() - started)


def run_cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> Done:
    started = time.monotonic()
    return finish(start_cli(*args, env=env, cwd=cwd), timeout, started)


def wait_for(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[str] | None = None) -> None:
    """Poll `predicate` (bounded); fail with `what` if it never holds or the process ended first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"rc-conformance ended before {what}:\n{out[-2000:]}\n{err[-2000:]}")
        if time.monotonic() > deadline:
            if proc is not None:
                proc.send_signal(signal.SIGKILL)
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def report(folder: Path) -> dict[str, Any]:
    path = folder / "report.json"
    assert path.is_file(), f"no report.json in {folder}"
    return json.loads(path.read_text())

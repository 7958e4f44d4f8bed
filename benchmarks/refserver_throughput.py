"""Requests/s of the reference server on three users.resetE2EKey paths, 8 concurrent loopback clients.

Run: python benchmarks/refserver_throughput.py [--seconds 3] [--clients 8]
The server runs in its own process (python -m rc_e2e_conformance.refserver) so client threads do not share its GIL.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import requests

ROOT = Path(__file__).resolve().parents[1]
RESET = "/api/v1/users.resetE2EKey"
ADMIN = ("benchadmin", "bench-pass", "bench@x.test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASS": ADMIN[1], "ADMIN_EMAIL": ADMIN[2],
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "rc_e2e_conformance.refserver", "--host", "127.0.0.1", "--port",
                             str(port),
                             "--db", db], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/info", timeout=1)
            return proc
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("refserver did not start")


def provision(url: str) -> tuple[dict[str, str], str, str]:
    """An admin-role TOTP caller (bypasses the rate limiter, like the suite's privileged actor) + a target."""
    s = requests.Session()
    d = s.post(url + "/api/v1/login", json={"user": ADMIN[0], "password": ADMIN[1]}).json()["data"]
    admin = {"X-User-Id": d["userId"], "X-Auth-Token": d["authToken"]}
    ids = []
    for name, role in (("benchcaller", "admin"), ("benchtarget", "user")):
        r = s.post(url + "/api/v1/users.create", headers=admin, json={
            "email": f"{name}@x.test", "name": name, "password": "pw", "username": name, "roles": [role],
            "verified": True})
        ids.append(r.json()["user"]["_id"])
    d = s.post(url + "/api/v1/login", json={"user": "benchcaller", "password": "pw"}).json()["data"]
    caller = {"X-User-Id": d["userId"], "X-Auth-Token": d["authToken"]}

    def call(method: str, params: list[object]) -> dict[str, object]:
        msg = json.dumps({"msg": "method", "id": "1", "method": method, "params": params})
        r = s.post(f"{url}/api/v1/method.call/{method}", headers=caller, json={"message": msg})
        return json.loads(r.json()["message"])

    secret = call("2fa:enable", [])["result"]["secret"]  # type: ignore[index]
    call("2fa:validateTempToken", [pyotp.TOTP(secret).now()])
    return caller, secret, ids[1]


def measure(name: str, clients: int, seconds: float, fire: Callable[[requests.Session], int],
            expect: int) -> float:
    counts = [0] * clients
    bad = [0] * clients
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        s = requests.Session()
        while time.monotonic() < stop:
            if fire(s) == expect:
                counts[i] += 1
            else:
                bad[i] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = sum(counts) / (time.monotonic() - t0)
    print(f"{name:<16} {rate:8.0f} req/s  ({sum(counts)} ok, {sum(bad)} unexpected, {clients} clients)")
    return rate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_server(os.path.join(tmp, "bench.db"), port)
        try:
            url = f"http://127.0.0.1:{port}"
            caller, secret, target = provision(url)
            totp = pyotp.TOTP(secret)
            measure("401 (no auth)", args.clients, args.seconds,
                    lambda s: s.post(url + RESET, json={}).status_code, 401)
            measure("totp-required", args.clients, args.seconds,
                    lambda s: s.post(url + RESET, json={"userId": target}, headers=caller).status_code, 400)
            measure("success (200)", args.clients, args.seconds,
                    lambda s: s.post(url + RESET, json={"userId": target},
                                     headers={**caller, "x-2fa-code": totp.now()}).status_code, 200)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()

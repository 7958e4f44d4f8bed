"""Full `rc-conformance run` vs a bare `schemathesis run` with the same N, on the reference server.

Run: python benchmarks/suite_vs_schemathesis.py [--examples 100] [--pairs 3] [--seed 1]
         [--server-profile 8|7|6] [--latency 0.02] [--skip-embedded]

(a) `rc-conformance run --url U --examples N --seed S --allow-config-changes --allow-rate-limit-probe
    --quiet` (admin credentials from RCC_ADMIN_USER/RCC_ADMIN_PASSWORD): every requirement, RATE-01
    included; its property cases are sent from the pytest process (one core) through schemathesis'
    public API, at most four requests in flight.
(b) `schemathesis run openapi/users.resetE2EKey.yaml --url U --max-examples N --seed S
    --continue-on-failure -H "X-User-Id: …" -H "X-Auth-Token: …"`: default phases (examples,
    coverage, fuzzing) and default checks, one worker; the headers are a session of a user created
    for it with role admin (holds the permission and the rate-limit bypass), a verified e-mail and
    TOTP on, like the suite's property caller, but with no valid x-2fa-code (schemathesis
    generates that header from the spec, so nearly every answer is a 400 totp-*).
Fairness: every run, (a) or (b), gets its OWN fresh server process (benchmarks/counting_server.py =
`python -m rc_e2e_conformance.refserver` + a request counter; default settings, rate limiter on), started before the
clock starts; the runs alternate a, b, a, b, … The server counts requests by client kind
(User-Agent) and route, so the benchmark's own setup calls are excluded.
Then the cold `rc-conformance run --examples N` on the embedded target (and once with an empty
hypothesis cache: a machine's first run), and profiles 7 vs 6 alternating.
Peak memory = max RSS of each run's process tree (os.wait4). Prints everything; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import pyotp
import requests

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "rc_e2e_conformance" / "openapi" / "users.resetE2EKey.yaml"
ADMIN = ("benchadmin", "Bench-admin-pass-1", "benchadmin@example.com")
SETUP_UA = {"User-Agent": "bench-setup"}
#: `rc-conformance` as the console script runs it; `python -m` so PYTHONPATH can select another checkout.
SUITE = [sys.executable, "-m", "rc_e2e_conformance"]
#: rc-conformance keeps hypothesis' caches (its Unicode table: ~1 s, ~200 MB to build) per user; the
#: bare run gets the same warm directory, so neither pays the build (measured apart, once).
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
HYPOTHESIS_HOME = os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY") or str(CACHE / "rc-conformance" / "hypothesis")


def warm_hypothesis(home: str) -> float:
    """Build hypothesis' Unicode table in `home` if missing; returns the seconds it took."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "from hypothesis.internal.charmap import charmap; charmap()"],
                   env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": home}, check=True)
    return time.monotonic() - start
PACKAGES = ("rc-e2e-conformance", "schemathesis", "hypothesis", "pytest", "pytest-xdist", "requests",
            "starlette", "uvicorn", "jsonschema", "jsonschema-rs", "pyotp")


def machine() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown")
    mem_kb = next((int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal")), 0)
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [f"nproc {os.cpu_count()}, CPU {cpu}, RAM {mem_kb / 1024 / 1024:.1f} GiB",
            f"Python {platform.python_version()} on {platform.platform()}",
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!s}",
            "; ".join(versions),
            f"non-test code: {code_lines()} lines (rc_e2e_conformance/**/*.py, suite/ excluded)"]


def code_lines() -> int:
    package = ROOT / "rc_e2e_conformance"
    return sum(len(path.read_text(encoding="utf-8").splitlines()) for path in package.rglob("*.py")
               if "suite" not in path.relative_to(package).parts)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One fresh counting reference server in its own process."""

    def __init__(self, workdir: Path, profile: str, latency: float = 0.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.counts_path = workdir / f"counts-{self.port}.json"
        db = workdir / f"db-{self.port}.sqlite"
        env = {**os.environ, "ADMIN_USERNAME": ADMIN[0], "ADMIN_PASS": ADMIN[1], "ADMIN_EMAIL": ADMIN[2]}
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "benchmarks" / "counting_server.py"), "--port", str(self.port),
             "--db", str(db), "--counts", str(self.counts_path), "--profile", profile, "--latency", str(latency)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.url}/api/info", headers=SETUP_UA, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.05)
        self.proc.kill()
        raise SystemExit("counting server did not start")

    def stop(self) -> list[dict[str, Any]]:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        return json.loads(self.counts_path.read_text()) if self.counts_path.exists() else []


def api(url: str, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> dict[str, Any]:
    resp = requests.request(method, f"{url}/api/v1/{path}", headers={**SETUP_UA, **(headers or {})}, timeout=10, **kw)
    body = resp.json()
    if resp.status_code != 200 or body.get("success") is False:
        raise SystemExit(f"setup {path}: HTTP {resp.status_code} {body}")
    return body


def bare_caller(url: str) -> dict[str, str]:
    """An admin-role user with a verified e-mail and TOTP on; returns its X-User-Id/X-Auth-Token."""
    login = api(url, "POST", "login", json={"user": ADMIN[0], "password": ADMIN[1]})["data"]
    admin = {"X-User-Id": login["userId"], "X-Auth-Token": login["authToken"]}
    password = "Bare-caller-pass-1"
    api(url, "POST", "users.create", admin, json={
        "username": "bare-caller", "email": "bare-caller@example.com", "name": "bare caller",
        "password": password, "roles": ["admin"], "verified": False})
    # As on a default Rocket.Chat (§11.1 of the team's notes): log in before the address is verified
    # (no e-mailed code yet), then verify it, then switch TOTP on with that session.
    data = api(url, "POST", "login", json={"user": "bare-caller", "password": password})["data"]
    auth = {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}
    api(url, "POST", "users.update", admin, json={"userId": data["userId"], "data": {"verified": True}})

    def method_call(name: str, params: list[Any]) -> Any:
        message = json.dumps({"msg": "method", "id": "1", "method": name, "params": params})
        return json.loads(api(url, "POST", f"method.call/{name}", auth, json={"message": message})["message"])["result"]

    secret = method_call("2fa:enable", [])["secret"]
    method_call("2fa:validateTempToken", [pyotp.TOTP(secret).now()])
    return auth


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB of the process tree, exit code). Runs in a new directory under `cwd`
    (schemathesis keeps a cache directory, .schemathesis/, where it runs; .hypothesis/ likewise)."""
    cwd = Path(tempfile.mkdtemp(dir=cwd))  # a fresh one per run: no cache carries over between runs
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, proc.returncode


def tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_kind: Counter[str] = Counter()
    limited: Counter[str] = Counter()
    harness: Counter[str] = Counter()
    for row in rows:
        if row["kind"] == "bench-setup":
            continue
        by_kind[row["kind"]] += row["count"]
        if row["status"] == 429:
            limited[row["kind"]] += row["count"]
        if row["kind"] == "harness":
            harness[row["path"].removeprefix("/api/v1/")] += row["count"]
    return {"total": sum(by_kind.values()), "by_kind": dict(by_kind), "429": dict(limited),
            "harness_routes": ", ".join(f"{route} {n}" for route, n in harness.most_common())}


def run_suite(args: argparse.Namespace, workdir: Path, n: int) -> dict[str, Any]:
    server = Server(workdir, args.server_profile, args.latency)
    report_dir = workdir / f"suite-{n}"
    env = {**os.environ, "RCC_ADMIN_USER": ADMIN[0], "RCC_ADMIN_PASSWORD": ADMIN[1],
           "HYPOTHESIS_STORAGE_DIRECTORY": HYPOTHESIS_HOME}  # what the CLI picks itself; explicit for older ones
    cmd = [*SUITE, "run", "--url", server.url,
           "--examples", str(args.examples), "--seed", str(args.seed), "--allow-config-changes",
           "--allow-rate-limit-probe", "--quiet", "--report-dir", str(report_dir)]
    try:
        wall, rss, code = timed(cmd, env, workdir)
    finally:
        counts = tally(server.stop())
    report = json.loads((report_dir / "report.json").read_text())
    judged = [r for r in report["requirements"] if r["status"] not in ("skip", "not-run")]
    return {"wall": wall, "rss": rss, "exit": code, "verdict": report["verdict"], "requirements": len(judged),
            "statuses": report["summary"]["statuses"], "rate_limited_answers": report["rate_limited_answers"],
            "cases": (report.get("properties") or {}).get("cases"), **counts}


def run_bare(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    server = Server(workdir, args.server_profile, args.latency)
    try:
        auth = bare_caller(server.url)
        cmd = [shutil.which("schemathesis") or "schemathesis", "run", str(SPEC), "--url", server.url,
               "--max-examples", str(args.examples), "--seed", str(args.seed), "--continue-on-failure",
               "-H", f"X-User-Id: {auth['X-User-Id']}", "-H", f"X-Auth-Token: {auth['X-Auth-Token']}"]
        wall, rss, code = timed(cmd, {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": HYPOTHESIS_HOME}, workdir)
    finally:
        counts = tally(server.stop())
    return {"wall": wall, "rss": rss, "exit": code, **counts}


def embedded(args: argparse.Namespace, workdir: Path, profile: str | None, n: int,
             hypothesis_home: str = HYPOTHESIS_HOME) -> dict[str, Any]:
    """`rc-conformance run` on the embedded target; profile "7"/"6" adds `--refserver-profile P`."""
    report_dir = workdir / f"embedded-{profile}-{n}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCC_")}
    env["HYPOTHESIS_STORAGE_DIRECTORY"] = hypothesis_home  # pytest runs too (the CLI sets it itself)
    common = ["--examples", str(args.examples), "--seed", str(args.seed), "--report-dir", str(report_dir)]
    cmd = [*SUITE, "run", "--quiet", *common] + (["--refserver-profile", profile] if profile else [])
    wall, rss, code = timed(cmd, env, workdir)
    report = json.loads((report_dir / "report.json").read_text())
    return {"wall": wall, "rss": rss, "exit": code, "verdict": report["verdict"],
            "rate_limited_answers": report["rate_limited_answers"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--server-profile", choices=("8", "7", "6"), default="8")
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds the server adds to every answer, logins 0.1 s more (e.g. 0.02: a real server)")
    p.add_argument("--skip-embedded", action="store_true")
    args = p.parse_args()
    print("## Machine")
    for line in machine():
        print(f"- {line}")
    workdir = Path(tempfile.mkdtemp(prefix="rcc-bench-"))
    print(f"\nhypothesis cache {HYPOTHESIS_HOME}: warmed in {warm_hypothesis(HYPOTHESIS_HOME):.2f} s; "
          f"building it from nothing takes {warm_hypothesis(str(workdir / 'fresh-hypothesis')):.2f} s")
    ratios = []
    print(f"\n## Suite (a) vs bare schemathesis (b), N={args.examples}, seed {args.seed}, "
          f"server profile {args.server_profile}, latency {args.latency * 1000:g} ms, a fresh server per run")
    for n in range(args.pairs):
        a = run_suite(args, workdir, n)
        b = run_bare(args, workdir)
        ratios.append(a["wall"] / b["wall"])
        print(f"pair {n + 1}: a {a['wall']:.2f} s (exit {a['exit']}, {a['verdict']}, {a['requirements']} "
              f"requirements, {a['total']} requests {a['by_kind']}, 429s {a['429'] or 0}, "
              f"rate_limited_answers {a['rate_limited_answers']}, {a['cases']} property requests, peak RSS "
              f"{a['rss']:.0f} MiB) | b {b['wall']:.2f} s (exit {b['exit']}, {b['total']} requests, 429s "
              f"{b['429'] or 0}, peak RSS {b['rss']:.0f} MiB) | a/b {ratios[-1]:.2f}", flush=True)
        per_req = a["total"] / max(a["requirements"], 1)
        print(f"        requests per requirement (a): {per_req:.1f} "
              f"({a['total']} / {a['requirements']} judged requirements); harness: {a['harness_routes']}", flush=True)
    print(f"median a/b: {statistics.median(ratios):.2f}")
    if not args.skip_embedded:
        print(f"\n## Cold `rc-conformance run --examples {args.examples}` on the embedded target (default profile 8), "
              "a new process each run")
        for n in range(args.pairs):
            r = embedded(args, workdir, None, n)
            print(f"run {n + 1}: {r['wall']:.2f} s (exit {r['exit']}, {r['verdict']}, rate_limited_answers "
                  f"{r['rate_limited_answers']}, peak RSS {r['rss']:.0f} MiB)", flush=True)
        r = embedded(args, workdir, None, args.pairs, hypothesis_home=str(workdir / "first-run-hypothesis"))
        print(f"first run on a machine (empty hypothesis cache): {r['wall']:.2f} s (exit {r['exit']}, "
              f"{r['verdict']}, peak RSS {r['rss']:.0f} MiB)", flush=True)
        print(f"\n## Profiles 7 vs 6, embedded: `rc-conformance run --refserver-profile P --examples "
              f"{args.examples}`, alternating")
        walls: dict[str, list[float]] = {"7": [], "6": []}
        for n in range(args.pairs):
            for profile in ("7", "6"):
                r = embedded(args, workdir, profile, n)
                walls[profile].append(r["wall"])
                print(f"run {n + 1} profile {profile}: {r['wall']:.2f} s (exit {r['exit']}, {r['verdict']}, "
                      f"rate_limited_answers {r['rate_limited_answers']}, peak RSS {r['rss']:.0f} MiB)", flush=True)
        m7, m6 = statistics.median(walls["7"]), statistics.median(walls["6"])
        print(f"median profile 7 {m7:.2f} s, profile 6 {m6:.2f} s, ratio 6/7 {m6 / m7:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

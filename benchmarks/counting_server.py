"""`rc-refserver`, plus a count of every request by client kind, route and status (for benchmarks).

Run: ADMIN_USERNAME=… ADMIN_PASS=… ADMIN_EMAIL=… python benchmarks/counting_server.py --port P
         --db PATH --counts OUT.json [--profile 7|6]
Builds the app exactly like `python -m rc_e2e_conformance.refserver` (same create_app, Behaviour.for_profile, forced
settings from OVERWRITE_SETTING_* env, rate limiter on by default) and wraps it in an ASGI
middleware that counts requests in memory; the counts are written to OUT.json when the server
stops (SIGTERM/SIGINT). Counting in the server, not in a proxy, adds no hop to the timed runs.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import uvicorn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rc_e2e_conformance.refserver.app import create_app, ensure_admin  # noqa: E402
from rc_e2e_conformance.refserver.behaviour import Behaviour  # noqa: E402
from rc_e2e_conformance.refserver.settings import Settings, env_test_mode  # noqa: E402


def client_kind(headers: list[tuple[bytes, bytes]]) -> str:
    """Who sent it, by User-Agent: the suite's harness client, the suite's property cases (sent through
    its guarded requests session: python-requests), schemathesis (a bare run), or the benchmark's own
    setup calls."""
    agent = next((v.decode("latin-1") for k, v in headers if k.lower() == b"user-agent"), "")
    if agent.startswith("rc-e2e-conformance"):
        return "harness"
    if agent.lower().startswith("schemathesis"):
        return "schemathesis"
    if agent.startswith("bench-setup"):
        return "bench-setup"
    if agent.startswith("python-requests"):  # the suite's property cases (case.call with its own session)
        return "python-requests"
    return f"other:{agent[:40]}"


class Counting:
    """ASGI middleware: counts (kind, method, path, status) per request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[tuple[str, str, str, int]] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = client_kind(scope.get("headers", []))
        status = [0]

        async def send_counted(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            with self._lock:
                self.counts[(kind, scope["method"], scope["path"], status[0])] += 1

    def dump(self, path: str) -> None:
        rows = [{"kind": k, "method": m, "path": p, "status": s, "count": n}
                for (k, m, p, s), n in sorted(self.counts.items())]
        Path(path).write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--counts", required=True)
    p.add_argument("--profile", choices=("8", "7", "6"), default="8")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer (logins 0.1 s more)")
    args = p.parse_args()
    behaviour = Behaviour.for_profile(args.profile).with_latency(args.latency)
    app = create_app(args.db, behaviour, Settings(env=os.environ, test_mode=env_test_mode()))
    ensure_admin(app.state.rc, os.environ["ADMIN_USERNAME"], os.environ["ADMIN_PASS"], os.environ["ADMIN_EMAIL"])
    counting = Counting(app)
    # uvicorn re-raises the stop signal after shutting down; with Python's default SIGTERM handler
    # that would end the process before the counts are written.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        uvicorn.run(counting, host=args.host, port=args.port, log_level="warning", access_log=False,
                    lifespan="off")
    finally:
        counting.dump(args.counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLI: rc-refserver [--host H] [--port P] [--db PATH] [--profile 8|7|6] [--mutant NAME] [--latency 20ms]."""
from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import signal
import sys
import tempfile

import uvicorn

from .app import create_app, ensure_admin
from .behaviour import PROFILES, Behaviour
from .settings import Settings, env_test_mode


def _behaviour(profile: str, mutant: str | None) -> Behaviour:
    if mutant is None:
        return Behaviour.for_profile(profile)
    from .mutants import MUTANTS  # only when asked for: the catalogue is a selftest tool
    if mutant not in MUTANTS:
        raise SystemExit(f"refserver: unknown mutant {mutant!r}; known: {', '.join(sorted(MUTANTS))}")
    if not MUTANTS[mutant].applies_to(profile):
        raise SystemExit(f"refserver: mutant {mutant!r} does not apply to profile {profile}")
    return MUTANTS[mutant].on_profile(profile)  # its one defect switch on top of the chosen release line


def parse_duration(text: str) -> float:
    """'20ms', '0.5s', '0.02' (seconds) → seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 20ms, 0.5s, 0.02)")
    value = float(m.group(1))
    return value / 1000 if m.group(2) == "ms" else value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="rc-refserver", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--db", default=None,
                   help="SQLite file, kept across restarts (default: a temporary one, removed on exit)")
    p.add_argument("--profile", choices=tuple(PROFILES), default="8", help="release line (default 8, i.e. 8.8)")
    p.add_argument("--mutant", default=None)
    p.add_argument("--latency", type=parse_duration, default=0.0,
                   help="delay every answer by this much (20ms, 0.5s); logins take 100 ms more, like bcrypt")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    behaviour = _behaviour(args.profile, args.mutant).with_latency(args.latency)
    try:
        settings = Settings(env=os.environ, test_mode=env_test_mode())
    except ValueError as exc:
        raise SystemExit(f"refserver: {exc}") from None
    # Never litter the current directory: a kept database needs an explicit --db.
    tmpdir = tempfile.mkdtemp(prefix="refserver-") if args.db is None else None
    db = args.db if tmpdir is None else os.path.join(tmpdir, "refserver.db")
    try:
        app = create_app(db, behaviour, settings)
        if ensure_admin(app.state.rc, os.environ.get("ADMIN_USERNAME"), os.environ.get("ADMIN_PASS"),
                        os.environ.get("ADMIN_EMAIL"), os.environ.get("ADMIN_EMAIL_VERIFIED") == "true"):
            logging.getLogger("refserver").info("Inserted admin user %s", os.environ.get("ADMIN_USERNAME"))
        print(f"refserver listening on http://{args.host}:{args.port} (profile {args.profile}, "
              f"version {behaviour.server_version}{', mutant ' + args.mutant if args.mutant else ''}"
              f"{f', latency {args.latency * 1000:g} ms' if args.latency else ''}, db {db})", flush=True)
        # uvicorn re-raises a caught SIGTERM once it has shut down; as SystemExit it still lets the
        # temporary database below be removed (the default action would kill the process first).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off")
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

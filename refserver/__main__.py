"""CLI: python -m refserver --host 127.0.0.1 --port 3000 [--db PATH] [--profile 7|6] [--mutant NAME]."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

import uvicorn

from .app import create_app, ensure_admin
from .behaviour import Behaviour
from .settings import Settings, env_test_mode


def _behaviour(profile: str, mutant: str | None) -> Behaviour:
    if mutant is None:
        return Behaviour.for_profile(profile)
    try:
        mutants = importlib.import_module("refserver.mutants")
    except ImportError:
        raise SystemExit("refserver: --mutant needs refserver/mutants.py, which does not exist yet") from None
    table = getattr(mutants, "MUTANTS", {})
    if mutant not in table:
        raise SystemExit(f"refserver: unknown mutant {mutant!r}; known: {', '.join(sorted(table)) or '(none)'}")
    return table[mutant].behaviour  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m refserver", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--db", default="refserver.db", help="SQLite file (kept across restarts)")
    p.add_argument("--profile", choices=("7", "6"), default="7")
    p.add_argument("--mutant", default=None)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    behaviour = _behaviour(args.profile, args.mutant)
    try:
        settings = Settings(env=os.environ, test_mode=env_test_mode())
    except ValueError as exc:
        raise SystemExit(f"refserver: {exc}") from None
    app = create_app(args.db, behaviour, settings)
    if ensure_admin(app.state.rc, os.environ.get("ADMIN_USERNAME"), os.environ.get("ADMIN_PASS"),
                    os.environ.get("ADMIN_EMAIL")):
        logging.getLogger("refserver").info("Inserted admin user %s", os.environ.get("ADMIN_USERNAME"))
    print(f"refserver listening on http://{args.host}:{args.port} (profile {args.profile}"
          f"{', mutant ' + args.mutant if args.mutant else ''}, db {args.db})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, lifespan="off")
    return 0


if __name__ == "__main__":
    sys.exit(main())

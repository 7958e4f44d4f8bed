"""Command-line options shared by `rc-conformance run` and `cleanup`: how to reach and log in to the target."""
from __future__ import annotations

import argparse


def add_connection_options(p: argparse.ArgumentParser) -> None:
    """Admin credentials, config file and TLS/timeout options (each also settable by env or the TOML file)."""
    p.add_argument("--admin-user", help="admin username (env RCC_ADMIN_USER)")
    p.add_argument("--admin-password", help="admin password (prefer env RCC_ADMIN_PASSWORD)")
    p.add_argument("--admin-totp-secret", help="admin TOTP secret, when the admin has TOTP (prefer env)")
    p.add_argument("--config", help="TOML config file (default ./conformance.toml when present)")
    p.add_argument("--ca-bundle", help="CA bundle file for TLS verification")
    p.add_argument("--insecure", action="store_true", default=None, help="do not verify TLS certificates")
    p.add_argument("--timeout", type=float, help="per-request timeout in seconds (default 10)")

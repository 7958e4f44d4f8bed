"""The server under test: the embedded reference server or a live URL, probed before any test runs.

This is the ONLY conformance module that imports refserver (lazily, and only for the embedded target).
"""
from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from typing import Any

from rc_e2e_conformance.contract.config import Settings
from rc_e2e_conformance.contract.errors import ConfigError, TargetError
from rc_e2e_conformance.contract.redact import redact, register_secret
from rc_e2e_conformance.contract.releases import Release, release_of

from .actors import json_body
from .client import Client


@dataclass
class Target:
    """What the suite knows about the server under test."""

    url: str
    embedded: bool
    server_version: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    two_factor: bool | None = None  # None = not probed yet / could not tell
    release: Release = field(default_factory=lambda: release_of(None))  # the catalogue profile applied
    admin_user: str = ""
    admin_password: str = field(default="", repr=False)
    admin_totp_secret: str | None = field(default=None, repr=False)
    admin_user_id: str | None = None  # with admin_token: the admin's personal access token
    admin_token: str | None = field(default=None, repr=False)
    allow_config_changes: bool = False  # effective: always true on the embedded server
    allow_rate_limit_probe: bool = False  # effective: always true on the embedded server
    server: Any = field(default=None, repr=False, compare=False)  # the RefServer when embedded

    @property
    def label(self) -> str:
        kind = "embedded reference server (NOT Rocket.Chat)" if self.embedded else "live server"
        return f"{kind} at {self.url}" + (f", version {self.server_version}" if self.server_version else "")


def _embedded_server_args(settings: Settings) -> dict[str, Any]:
    """Behaviour (+ the settings a mutant needs to show its defect) of the embedded server."""
    from rc_e2e_conformance.refserver.behaviour import Behaviour

    try:
        behaviour = Behaviour.for_profile(settings.refserver_profile)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if not settings.refserver_mutant:
        return {"behaviour": behaviour}
    from rc_e2e_conformance.refserver.mutants import MUTANTS

    mutant = MUTANTS.get(settings.refserver_mutant)
    if mutant is None:
        raise ConfigError(f"unknown refserver mutant {settings.refserver_mutant!r}; "
                          f"known: {', '.join(sorted(MUTANTS))}")
    if not mutant.applies_to(settings.refserver_profile):
        raise ConfigError(f"refserver mutant {mutant.name} does not apply to profile {settings.refserver_profile} "
                          f"(only {', '.join(mutant.profiles)})")
    # Only the mutant's flipped switch, so a mutant combines with a release profile.
    return {"behaviour": dataclasses.replace(behaviour, **mutant.flipped()), "settings": dict(mutant.settings)}


def check_embedded(settings: Settings) -> None:
    """A ConfigError now, before any run starts, for an unknown mutant or profile of the embedded server."""
    if settings.embedded:
        _embedded_server_args(settings)


def start_embedded(settings: Settings) -> Target:
    """Start the reference server on 127.0.0.1, port 0, with a generated admin."""
    from rc_e2e_conformance.refserver.server import serve_in_thread

    admin_user = f"rcc-admin-{secrets.token_hex(3)}"
    admin_password = f"Adm-{secrets.token_urlsafe(18)}"
    register_secret(admin_password)
    server = serve_in_thread(admin_username=admin_user, admin_password=admin_password,
                             admin_email=f"{admin_user}@example.com", host="127.0.0.1", port=0,
                             **_embedded_server_args(settings))
    return Target(url=server.url, embedded=True, admin_user=admin_user, admin_password=admin_password,
                  allow_config_changes=True, allow_rate_limit_probe=True, server=server)


def open_target(settings: Settings) -> tuple[Target, Client]:
    """The target (started if embedded) and a client for it, after a successful GET /api/info."""
    if settings.url is None:
        target = start_embedded(settings)
    else:
        target = Target(url=settings.url, embedded=False, admin_user=settings.admin_user or "",
                        admin_password=settings.admin_password or "",
                        admin_totp_secret=settings.admin_totp_secret,
                        admin_user_id=settings.admin_user_id, admin_token=settings.admin_token,
                        allow_config_changes=settings.allow_config_changes,
                        allow_rate_limit_probe=settings.allow_rate_limit_probe)
    client = Client(target.url, timeout=settings.timeout, verify_tls=settings.verify_tls,
                    ca_bundle=settings.ca_bundle)
    try:
        target.info = probe_info(client)
    except BaseException:
        client.close()
        stop(target)
        raise
    target.server_version = str(target.info.get("version")) if target.info.get("version") else None
    target.release = release_of(settings.server_version or target.server_version)
    return target, client


def probe_info(client: Client) -> dict[str, Any]:
    """GET /api/info: fail fast, in one line, when the URL is not a reachable Rocket.Chat-like server."""
    resp = client.get("/api/info")
    where = f"{client.base_url}/api/info"
    try:
        body = json_body(resp, f"GET {where}")
    except TargetError:
        raise TargetError(redact(f"{where} does not look like Rocket.Chat: HTTP {resp.status_code}, "
                                 f"{resp.headers.get('Content-Type', 'no content type')}")) from None
    if resp.status_code != 200 or body.get("success") is not True or "version" not in body:
        raise TargetError(redact(f"{where} does not look like Rocket.Chat: HTTP {resp.status_code} "
                                 f"without {{'success': true, 'version': …}}"))
    return body


def stop(target: Target) -> None:
    if target.server is not None:
        target.server.stop()
        target.server = None

"""The per-app state every route reads: behaviour, settings, store, rate limiter."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.requests import Request

from .behaviour import Behaviour
from .ratelimit import RateLimiter
from .settings import Settings
from .store import Store

log = logging.getLogger("refserver")


@dataclass
class AppState:
    behaviour: Behaviour
    settings: Settings
    store: Store
    limiter: RateLimiter = field(default_factory=RateLimiter)


def state_of(request: Request) -> AppState:
    return request.app.state.rc


def client_ip(request: Request) -> str:
    # RC honours X-Forwarded-For only with HTTP_FORWARDED_COUNT > 0 (default 0): socket address.
    return request.client.host if request.client else "unknown"

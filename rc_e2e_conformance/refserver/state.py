"""The per-app state every route reads: behaviour, settings, store, and Rocket.Chat's REST rate limiter
(fixed window per route and client IP, counted after auth)."""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field

from starlette.requests import Request

from .behaviour import Behaviour
from .settings import Settings
from .store import Store

log = logging.getLogger("refserver")


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch_ms: int
    wait_seconds: int

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_epoch_ms)}


class RateLimiter:
    """In memory like RC's (a restart forgets the counters); every call counts, refused ones too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, route: str, client_ip: str, limit: int, interval_ms: int) -> Verdict:
        now_ms = time.time() * 1000
        with self._lock:
            start, count = self._windows.get((route, client_ip), (now_ms, 0))
            if now_ms - start >= interval_ms:
                start, count = now_ms, 0
            count += 1
            self._windows[(route, client_ip)] = (start, count)
        time_to_reset = max(interval_ms - (now_ms - start), 0)
        return Verdict(allowed=count <= limit, limit=limit, remaining=max(limit - count, 0),
                       reset_epoch_ms=int(now_ms + time_to_reset),
                       wait_seconds=math.ceil(time_to_reset / 1000))


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

"""behaviour.md §5: the real rate limiter (default settings) on users.resetE2EKey."""
from __future__ import annotations

import re
import time

import pytest

from rc_e2e_conformance.refserver import RefServer

from .conftest import start
from .helpers import RESET, Api


@pytest.fixture
def limited() -> RefServer:
    with start() as server:  # fresh-install defaults: 10 calls / 60 s
        yield server


def test_counted_calls_carry_headers_and_the_eleventh_is_429(limited: RefServer) -> None:
    api = Api(limited.url, limited.store)
    u = api.create_user(totp=True)
    before_ms = time.time() * 1000
    for i in range(10):
        r = api.post(RESET, user=u, json={"userId": "nobody"})  # 400 totp-required, still counted
        assert r.status_code == 400
        assert r.headers["x-ratelimit-limit"] == "10"
        assert r.headers["x-ratelimit-remaining"] == str(9 - i)
        reset = int(r.headers["x-ratelimit-reset"])
        assert before_ms < reset <= time.time() * 1000 + 60_000 + 5
    r = api.post(RESET, user=u, code=u.code(), json={})
    assert r.status_code == 429 and r.headers["content-type"] == "application/json"
    assert r.headers["x-ratelimit-remaining"] == "0" and r.headers["x-ratelimit-limit"] == "10"
    body = r.json()
    assert set(body) == {"success", "error"} and body["success"] is False
    assert re.fullmatch(r"Error, too many requests\. Please slow down\. You must wait \d+ seconds before trying "
                        r"this endpoint again\. \[error-too-many-requests\]", body["error"])
    assert api.me_status(u) == 200  # refused: nothing was reset
    other = api.create_user(totp=True)  # same client IP: the window is per route and IP, not per user
    assert api.post(RESET, user=other, code=other.code(), json={}).status_code == 429


def test_bypass_callers_and_unauthenticated_calls_are_not_counted(limited: RefServer) -> None:
    api = Api(limited.url, limited.store)
    boss = api.create_user("admin", totp=True)
    bot = api.create_user("bot", totp=True)
    for _ in range(12):
        for caller in (boss, bot):
            r = api.post(RESET, user=caller, json={})
            assert r.json()["errorType"] == "totp-required" and "x-ratelimit-limit" not in r.headers
        assert api.http.post(api.url + RESET, json={}).status_code == 401
    u = api.create_user(totp=True)
    r = api.post(RESET, user=u, json={})
    assert r.headers["x-ratelimit-remaining"] == "9"


def test_setup_endpoints_and_method_call_are_not_limited(limited: RefServer) -> None:
    api = Api(limited.url, limited.store)
    u = api.create_user()
    for _ in range(15):
        r = api.get("/api/v1/me", user=u)
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
        assert "error" in api.method_call(u, "2fa:validateTempToken", ["123456"])


def test_window_is_fixed_and_resets() -> None:
    settings = {"API_Enable_Rate_Limiter_Limit_Calls_Default": "2", "API_Enable_Rate_Limiter_Limit_Time_Default": "800"}
    with start(settings=settings) as server:
        api = Api(server.url, server.store)
        u = api.create_user(totp=True)
        first = api.post(RESET, user=u, json={})
        second = api.post(RESET, user=u, json={})
        assert first.headers["x-ratelimit-reset"] == second.headers["x-ratelimit-reset"] or \
            abs(int(first.headers["x-ratelimit-reset"]) - int(second.headers["x-ratelimit-reset"])) <= 2
        assert api.post(RESET, user=u, json={}).status_code == 429
        # Wait for the advertised window end (no fixed sleep: the server said when).
        time.sleep(max(int(second.headers["x-ratelimit-reset"]) / 1000 - time.time(), 0) + 0.05)
        r = api.post(RESET, user=u, json={})
        assert r.status_code == 400 and r.headers["x-ratelimit-remaining"] == "1"


def test_limiter_setting_off_sends_no_headers(api: Api, make_user) -> None:
    u = make_user(totp=True)
    for _ in range(12):
        r = api.post(RESET, user=u, json={})
        assert r.status_code == 400 and "x-ratelimit-limit" not in r.headers

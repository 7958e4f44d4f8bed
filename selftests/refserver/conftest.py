"""Fixtures: live reference servers per release profile (limiter off for most tests)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rc_e2e_conformance.refserver import Behaviour, RefServer, serve_in_thread

from .helpers import ADMIN, Api, User

NO_LIMIT = {"API_Enable_Rate_Limiter": "false"}


def start(behaviour: Behaviour | None = None, settings: dict[str, str] | None = None, **kw: Any) -> RefServer:
    return serve_in_thread(**ADMIN, behaviour=behaviour, settings=settings, **kw)


class _ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_internal_errors() -> Iterator[None]:
    """Fail any test during which the refserver logged an internal error (a hidden 5xx)."""
    handler = _ErrorLog()
    logger = logging.getLogger("refserver")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not handler.records, [r.getMessage() for r in handler.records]


@pytest.fixture(scope="session")
def srv() -> Iterator[RefServer]:
    """A 7.x server (profile 7) with the rate limiter off (tests share one client IP): the line where
    the endpoint's rules are all observable (no body schema, no registration grace)."""
    with start(Behaviour.for_profile("7"), settings=NO_LIMIT) as server:
        yield server


@pytest.fixture(scope="session")
def api(srv: RefServer) -> Api:
    return Api(srv.url, srv.store)


#: Profile 8 servers: NO_GRACE switches the registration grace off (RememberFor 0) so that new users'
#: second factor is observable, exactly as a suite would set OVERWRITE_SETTING_… on a real server.
NO_GRACE = {**NO_LIMIT, "Accounts_TwoFactorAuthentication_RememberFor": "0"}


@pytest.fixture(scope="session", params=["8", "7", "6"])
def profile_api(request: pytest.FixtureRequest) -> Iterator[tuple[str, Api]]:
    """(profile, Api) for each release line, registration grace off: facts every line shares."""
    with start(Behaviour.for_profile(request.param), settings=NO_GRACE) as server:
        yield request.param, Api(server.url, server.store)


@pytest.fixture(scope="session")
def api8() -> Iterator[Api]:
    """Profile 8 (the default), registration grace off."""
    with start(settings=NO_GRACE) as server:
        yield Api(server.url, server.store)


@pytest.fixture(scope="session")
def api8_grace() -> Iterator[Api]:
    """Profile 8 with the default RememberFor (1800 s): new users are in the registration grace."""
    with start(settings=NO_LIMIT) as server:
        yield Api(server.url, server.store)


@pytest.fixture
def make_user(api: Api) -> Callable[..., User]:
    return api.create_user

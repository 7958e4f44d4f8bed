"""Fixtures: live reference servers (limiter off for most tests, a default one for the limiter)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from refserver import Behaviour, RefServer, serve_in_thread

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
    """The 7.x default server with the rate limiter off (tests share one client IP)."""
    with start(settings=NO_LIMIT) as server:
        yield server


@pytest.fixture(scope="session")
def api(srv: RefServer) -> Api:
    return Api(srv.url, srv.store)


@pytest.fixture
def make_user(api: Api) -> Callable[..., User]:
    return api.create_user

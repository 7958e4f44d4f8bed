"""Fixtures: live reference servers (limiter off for most tests, a default one for the limiter)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from refserver import Behaviour, RefServer, serve_in_thread

from .helpers import ADMIN, Api, User

NO_LIMIT = {"API_Enable_Rate_Limiter": "false"}


def start(behaviour: Behaviour | None = None, settings: dict[str, str] | None = None, **kw: Any) -> RefServer:
    return serve_in_thread(**ADMIN, behaviour=behaviour, settings=settings, **kw)


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

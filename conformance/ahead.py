"""Answers fetched ahead of their tests, concurrently: up to 6.x every 401/403 is delayed 0.5-1 s.

A test whose one request is slow by design names that request as a *scenario* with
`@answered_ahead(scenario)`; when the first such test sets up (or earlier, see `start_early`), every
selected test's scenario is sent from a small thread pool, and each test's `answer` fixture waits
for its own answer.
So ten delayed 401s cost about one delay, hidden behind the rest of the run, instead of ten in a row.

A scenario is a plain function of a `Context` (the session's client, provisioner and callers) that
returns the answer to judge. It must not depend on or spoil what other tests use: it acts only on
users it creates itself (the provisioner deletes them at the end of the session) or sends requests
a conformant server refuses without effect. An exception in a scenario is raised in its test only.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from .actors import Actor
from .client import Client
from .errors import HarnessError
from .provisioning import Provisioner

MARK = "answered_ahead"
WORKERS = 16


@dataclass(frozen=True)
class Context:
    """What a scenario may use: the same session objects the tests get as fixtures."""

    client: Client
    provisioner: Provisioner
    privileged: Actor
    unprivileged: Actor

    @property
    def nobody(self) -> str:
        """A userId/username that cannot exist (this run's prefix + "nobody", never created)."""
        return f"{self.provisioner.prefix}nobody"


Scenario = Callable[[Context], Any]


def answered_ahead(scenario: Scenario) -> pytest.MarkDecorator:
    """Mark a test (or a `pytest.param`) whose answer is `scenario(context)`, sent ahead of it."""
    # with_args: a lone callable given to a mark would be taken for the function it decorates.
    return getattr(pytest.mark, MARK).with_args(scenario)


class Ahead:
    """The scenarios of a session, each started once on the pool; `answer(s)` waits for one."""

    def __init__(self, context: Context | None, workers: int = WORKERS) -> None:
        self.context = context
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="rcc-ahead")
        self._futures: dict[Scenario, Future[Any]] = {}

    def start(self, scenarios: list[Scenario]) -> None:
        if self.context is None:
            return
        for scenario in scenarios:
            if scenario not in self._futures:
                self._futures[scenario] = self._pool.submit(scenario, self.context)

    def answer(self, scenario: Scenario) -> Any:
        self.start([scenario])
        return self._futures[scenario].result()

    def close(self) -> None:
        # Queued scenarios are dropped; one still running must not outlive the session (cleanup comes after).
        self._pool.shutdown(wait=True, cancel_futures=True)


def _scenario(item: pytest.Item) -> Scenario | None:
    mark = item.get_closest_marker(MARK)
    return mark.args[0] if mark is not None and mark.args else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARK}(scenario): the test judges scenario(context), sent ahead "
                                       "of it and concurrently with the other scenarios (conformance.ahead)")


@pytest.fixture(scope="session")
def rcc_ahead(request: pytest.FixtureRequest, provisioner: Provisioner) -> Iterator[Ahead]:
    """The session's scenarios: all of them start when the first test needing an answer sets up.

    Depends on `provisioner` so that it is torn down first: no scenario may create a user after cleanup.
    """
    ahead = Ahead(None)
    try:
        yield ahead
    finally:
        ahead.close()


def _started(request: pytest.FixtureRequest, ahead: Ahead) -> Ahead:
    if ahead.context is None:
        # Not cached on failure: each test then meets the failed setup itself, like any other test.
        ahead.context = Context(client=request.getfixturevalue("client"),
                                provisioner=request.getfixturevalue("provisioner"),
                                privileged=request.getfixturevalue("privileged"),
                                unprivileged=request.getfixturevalue("unprivileged"))
        ahead.start(list(dict.fromkeys(s for item in request.session.items if (s := _scenario(item)) is not None)))
    return ahead


def start_early(request: pytest.FixtureRequest) -> None:
    """Start the session's scenarios now, from a test that runs long before them (the exploring test):
    their delayed answers then arrive while it works. When the callers they need cannot be set up,
    nothing happens here: each scenario's own test meets that failure (or skip) when it sets up."""
    if not any(_scenario(item) is not None for item in request.session.items):
        return
    ahead = request.getfixturevalue("rcc_ahead")
    try:
        _started(request, ahead)
    except (Exception, pytest.skip.Exception, pytest.fail.Exception):
        pass


@pytest.fixture
def answer(request: pytest.FixtureRequest, rcc_ahead: Ahead) -> Any:
    """The answer of this test's `@answered_ahead` scenario (waits for it; its exception is raised here)."""
    scenario = _scenario(request.node)
    if scenario is None:
        raise HarnessError(f"{request.node.nodeid} uses `answer` without @answered_ahead(scenario)")
    return _started(request, rcc_ahead).answer(scenario)

"""The run's one concurrency mechanism: answers that are slow by design, at most four requests in flight.

Up to 6.x every 401/403 is delayed 0.5-1 s. Two kinds of requests are answered that way and have no
effect on a conformant server, so they need not wait their turn:
- a hand-written test whose one request is slow by design names it as a *scenario* with
  `@answered_ahead(scenario)`; when the first such test sets up, every selected test's scenario is
  submitted here (in test order) and each test's `answer` fixture waits for its own answer;
- the property run submits its generated cases that do not carry its caller's session
  (conformance/properties/explore.py).
Both share one bounded pool: WORKERS threads plus the pytest thread, so at most four requests of the
run are in flight at any moment (a live target is someone's production server).

A scenario is a plain function of a `Context` (the session's client, provisioner and callers) that
returns the answer to judge. It acts only on users it creates itself (the provisioner deletes them at
the end of the session) or sends requests a conformant server refuses without effect. An exception
in a scenario is raised in its test only.
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
MAX_IN_FLIGHT = 4
WORKERS = MAX_IN_FLIGHT - 1  # the pytest thread sends the other requests: it is the fourth


class InFlight:
    """The session's bounded pool; `submit` queues work, nothing ever runs unbounded."""

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # started on first use: most runs on 7.x+ need few

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="rcc-inflight")
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        # Queued work is dropped; work already running must not outlive the session (cleanup comes after).
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


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


def _scenario(item: pytest.Item) -> Scenario | None:
    mark = item.get_closest_marker(MARK)
    return mark.args[0] if mark is not None and mark.args else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARK}(scenario): the test judges scenario(context), sent ahead "
                                       "of it on the run's bounded pool (conformance.inflight)")


@pytest.fixture(scope="session")
def rcc_inflight(provisioner: Provisioner) -> Iterator[InFlight]:
    """The session's pool. Depends on `provisioner` so that it is torn down first: no queued work may
    create a user or send a request after cleanup."""
    inflight = InFlight()
    try:
        yield inflight
    finally:
        inflight.close()


@dataclass
class _Answers:
    context: Context
    futures: dict[Scenario, Future[Any]]


_ANSWERS = pytest.StashKey[_Answers]()


def _answers(request: pytest.FixtureRequest, inflight: InFlight) -> _Answers:
    answers = request.session.stash.get(_ANSWERS, None)
    if answers is None:
        # Not stored on failure: each test then meets the failed setup itself, like any other test.
        context = Context(client=request.getfixturevalue("client"),
                          provisioner=request.getfixturevalue("provisioner"),
                          privileged=request.getfixturevalue("privileged"),
                          unprivileged=request.getfixturevalue("unprivileged"))
        scenarios = dict.fromkeys(s for item in request.session.items if (s := _scenario(item)) is not None)
        answers = _Answers(context, {s: inflight.submit(s, context) for s in scenarios})
        request.session.stash[_ANSWERS] = answers
    return answers


@pytest.fixture
def answer(request: pytest.FixtureRequest, rcc_inflight: InFlight) -> Any:
    """The answer of this test's `@answered_ahead` scenario (waits for it; its exception is raised here)."""
    scenario = _scenario(request.node)
    if scenario is None:
        raise HarnessError(f"{request.node.nodeid} uses `answer` without @answered_ahead(scenario)")
    answers = _answers(request, rcc_inflight)
    future = answers.futures.get(scenario)
    if future is None:  # a test not in the session's items (e.g. re-run by a plugin)
        future = answers.futures[scenario] = rcc_inflight.submit(scenario, answers.context)
    return future.result()

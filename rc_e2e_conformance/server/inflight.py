"""The run's one concurrency mechanism: work that need not wait its turn, at most four requests in flight.

Three kinds of work go here:
- a hand-written test whose request is slow by design (up to 6.x every 401/403 is delayed 0.5-1 s),
  or whose set-up several tests share, names it as a *scenario* with `@answered_ahead(scenario)`;
  when the first such test sets up, every selected test's scenario is submitted here (in test
  order) and each test's `answer` fixture waits for its own answer;
- the session's users the selected tests use, created at once (pytest_plugin/fixtures.py, `Cast`);
- the property run's cases (properties/explore.py): they are answered while the hand-written tests
  run, and the verdict tests, which run last, wait for them.
All share one bounded pool: WORKERS threads, and the pytest thread sends the rest, so at most four
requests of the run are in flight at any moment (a live target is someone's production server).

A scenario is a plain function of a `Context` (the session's client, provisioner and callers) that
returns the answer to judge. It acts only on users it creates itself (the provisioner deletes them at
the end of the session) or sends requests a conformant server refuses without effect. An exception
in a scenario is raised in its test only.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pytest

from rc_e2e_conformance.contract.errors import HarnessError

from .actors import Actor
from .client import Client
from .provisioning import Provisioner

MARK = "answered_ahead"
MAX_IN_FLIGHT = 4
WORKERS = MAX_IN_FLIGHT - 1  # the pytest thread sends the other requests: it is the fourth


class InFlight:
    """The session's bounded pool: WORKERS threads, plus the pytest thread while it waits for a result.

    A thread waiting for one piece of work (`wait`) runs queued work itself instead of idling, so a
    test whose answer is queued behind others does not wait rounds for it; the bound still holds,
    since a waiting thread sends nothing else.
    """

    def __init__(self, workers: int = WORKERS) -> None:
        self._workers = workers
        self._queue: deque[tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]] = deque()
        self._ready = threading.Condition()
        self._threads: list[threading.Thread] = []  # started on first use: runs on 7.x+ need few
        self._closed = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        with self._ready:
            if self._closed:
                raise HarnessError("the run's request pool is closed: the session is ending")
            self._queue.append((future, fn, args))
            if len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name=f"rcc-inflight-{len(self._threads)}", daemon=True)
                self._threads.append(thread)
                thread.start()
            self._ready.notify()
        return future

    def wait(self, future: Future[Any]) -> Any:
        """`future.result()`, running queued work on this thread until it is done (its own first)."""
        while not future.done():
            item = self._take(block=False, prefer=future)
            if item is None:
                break
            _run(*item)
        return future.result()

    def _take(self, *, block: bool, prefer: Future[Any] | None = None
              ) -> tuple[Future[Any], Callable[..., Any], tuple[Any, ...]] | None:
        with self._ready:
            while block and not self._queue and not self._closed:
                self._ready.wait()
            for item in self._queue:
                if item[0] is prefer:
                    self._queue.remove(item)
                    return item
            return self._queue.popleft() if self._queue else None

    def _work(self) -> None:
        while (item := self._take(block=True)) is not None:
            _run(*item)

    def close(self) -> None:
        # Queued work is dropped; work already running must not outlive the session (cleanup comes after).
        with self._ready:
            self._closed = True
            dropped, self._queue = list(self._queue), deque()
            self._ready.notify_all()
        for future, _, _ in dropped:
            future.cancel()
        for thread in self._threads:
            thread.join()


def _run(future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    if not future.set_running_or_notify_cancel():
        return  # cancelled while queued
    try:
        result = fn(*args)
    except BaseException as exc:  # handed to whoever waits for it, like concurrent.futures does
        future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise  # a Ctrl-C met while the pytest thread helped: it still stops the run
    else:
        future.set_result(result)


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
                                       "of it on the run's bounded pool (server/inflight.py)")


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
    return rcc_inflight.wait(future)

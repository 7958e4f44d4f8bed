"""The run's one concurrency mechanism (server/inflight.py): bounded, ordered, errors kept per task."""
from __future__ import annotations

import threading
from concurrent.futures import CancelledError

import pytest

from rc_e2e_conformance.server.inflight import MAX_IN_FLIGHT, WORKERS, InFlight


class Gauge:
    """Counts how many tasks run at once; each task holds its slot until the test opens the gate."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = self.done = 0
        self.gate = threading.Event()

    def task(self, value: int) -> int:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        self.gate.wait(30)
        with self.lock:
            self.now -= 1
            self.done += 1
        return value


def test_never_more_workers_than_the_bound_and_every_result_arrives():
    gauge, pool = Gauge(), InFlight()
    try:
        futures = [pool.submit(gauge.task, i) for i in range(12)]
        while gauge.now < WORKERS:  # the workers are all busy and blocked at the gate
            threading.Event().wait(0.001)
        assert gauge.peak == WORKERS
        gauge.gate.set()
        assert [pool.wait(f) for f in futures] == list(range(12))
        assert gauge.peak <= MAX_IN_FLIGHT  # the waiting thread helps: it is the fourth
    finally:
        gauge.gate.set()
        pool.close()


def _busy(started: threading.Event, blocker: threading.Event) -> bool:
    started.set()
    return blocker.wait(30)


def test_a_waiting_thread_runs_queued_work_itself():
    pool = InFlight(workers=1)
    started, blocker = threading.Event(), threading.Event()
    try:
        pool.submit(_busy, started, blocker)
        assert started.wait(30)  # the only worker is busy
        other = pool.submit(lambda: threading.current_thread())
        mine = pool.submit(lambda: threading.current_thread())
        assert pool.wait(mine) is threading.current_thread()  # its own work first...
        assert not other.done()  # ...and nothing more once it is done
        assert pool.wait(other) is threading.current_thread()
    finally:
        blocker.set()
        pool.close()


def test_an_exception_is_raised_to_its_waiter_only():
    pool = InFlight()
    try:
        bad = pool.submit(lambda: 1 / 0)
        good = pool.submit(lambda: "ok")
        with pytest.raises(ZeroDivisionError):
            pool.wait(bad)
        assert pool.wait(good) == "ok"
    finally:
        pool.close()


def test_close_drops_queued_work_and_refuses_more():
    pool = InFlight(workers=1)
    started, blocker = threading.Event(), threading.Event()
    running = pool.submit(_busy, started, blocker)
    assert started.wait(30)
    queued = pool.submit(lambda: "never")
    closer = threading.Thread(target=pool.close)
    closer.start()
    while not pool._closed:  # noqa: SLF001 - close() has dropped the queue before it waits for the worker
        threading.Event().wait(0.001)
    blocker.set()
    closer.join(30)
    assert running.result() is True
    with pytest.raises(CancelledError):
        queued.result()
    with pytest.raises(Exception, match="closed"):
        pool.submit(lambda: None)

"""Worker threads of a property run: deferred sends and judgements, one guarded session per thread."""
from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from .safety import GuardedSession

#: Up to 6.x each 401 is delayed 0.5-1 s; a run has a few dozen of them, all in flight at once.
WORKERS = 24


class Workers:
    """A lazily started pool; `wait()` returns the exceptions the tasks raised (none expected)."""

    def __init__(self, session: GuardedSession, workers: int = WORKERS) -> None:
        self._main_session = session
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        self._pending: list[Future[Any]] = []
        self._local = threading.local()
        self._sessions: list[GuardedSession] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="rcc-property")
        self._pending.append(self._pool.submit(fn, *args))

    def session(self) -> GuardedSession:
        """This worker thread's session (schemathesis swaps a session's headers during each call)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._main_session.sibling()
            with self._lock:
                self._sessions.append(session)
        return session

    def wait(self) -> list[BaseException]:
        pending, self._pending = self._pending, []
        return [exc for future in pending if (exc := future.exception()) is not None]

    def close(self) -> None:
        self.wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for session in self._sessions:
            session.close()

"""Run the reference server in a background thread on a real socket (the embedded default target)."""
from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app, ensure_admin
from .behaviour import Behaviour
from .settings import Settings
from .store import Store

START_TIMEOUT_S = 10.0


@dataclass(eq=False)
class RefServer:
    """A running reference server: `url`, `db_path`, `stop()`; also a context manager."""

    _server: uvicorn.Server
    _thread: threading.Thread
    url: str
    db_path: str
    _temporary_db: bool
    app: Starlette
    _stopped: bool = False

    @property
    def store(self) -> Store:
        """The server's Store (selftests read the outbox through it; thread-safe)."""
        return self.app.state.rc.store

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait on idle keep-alive clients: stop() is final
        self._thread.join(timeout=10)
        self.store.db.close()
        if self._temporary_db:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.db_path + suffix)

    def __enter__(self) -> RefServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def serve_in_thread(*, admin_username: str, admin_password: str, admin_email: str,
                    db_path: str | None = None, behaviour: Behaviour | None = None,
                    settings: dict[str, str] | None = None, host: str = "127.0.0.1", port: int = 0,
                    test_mode: bool = False, env: Mapping[str, str] | None = None,
                    admin_email_verified: bool = False, latency: float | None = None) -> RefServer:
    """Start a server bound to host:port (0 = any free port) and return once it accepts requests.

    `settings` force settings like OVERWRITE_SETTING_<Id> env vars do; `env` (optional) is read for
    OVERWRITE_SETTING_* first (the CLI passes os.environ). `test_mode` = Rocket.Chat's TEST_MODE.
    `admin_email_verified` = ADMIN_EMAIL_VERIFIED=true. `latency` (seconds) delays every answer, logins
    100 ms more (Behaviour.with_latency).
    """
    temporary = db_path is None
    if db_path is None:
        fd, db_path = tempfile.mkstemp(prefix="refserver-", suffix=".db")
        os.close(fd)
    behaviour = behaviour or Behaviour()
    if latency is not None:
        behaviour = behaviour.with_latency(latency)
    app = create_app(db_path, behaviour, Settings(settings, env=env, test_mode=test_mode))
    ensure_admin(app.state.rc, admin_username, admin_password, admin_email, admin_email_verified)
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets (else +40 ms per answer).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_keep_alive=30, backlog=512)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"refserver-{bound_port}")
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"reference server did not start on {host}:{bound_port}")
        time.sleep(0.005)
    url_host = f"[{host}]" if ":" in host else host
    return RefServer(server, thread, f"http://{url_host}:{bound_port}", db_path, temporary, app)

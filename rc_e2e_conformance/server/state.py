"""The crash record of a live run: prefix, target URL, created user ids, changed permissions — never a secret.

Written before the first user is created and after every change, deleted once cleanup succeeded. A run
killed with SIGKILL (or whose cleanup failed) leaves it behind, and `rc-conformance cleanup --url …`
reads it to delete the leftovers by prefix and to put changed permissions back.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rc_e2e_conformance.contract.errors import ProvisioningError
from rc_e2e_conformance.contract.redact import redact

STATE_DIR_ENV = "RCC_STATE_DIR"
FORMAT = 1
#: Exactly what Provisioner generates ("rcc-" + 8 hex + "-"): cleanup never sweeps any other prefix.
PREFIX_RE = re.compile(r"^rcc-[0-9a-f]{8}-$")


def state_dir(override: str | None = None) -> Path:
    """Where crash records live: the override, else $RCC_STATE_DIR, else $XDG_STATE_HOME/rc-conformance."""
    if override:
        return Path(override)
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "rc-conformance"


def public_url(url: str) -> str:
    """The URL without credentials, query or trailing slash (so it is safe to store and to compare)."""
    split = urlsplit(url.strip())
    host = (split.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host
    if split.port:
        netloc += f":{split.port}"
    return urlunsplit((split.scheme.lower(), netloc, split.path.rstrip("/"), "", ""))


@dataclass
class RunState:
    """One run's crash record; every mutation rewrites the file atomically (no partial file on a kill)."""

    path: Path
    url: str
    prefix: str
    pid: int = field(default_factory=os.getpid)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    users: dict[str, str] = field(default_factory=dict)  # user id -> username
    permissions: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # id -> {"before", "after"}
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    # -- life cycle ----------------------------------------------------------------------------
    @classmethod
    def start(cls, url: str, prefix: str, directory: str | Path | None = None) -> RunState:
        """Create the record before anything is created on the target; refuse to run without one."""
        if not PREFIX_RE.match(prefix):
            raise ProvisioningError(f"refusing to record run prefix {prefix!r}: not of the form rcc-<8 hex>-")
        folder = state_dir(str(directory) if directory else None)
        state = cls(path=folder / f"run-{prefix.rstrip('-')}.json", url=public_url(url), prefix=prefix)
        state._write()
        return state

    def finish(self) -> None:
        """Everything was cleaned up: the record is no longer needed."""
        with self._lock:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    @property
    def clean(self) -> bool:
        return not self.users and not self.permissions

    # -- changes -------------------------------------------------------------------------------
    def add_user(self, user_id: str, username: str) -> None:
        with self._lock:
            self.users[user_id] = username
        self._write()

    def remove_user(self, user_id: str) -> None:
        with self._lock:
            if self.users.pop(user_id, None) is None:
                return
        self._write()

    def permission_changing(self, permission: str, before: list[str], after: list[str]) -> None:
        """Called BEFORE permissions.update is sent: a kill in between must still leave the old roles on disk."""
        with self._lock:
            self.permissions[permission] = {"before": list(before), "after": list(after)}
        self._write()

    def permission_restored(self, permission: str) -> None:
        with self._lock:
            if self.permissions.pop(permission, None) is None:
                return
        self._write()

    # -- file ----------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "url": self.url, "prefix": self.prefix, "pid": self.pid, "started": self.started,
                "users": dict(self.users), "permissions": {k: dict(v) for k, v in self.permissions.items()}}

    def _write(self) -> None:
        with self._lock:
            text = json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.path.parent)
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)  # atomic: a reader sees the old or the new record, never half
            except OSError as exc:
                raise ProvisioningError(redact(
                    f"cannot write the run's crash record {self.path} ({exc.strerror or exc}); set "
                    f"{STATE_DIR_ENV} to a writable folder")) from None


def load(path: Path) -> RunState:
    """Read one record; a malformed one is an error (never guess what to delete)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        prefix, url = str(data["prefix"]), str(data["url"])
        users = {str(k): str(v) for k, v in dict(data.get("users") or {}).items()}
        perms = {str(k): {"before": [str(r) for r in v["before"]], "after": [str(r) for r in v["after"]]}
                 for k, v in dict(data.get("permissions") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProvisioningError(f"crash record {path} is unreadable ({type(exc).__name__}); "
                                "inspect it by hand") from None
    if not PREFIX_RE.match(prefix):
        raise ProvisioningError(f"crash record {path} names prefix {prefix!r}, which this suite never generates")
    return RunState(path=path, url=url, prefix=prefix, pid=int(data.get("pid") or 0),
                    started=str(data.get("started") or ""), users=users, permissions=perms)


def records_for(url: str, directory: str | None = None) -> tuple[list[RunState], list[str]]:
    """The crash records left for this target URL (credentials ignored), oldest first, plus unreadable ones."""
    folder = state_dir(directory)
    if not folder.is_dir():
        return [], []
    wanted = public_url(url)
    found: list[RunState] = []
    problems: list[str] = []
    for path in sorted(folder.glob("run-rcc-*.json")):
        try:
            found.append(load(path))
        except ProvisioningError as exc:  # another run's broken record must not block this cleanup
            problems.append(str(exc))
    return sorted((s for s in found if s.url == wanted), key=lambda s: s.started), problems

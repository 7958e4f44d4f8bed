"""Interrupt-safe cleanup: defer Ctrl-C/SIGTERM while cleaning, and `rc-conformance cleanup` from crash records."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from rc_e2e_conformance.contract.config import CLEANUP
from rc_e2e_conformance.contract.errors import HarnessError, ProvisioningError
from rc_e2e_conformance.contract.options import add_arguments, values
from rc_e2e_conformance.contract.redact import redact

from .state import PREFIX_RE, RunState, records_for, state_dir

if TYPE_CHECKING:  # provisioning imports this module (signals_deferred): import it lazily here
    from .provisioning import Provisioner

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Interrupts:
    """Whether the run was already interrupted: only the first SIGINT/SIGTERM unwinds it."""

    first: str | None = None


def _note(signum: int, frame: Any) -> None:
    stream = sys.__stderr__ or sys.stderr  # the CLI captures sys.stderr while pytest runs
    stream.write("rc-conformance: interrupt received — finishing cleanup and the report first "
                 "(kill -9 would leave users behind for `rc-conformance cleanup`)\n")
    stream.flush()


def _interrupt(name: str) -> None:
    """Unwind the run once; from now on further signals only print a note (cleanup must finish)."""
    _Interrupts.first = name
    for sig in _SIGNALS:
        signal.signal(sig, _note)
    raise KeyboardInterrupt(name)


def _first_signal(signum: int, frame: Any) -> None:
    _interrupt(signal.Signals(signum).name)


def interrupted() -> str | None:
    """The signal that interrupted the run, if any.

    The KeyboardInterrupt a handler raises can be lost: a signal handled while the interpreter runs a
    gc callback (hypothesis installs one) or a `__del__` becomes an "exception ignored" message. So the
    run also checks this between tests and between generated cases, and the report says `error`.
    """
    return _Interrupts.first


def raise_if_interrupted() -> None:
    """Re-raise an interrupt whose KeyboardInterrupt was swallowed (see `interrupted`)."""
    name = _Interrupts.first
    if name is not None:
        raise KeyboardInterrupt(name)


def install_interrupt_handlers() -> dict[int, Any]:
    """SIGINT and SIGTERM raise KeyboardInterrupt ONCE (pytest then runs every finalizer: user cleanup,
    permission restore, the partial report); a second Ctrl-C cannot cut that short. Returns the previous
    handlers for `restore_handlers`; does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _Interrupts.first = None
    return {sig: signal.signal(sig, _first_signal) for sig in _SIGNALS}


def restore_handlers(previous: dict[Any, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


@contextmanager
def signals_deferred(*, reraise: bool) -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block is done, so an impatient second Ctrl-C cannot strand users.

    With `reraise`, a signal received meanwhile becomes KeyboardInterrupt right after the block (the
    run then unwinds as usual); without it (the final cleanup) the run is ending anyway. SIGKILL cannot
    be deferred: that is what the crash record is for.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    received: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        if not received:
            _note(signum, frame)
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in _SIGNALS}
    try:
        yield
    finally:
        restore_handlers(previous)
        if received and reraise and _Interrupts.first is None and sys.exc_info()[0] is None:
            _interrupt(signal.Signals(received[0]).name)


# -- `rc-conformance cleanup` ----------------------------------------------------------------------
def _admin_call(prov: Provisioner, method: str, path: str, what: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    """The provisioner's admin call (the one way the admin calls the server), as (status, JSON object)."""
    from .actors import json_body

    resp = prov.admin_call(method, path, what, **kwargs)
    return resp.status_code, json_body(resp, what)


def _roles(prov: Provisioner) -> dict[str, list[str]]:
    status, body = _admin_call(prov, "GET", "permissions.listAll", "list permissions")
    if status != 200 or body.get("success") is False:
        raise ProvisioningError(f"list permissions failed (HTTP {status})")
    return {str(p.get("_id")): [str(r) for r in p.get("roles") or []] for p in body.get("update") or []}


def clean_record(prov: Provisioner, record: RunState) -> tuple[list[str], list[str]]:
    """Delete the record's users (by prefix, then each recorded id) and undo its permission changes.

    Returns (done, problems). Only users whose username carries the record's prefix are deleted, and a
    permission is put back only while it still holds exactly what the run set: anything else was
    changed by someone else since, and is left alone and reported.
    """
    done: list[str] = []
    problems: list[str] = []
    prov.prefix = record.prefix
    swept = prov.sweep()
    if swept:
        done.append(f"deleted {len(swept)} user(s) named {record.prefix}*")
    for uid, name in sorted(record.users.items()):
        status, body = _admin_call(prov, "GET", "users.info", f"look up user {name}",
                                   params={"userId": uid})
        if status == 400:  # "User not found.": already gone, nothing to do
            record.remove_user(uid)
            continue
        if status != 200:  # 429, 5xx, 403…: the user may still exist; keep it in the record for a later try
            problems.append(f"could not look up user {name} (HTTP {status}): kept in the crash record")
            continue
        current = str((body.get("user") or {}).get("username", ""))
        if not current.startswith(record.prefix):
            problems.append(f"user id {uid} (created as {name}) is now called {current!r}: left alone")
            continue
        status, body = _admin_call(prov, "POST", "users.delete", f"delete user {current}",
                                   json={"userId": uid, "confirmRelinquish": True})
        if status != 200:
            problems.append(f"delete user {current} failed (HTTP {status}): {body.get('error')}")
        else:
            record.remove_user(uid)
            done.append(f"deleted user {current}")
    if record.permissions:
        roles = _roles(prov)
        for perm, change in sorted(record.permissions.items()):
            now = roles.get(perm)
            if now is not None and sorted(now) == sorted(change["before"]):
                record.permission_restored(perm)
            elif now is not None and sorted(now) == sorted(change["after"]):
                status, body = _admin_call(prov, "POST", "permissions.update", f"restore {perm}",
                                           json={"permissions": [{"_id": perm, "roles": change["before"]}]})
                if status != 200 or body.get("success") is False:
                    problems.append(f"restore {perm} failed (HTTP {status}): {body.get('error')}")
                else:
                    record.permission_restored(perm)
                    done.append(f"restored {perm} to roles {change['before']}")
            else:
                problems.append(f"permission {perm} now has roles {now}, neither the {change['before']} before "
                                f"the run nor the {change['after']} it set: someone changed it since; left alone")
    return done, problems


def cmd_cleanup(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Remove what crashed runs left on `--url`, as recorded in their crash records (or `--prefix`)."""
    from rc_e2e_conformance.contract.config import load_settings

    from .client import Client
    from .provisioning import Provisioner
    from .targets import probe_info

    out = out or sys.stdout
    settings = load_settings(values(args))
    if settings.url is None:
        raise HarnessError("cleanup needs --url (or RCC_URL): the embedded server leaves nothing behind")
    records, problems = records_for(settings.url, args.state_dir)
    for prefix in args.prefix:
        if not PREFIX_RE.match(prefix):
            raise HarnessError(f"--prefix {prefix!r} is not a run prefix (rcc-<8 hex>-): refusing to sweep it")
        if all(r.prefix != prefix for r in records):
            records.append(RunState(path=state_dir(args.state_dir) / "(none)", url=settings.url, prefix=prefix))
    if not records:
        print(redact(f"rc-conformance: nothing to clean up for {settings.url} "
                     f"(no crash record in {state_dir(args.state_dir)})"), file=out)
        return 2 if problems else 0
    client = Client(settings.url, timeout=settings.timeout, verify_tls=settings.verify_tls,
                    ca_bundle=settings.ca_bundle)
    try:
        probe_info(client)
        prov = Provisioner(client, admin_user=settings.admin_user or "", admin_password=settings.admin_password or "",
                           admin_totp_secret=settings.admin_totp_secret,
                           admin_user_id=settings.admin_user_id, admin_token=settings.admin_token)
        for record in records:
            with signals_deferred(reraise=True):
                done, left = clean_record(prov, record)
            if not left and record.path.name != "(none)":
                record.finish()
            summary = "; ".join(done) or "nothing left"
            print(redact(f"rc-conformance: cleanup of run {record.prefix}* on {record.url}: {summary}"), file=out)
            problems += [f"run {record.prefix}*: {p}" for p in left]
    finally:
        client.close()
    for problem in problems:
        print(redact(f"rc-conformance: cleanup problem: {problem}"), file=sys.stderr)
    return 2 if problems else 0


def add_parser(sub: Any) -> None:
    """The `cleanup` subcommand's options (called by cli/main.py)."""
    p = sub.add_parser("cleanup", help="delete users and undo permission changes that crashed runs left behind",
                       description="Delete the users and undo the permission changes that crashed runs left on "
                                   "--url, as recorded in their crash records. Exit 0 done, 2 problems left.")
    add_arguments(p, CLEANUP)  # the connection options of the table in contract/config.py
    p.add_argument("--state-dir", help="folder of crash records (default $RCC_STATE_DIR or "
                                       "$XDG_STATE_HOME/rc-conformance)")
    p.add_argument("--prefix", action="append", default=[], metavar="rcc-XXXXXXXX-",
                   help="also sweep this run prefix when its crash record is lost (repeatable)")

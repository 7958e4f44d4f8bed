"""The pytest plugin (`pytest11` entry point): options and marker always; the rest only once the plugin is active.

pytest loads this module in every run of an environment where the package is installed. It stays inert
— no settings read, no signal handlers, no fixtures, no report — unless it is activated: by
`rc-conformance run` (which hands over its settings), by a configured target (`--rcc-url` / RCC_URL),
or by the suite itself (its conftest activates it; asking pytest for the suite on the command line
activates it at configure time, so an incompatible plugin is refused before any worker starts).
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rc_e2e_conformance.contract.options import add_pytest_options, values
from rc_e2e_conformance.contract.redact import redact

from .stash import ACTIVE_KEY, CLIENT_KEY, PROVISIONER_KEY, RUN_KEY, SETTINGS_KEY

RATE_ID = "RATE-01"
DECLARED_2FA_OFF = "--declare-2fa-off / RCC_DECLARE_2FA_OFF"
MARKER = "requirement(*ids): the catalogue requirement IDs (openapi/requirements.yaml) this test verifies"
SUITE_PACKAGE = "rc_e2e_conformance.suite"
#: This module's plugin name (the entry point's name, so `-p` and pytest_plugins refer to the same plugin).
PLUGIN = __name__
#: Modules registered as plugins on activation (their fixtures and hooks exist only for an active run).
ACTIVE_PLUGINS = ("rc_e2e_conformance.pytest_plugin.fixtures", "rc_e2e_conformance.pytest_plugin.collect",
                  "rc_e2e_conformance.server.inflight")
REFUSE_XDIST = ("rc-conformance: the suite cannot run under pytest-xdist (-n/--dist): one session owns its users, "
                "permission changes and the rate-limit probe (RATE-01 exhausts the window for every test); "
                "run it without -n")
REFUSE_RERUNS = ("rc-conformance: the suite does not rerun tests (--reruns): a rerun would hide an intermittent "
                 "defect and repeat calls that change the server; run it without --reruns")


def pytest_addoption(parser: pytest.Parser) -> None:
    # Every option comes from the table in contract/config.py, prefixed --rcc- (pytest-timeout owns
    # --timeout, pytest 9 owns --strict).
    add_pytest_options(parser.getgroup("rc-conformance", "Rocket.Chat users.resetE2EKey conformance"))


def _suite_dir() -> Path:
    from rc_e2e_conformance.contract.resources import SUITE_DIR

    return SUITE_DIR.resolve()


def suite_requested(config: pytest.Config) -> bool:
    """Whether the command line (or testpaths) asks for the suite: its package, a path in it, or a folder holding it."""
    suite = _suite_dir()
    # A folder holding the suite counts only in a source checkout: an installed suite lives in site-packages,
    # which a project's `pytest .` never collects (its ./.venv must not switch the plugin on).
    installed = any(part in ("site-packages", "dist-packages") for part in suite.parts)
    for arg in config.args:
        name = str(arg).split("::")[0]
        if name == SUITE_PACKAGE or name.startswith(SUITE_PACKAGE + "."):
            return True
        path = (config.invocation_params.dir / name).resolve()
        if path == suite or suite in path.parents or (not installed and path.is_dir() and path in suite.parents):
            return True
    return False


def is_active(config: pytest.Config) -> bool:
    return config.stash.get(ACTIVE_KEY, False)


def _refuse_incompatible(config: pytest.Config) -> None:
    """pytest-xdist and pytest-rerunfailures break what the suite judges: refused in one line each."""
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist", "no") != "no" \
            or hasattr(config, "workerinput"):
        raise pytest.UsageError(REFUSE_XDIST)
    if getattr(config.option, "reruns", 0):
        raise pytest.UsageError(REFUSE_RERUNS)


def activate(config: pytest.Config) -> None:
    """Make this run a conformance run (once): settings, run facts, interrupt handlers, fixtures, collector."""
    if is_active(config):
        return
    _refuse_incompatible(config)
    from rc_e2e_conformance.contract.config import load_settings
    from rc_e2e_conformance.contract.errors import ConfigError
    from rc_e2e_conformance.report.ci import run_info_for
    from rc_e2e_conformance.server.cleanup import install_interrupt_handlers
    from rc_e2e_conformance.server.targets import check_embedded

    settings = config.stash.get(SETTINGS_KEY, None)  # handed over by `rc-conformance run` (stash.Handoff)
    if settings is None:
        try:
            settings = load_settings(values(config.option, prefix="rcc_"))
            check_embedded(settings)
        except ConfigError as exc:
            raise pytest.UsageError(f"conformance configuration: {exc}") from None
    if settings.seed is None:  # a seed in every report, so any run can be replayed
        settings = dataclasses.replace(settings, seed=random.SystemRandom().randrange(2**32))
    config.stash[SETTINGS_KEY] = settings
    config.stash[RUN_KEY] = run = run_info_for(settings)
    if settings.declare_2fa_off:
        run.notices.append(
            f"2FA declared off by the user ({DECLARED_2FA_OFF}): the TFA-* requirements were NOT judged, "
            f"and this verdict says nothing about the endpoint's second factor")
    config.stash[ACTIVE_KEY] = True
    config._rcc_started = time.monotonic()  # type: ignore[attr-defined]
    # SIGINT/SIGTERM become ONE KeyboardInterrupt, so pytest unwinds through the fixture finalizers
    # (user cleanup, permission restore) and writes the partial report; further signals cannot cut that short.
    config._rcc_prev_signals = install_interrupt_handlers()  # type: ignore[attr-defined]
    for name in ACTIVE_PLUGINS:
        if not config.pluginmanager.has_plugin(name):
            config.pluginmanager.import_plugin(name)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    target_configured = getattr(config.option, "rcc_url", None) or os.environ.get("RCC_URL")
    if SETTINGS_KEY in config.stash or target_configured or suite_requested(config):
        activate(config)


def pytest_unconfigure(config: pytest.Config) -> None:
    if not is_active(config):
        return
    from rc_e2e_conformance.contract.errors import HarnessError
    from rc_e2e_conformance.server.cleanup import restore_handlers

    provisioner = config.stash.get(PROVISIONER_KEY, None)
    if provisioner is not None and provisioner.pending():
        # Only reached when the session finalizer did not run (e.g. a second interrupt): last chance.
        try:
            provisioner.cleanup()
            if provisioner.journal is not None and provisioner.journal.clean:
                provisioner.journal.finish()
        except HarnessError as exc:
            print(f"conformance: {exc}", file=sys.stderr)
    restore_handlers(getattr(config, "_rcc_prev_signals", {}))  # only now: the cleanup above is protected too


def requirement_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(i for m in item.iter_markers("requirement") for i in m.args)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not is_active(config):
        return
    from rc_e2e_conformance.contract.catalogue import by_id

    known = by_id()
    for item in items:
        for mark in item.iter_markers("requirement"):
            if not mark.args:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.requirement needs at least one ID")
            unknown = [i for i in mark.args if i not in known]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement ID(s) {', '.join(map(str, unknown))} "
                                        f"(not in openapi/requirements.yaml)")
        # the IDs in pytest's own JUnit (<property name="requirement">) and any report plugin
        item.user_properties.extend(("requirement", rid) for rid in dict.fromkeys(requirement_ids(item)))
    wanted = set(config.stash[SETTINGS_KEY].requirements)
    if wanted:
        keep = [i for i in items if wanted & set(requirement_ids(i))]
        dropped = [i for i in items if not wanted & set(requirement_ids(i))]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    # RATE-01 exhausts the limiter window for this client IP: everything else must run before it.
    items.sort(key=lambda i: RATE_ID in requirement_ids(i))


def notify(config: pytest.Config, line: str) -> None:
    """One line for the person watching the run, even from inside a test (capture is suspended).

    The CLI's Progress plugin shows it on its console; under plain pytest the terminal reporter does.
    """
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman is not None else contextlib.nullcontext():
        for plugin in config.pluginmanager.get_plugins():
            if callable(getattr(plugin, "rcc_notice", None)):
                plugin.rcc_notice(line)
                return
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(redact(line))
        else:
            print(redact(line), file=sys.stderr, flush=True)


def time_left(config: pytest.Config) -> float | None:
    """Seconds left of the run's deadline (negative once it passed); None without a deadline."""
    deadline = config.stash[SETTINGS_KEY].deadline
    started = getattr(config, "_rcc_started", None)
    if not deadline or started is None:
        return None
    return deadline - (time.monotonic() - started)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not is_active(item.config):
        return
    from rc_e2e_conformance.contract.errors import HarnessError
    from rc_e2e_conformance.server.cleanup import raise_if_interrupted

    raise_if_interrupted()  # an interrupt whose KeyboardInterrupt was swallowed still stops the run here
    left = time_left(item.config)
    if left is not None and left < 0:
        deadline = item.config.stash[SETTINGS_KEY].deadline
        raise HarnessError(f"run deadline of {deadline:g} s reached before this test started")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if not is_active(item.config):
        return (yield)
    client = item.config.stash.get(CLIENT_KEY, None)
    before = client.rate_limited if client is not None else 0
    try:
        return (yield)
    finally:
        client = item.config.stash.get(CLIENT_KEY, None)
        if client is not None and RATE_ID not in requirement_ids(item):
            item.config.stash[RUN_KEY].rate_limited_answers += client.rate_limited - before


def pytest_runtest_call(item: pytest.Item) -> None:
    """Where Allure is installed, the requirement IDs become labels too (no dependency on it otherwise)."""
    if not is_active(item.config) or importlib.util.find_spec("allure") is None:
        return
    ids = requirement_ids(item)
    if ids:
        import allure

        allure.dynamic.label("requirement", *dict.fromkeys(ids))

"""The pytest plugin of the suite: options, settings, fixtures, requirement markers, ordering, cleanup."""
from __future__ import annotations

import contextlib
import dataclasses
import random
import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pytest

from .actors import Actor
from .catalogue import by_id
from .cleanup import install_interrupt_handlers, raise_if_interrupted, restore_handlers
from .client import Client
from .cliopts import add_pytest_options, values
from .config import Settings, load_settings
from .errors import ConfigError, HarnessError, ProvisioningError
from .provisioning import Provisioner
from .redact import redact
from .report.ci import run_info_for
from .state import RunState
from .stash import CLIENT_KEY, PROVISIONER_KEY, RUN_KEY, SETTINGS_KEY, TARGET_KEY
from .targets import Target, open_target, stop

pytest_plugins = ("conformance.collect",)

RATE_ID = "RATE-01"
TWO_FACTOR_SETTING = "Accounts_TwoFactorAuthentication_Enabled"
GRACE_SETTING = "Accounts_TwoFactorAuthentication_RememberFor"
TOTP_SETTING = "Accounts_TwoFactorAuthentication_By_TOTP_Enabled"
DEFAULT_GRACE_S = 1800
DECLARED_2FA_OFF = "--declare-2fa-off / RCC_DECLARE_2FA_OFF"
MARKER = "requirement(*ids): the catalogue requirement IDs (openapi/requirements.yaml) this test verifies"


def pytest_addoption(parser: pytest.Parser) -> None:
    # Every option comes from the table in conformance/config.py, prefixed --rcc- (pytest-timeout owns
    # --timeout, pytest 9 owns --strict).
    add_pytest_options(parser.getgroup("rc-conformance", "Rocket.Chat users.resetE2EKey conformance"))


def _cli(config: pytest.Config) -> dict[str, Any]:
    return values(config.option, prefix="rcc_")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    settings = config.stash.get(SETTINGS_KEY, None)  # handed over by `rc-conformance run` (cli.Handoff)
    if settings is None:
        try:
            settings = load_settings(_cli(config))
        except ConfigError as exc:
            raise pytest.UsageError(f"conformance configuration: {exc}") from None
    if settings.seed is None:  # a seed in every report, so any run can be replayed
        settings = dataclasses.replace(settings, seed=random.SystemRandom().randrange(2**32))
    config.stash[SETTINGS_KEY] = settings
    from .spec import spec_sha256

    run = run_info_for(settings)
    run.spec_sha256 = spec_sha256()
    config.stash[RUN_KEY] = run
    if settings.declare_2fa_off:
        run.notices.append(
            f"2FA declared off by the user ({DECLARED_2FA_OFF}): the TFA-* requirements were NOT judged, "
            f"and this verdict says nothing about the endpoint's second factor")
    config._rcc_started = time.monotonic()  # type: ignore[attr-defined]
    # SIGINT/SIGTERM become ONE KeyboardInterrupt, so pytest unwinds through the fixture finalizers
    # (user cleanup, permission restore) and writes the partial report; further signals cannot cut that short.
    config._rcc_prev_signals = install_interrupt_handlers()  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
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
    known = by_id()
    for item in items:
        for mark in item.iter_markers("requirement"):
            if not mark.args:
                raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.requirement needs at least one ID")
            unknown = [i for i in mark.args if i not in known]
            if unknown:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement ID(s) {', '.join(map(str, unknown))} "
                                        f"(not in openapi/requirements.yaml)")
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
    raise_if_interrupted()  # an interrupt whose KeyboardInterrupt was swallowed still stops the run here
    left = time_left(item.config)
    if left is not None and left < 0:
        deadline = item.config.stash[SETTINGS_KEY].deadline
        raise HarnessError(f"run deadline of {deadline:g} s reached before this test started")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    client = item.config.stash.get(CLIENT_KEY, None)
    before = client.rate_limited if client is not None else 0
    try:
        return (yield)
    finally:
        client = item.config.stash.get(CLIENT_KEY, None)
        if client is not None and RATE_ID not in requirement_ids(item):
            item.config.stash[RUN_KEY].rate_limited_answers += client.rate_limited - before


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is not None:
        run.finished = datetime.now(timezone.utc).isoformat(timespec="seconds")


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def rcc_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config, rcc_settings: Settings) -> Iterator[Target]:
    run = pytestconfig.stash[RUN_KEY]
    try:
        tgt, client = open_target(rcc_settings)
    except HarnessError as exc:
        run.harness_error = str(exc)
        raise
    pytestconfig.stash[TARGET_KEY] = tgt
    pytestconfig.stash[CLIENT_KEY] = client
    left = time_left(pytestconfig)
    client.deadline = None if left is None else time.monotonic() + left
    client.notify = lambda line: notify(pytestconfig, line)
    run.target_url, run.embedded, run.server_version = tgt.url, tgt.embedded, tgt.server_version
    if not tgt.embedded:  # the embedded server's profile is the one it was started with
        run.profile, run.profile_note = tgt.release.profile, tgt.release.note
    try:
        yield tgt
    finally:
        client.close()
        stop(tgt)


@pytest.fixture
def rcc_release_gate(request: pytest.FixtureRequest, target: Target) -> None:
    """Skip a suite test whose requirements do not apply to the target's release line: not judged, with why."""
    catalogue = by_id()
    reqs = [catalogue[i] for i in requirement_ids(request.node) if i in catalogue]
    if not reqs or any(r.applies_to(target.release) for r in reqs):
        return
    where = ", ".join(f"{r.id} applies to releases {r.releases}" for r in reqs)
    pytest.skip(f"not judged on this release ({target.release.version or 'version unknown'}, "
                f"profile {target.release.profile}.x): {where}")


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config, target: Target) -> Client:
    return pytestconfig.stash[CLIENT_KEY]


@pytest.fixture(scope="session")
def provisioner(pytestconfig: pytest.Config, target: Target, client: Client) -> Iterator[Provisioner]:
    prov = Provisioner(client, admin_user=target.admin_user, admin_password=target.admin_password,
                       admin_totp_secret=target.admin_totp_secret,
                       allow_config_changes=target.allow_config_changes,
                       admin_user_id=target.admin_user_id, admin_token=target.admin_token)
    if not target.embedded:  # a crash record, so `rc-conformance cleanup` can finish what a kill -9 left
        prov.journal = RunState.start(target.url, prov.prefix)
    pytestconfig.stash[PROVISIONER_KEY] = prov
    try:
        yield prov
    finally:
        prov.cleanup()  # raises ProvisioningError listing every failure: reported as an error
        if prov.journal is not None and prov.journal.clean:
            prov.journal.finish()


@pytest.fixture(scope="session")
def privileged(provisioner: Provisioner, totp_on: bool) -> Actor:
    """A created user with role admin (holds edit-other-user-e2ee), TOTP on (where the server has it) and E2E keys."""
    return provisioner.create_user("admin", totp=totp_on, keys=True)


@pytest.fixture(scope="session")
def unprivileged(provisioner: Provisioner, totp_on: bool) -> Actor:
    """A created user with role user (lacks edit-other-user-e2ee and the rate-limit bypass), TOTP where possible."""
    return provisioner.create_user("user", totp=totp_on, keys=False, login_now=True)


@pytest.fixture
def make_user(provisioner: Provisioner) -> Iterator[Callable[..., Actor]]:
    """Factory for disposable users, deleted after the test (and swept by prefix at session end)."""
    made: list[Actor] = []

    def make(role: str = "user", totp: bool = False, keys: bool = True, verified: bool | None = None,
             login: bool | None = None) -> Actor:
        actor = provisioner.create_user(role, totp=totp, keys=keys, verified=verified, login_now=login)
        made.append(actor)
        return actor

    yield make
    failures = []
    for actor in made:
        try:
            provisioner.delete_user(actor)
        except HarnessError as exc:
            failures.append(str(exc))
    if failures:
        raise ProvisioningError("; ".join(failures))


@pytest.fixture(scope="session")
def two_factor_setting(pytestconfig: pytest.Config, provisioner: Provisioner, target: Target) -> bool | None:
    """Accounts_TwoFactorAuthentication_Enabled as the admin reads it: a fact, never a guess from answers.

    None when it cannot be read (no permission, an older server): the TFA tests then judge as if on.
    """
    value = provisioner.read_setting(TWO_FACTOR_SETTING)
    state = value if isinstance(value, bool) else None
    target.two_factor = state
    pytestconfig.stash[RUN_KEY].probe["two_factor_setting"] = {True: "on", False: "off", None: "unreadable"}[state]
    return state


@pytest.fixture(scope="session")
def registration_grace(pytestconfig: pytest.Config, provisioner: Provisioner, target: Target) -> int:
    """Seconds of the 8.6+ registration grace (Accounts_TwoFactorAuthentication_RememberFor); 0 before 8.6.

    Unreadable → Rocket.Chat's default, 1800 s (said in the report's probe).
    """
    if not target.release.at_least(8, 6):
        return 0
    value = provisioner.read_setting(GRACE_SETTING)
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        seconds, value = DEFAULT_GRACE_S, f"unreadable, assumed {DEFAULT_GRACE_S}"
    pytestconfig.stash[RUN_KEY].probe["registration_grace_s"] = value
    return seconds


@pytest.fixture(scope="session")
def totp_on(provisioner: Provisioner) -> bool:
    """Whether callers can have TOTP: only a setting read as false says no (callers then use the password fallback)."""
    return provisioner.read_setting(TOTP_SETTING) is not False


@pytest.fixture(scope="session")
def two_factor(rcc_settings: Settings, two_factor_setting: bool | None) -> bool | None:
    """Whether the suite may expect 2FA: False when declared or switched off, None when unreadable."""
    return False if rcc_settings.declare_2fa_off else two_factor_setting


@pytest.fixture
def two_factor_enforced(rcc_settings: Settings, two_factor_setting: bool | None, totp_on: bool) -> None:
    """TFA-* judge only where 2FA is on; switched off, they are not judged — and the run cannot pass unless declared."""
    if rcc_settings.declare_2fa_off:
        pytest.skip(f"not judged: 2FA declared off for this target ({DECLARED_2FA_OFF})")
    if two_factor_setting is False:
        raise HarnessError(f"not judged: 2FA is switched off on the target ({TWO_FACTOR_SETTING} is false); "
                           f"switch it on, or declare it with --declare-2fa-off to judge the rest")
    if not totp_on:
        raise HarnessError(f"not judged: the TOTP method is switched off on the target ({TOTP_SETTING} is false); "
                           f"switch it on, or declare 2FA off with --declare-2fa-off to judge the rest")


@pytest.fixture
def config_changes_allowed(target: Target) -> None:
    if not target.allow_config_changes:
        pytest.skip("changes server permissions: enable allow_config_changes (--allow-config-changes) "
                    "on a server you own")


@pytest.fixture
def rate_limit_probe_allowed(target: Target) -> None:
    if not target.allow_rate_limit_probe:
        pytest.skip("exhausts the rate-limit window of this client IP: enable allow_rate_limit_probe "
                    "(--allow-rate-limit-probe)")

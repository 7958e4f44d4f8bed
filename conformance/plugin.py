"""The pytest plugin of the suite: options, settings, fixtures, requirement markers, ordering, cleanup."""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pytest

from . import __version__
from .actors import Actor
from .catalogue import by_id
from .cleanup import install_interrupt_handlers, raise_if_interrupted, restore_handlers
from .client import Client
from .config import Settings, load_settings
from .errors import ConfigError, HarnessError, ProvisioningError
from .provisioning import Provisioner
from .results import RunInfo
from .state import RunState
from .stash import CLIENT_KEY, PROVISIONER_KEY, RUN_KEY, SETTINGS_KEY, TARGET_KEY
from .targets import Target, open_target, probe_two_factor, stop

pytest_plugins = ("conformance.collect",)

RATE_ID = "RATE-01"
# (option, dest, Settings field, kwargs); "strict" reuses pytest's own --strict flag (pytest >= 9 owns it).
_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--target-url", "url", {"metavar": "URL", "help": "Rocket.Chat base URL (default: embedded reference server)"}),
    ("--admin-user", "admin_user", {"metavar": "NAME", "help": "admin username on the target (env RCC_ADMIN_USER)"}),
    ("--admin-password", "admin_password", {"metavar": "PW", "help": "prefer env RCC_ADMIN_PASSWORD: command lines are visible to other users"}),
    ("--admin-totp-secret", "admin_totp_secret", {"metavar": "B32", "help": "prefer env RCC_ADMIN_TOTP_SECRET"}),
    ("--ca-bundle", "ca_bundle", {"metavar": "PATH", "help": "CA bundle to verify the target's TLS certificate"}),
    ("--insecure", "insecure", {"action": "store_true", "default": None, "help": "do not verify TLS certificates"}),
    ("--timeout", "timeout", {"metavar": "S", "help": "per-request timeout in seconds (default 10)"}),
    ("--deadline", "deadline", {"metavar": "S", "help": "overall time budget of the run in seconds"}),
    ("--allow-config-changes", "allow_config_changes", {"action": "store_true", "default": None,
                                                        "help": "allow temporary permission changes (always on for the embedded server)"}),
    ("--allow-rate-limit-probe", "allow_rate_limit_probe", {"action": "store_true", "default": None,
                                                            "help": "allow RATE-01 to exhaust the rate-limit window"}),
    ("--examples", "examples", {"metavar": "N", "help": "property-test examples (default 50)"}),
    ("--seed", "seed", {"metavar": "N", "help": "property-test seed"}),
    ("--report-dir", "report_dir", {"metavar": "DIR", "help": "write report.json/.md/.html and junit.xml here"}),
    ("--expectations", "expectations", {"metavar": "PATH", "help": "known deviations (xfail) file"}),
    ("--requirement", "requirements", {"action": "append", "metavar": "ID", "default": None,
                                       "help": "run only tests verifying this requirement ID (repeatable)"}),
    ("--refserver-profile", "refserver_profile", {"metavar": "7|6", "help": "release profile of the embedded server"}),
    ("--refserver-mutant", "refserver_mutant", {"metavar": "NAME", "help": "run the embedded server as this mutant"}),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rc-conformance", "Rocket.Chat users.resetE2EKey conformance")
    group.addoption("--config", dest="rcc_config", metavar="PATH",
                    help="conformance TOML file (default ./conformance.toml)")
    for flag, name, kwargs in _OPTIONS:
        group.addoption(flag, dest=f"rcc_{name}", **kwargs)


def _cli(config: pytest.Config) -> dict[str, Any]:
    cli = {name: config.getoption(f"rcc_{name}") for _, name, _ in _OPTIONS if name != "insecure"}
    cli["verify_tls"] = False if config.getoption("rcc_insecure") else None
    cli["strict"] = True if config.getoption("strict", default=False) else None
    return cli


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = load_settings(_cli(config), config_path=config.getoption("rcc_config"))
    except ConfigError as exc:
        raise pytest.UsageError(f"conformance configuration: {exc}") from None
    config.stash[SETTINGS_KEY] = settings
    from .spec import spec_sha256

    config.stash[RUN_KEY] = RunInfo(
        target_url=settings.url or "embedded reference server", embedded=settings.embedded, server_version=None,
        suite_version=__version__, spec_sha256=spec_sha256(), seed=settings.seed,
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"), strict=settings.strict)
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
    run.target_url, run.embedded, run.server_version = tgt.url, tgt.embedded, tgt.server_version
    try:
        yield tgt
    finally:
        client.close()
        stop(tgt)


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config, target: Target) -> Client:
    return pytestconfig.stash[CLIENT_KEY]


@pytest.fixture(scope="session")
def provisioner(pytestconfig: pytest.Config, target: Target, client: Client) -> Iterator[Provisioner]:
    prov = Provisioner(client, admin_user=target.admin_user, admin_password=target.admin_password,
                       admin_totp_secret=target.admin_totp_secret,
                       allow_config_changes=target.allow_config_changes)
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
def privileged(pytestconfig: pytest.Config, provisioner: Provisioner, target: Target, client: Client) -> Actor:
    """A created user with role admin (holds edit-other-user-e2ee), TOTP on and E2E keys set."""
    actor = provisioner.create_user("admin", totp=True, keys=True)
    # Probe 2FA now, before this actor ever sends a code: a server with "remember me" would
    # otherwise let the probe through and pass for a server without 2FA.
    target.two_factor = probe_two_factor(client, actor)
    pytestconfig.stash[RUN_KEY].probe["two_factor"] = {True: "on", False: "off", None: "unknown"}[target.two_factor]
    return actor


@pytest.fixture(scope="session")
def unprivileged(provisioner: Provisioner) -> Actor:
    """A created user with role user (lacks edit-other-user-e2ee and the rate-limit bypass), TOTP on."""
    return provisioner.create_user("user", totp=True, keys=False)


@pytest.fixture
def make_user(provisioner: Provisioner) -> Iterator[Callable[..., Actor]]:
    """Factory for disposable users, deleted after the test (and swept by prefix at session end)."""
    made: list[Actor] = []

    def make(role: str = "user", totp: bool = False, keys: bool = True, verified: bool = True,
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
def two_factor(target: Target, privileged: Actor) -> bool | None:
    """Whether the target enforces 2FA on the endpoint (probed once, when `privileged` is created)."""
    return target.two_factor


@pytest.fixture
def two_factor_enforced(target: Target, two_factor: bool | None) -> None:
    """Skip when a live target positively does not enforce 2FA (the embedded server always runs the tests)."""
    if two_factor is False and not target.embedded:
        pytest.skip("2FA is not enforced on this target (TEST_MODE or Accounts_TwoFactorAuthentication_Enabled "
                    "off): a privileged call without a code got error-invalid-user instead of totp-required")


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

"""The suite's fixtures (target, client, provisioner, users, 2FA facts): registered only when the plugin is active."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from rc_e2e_conformance.contract.catalogue import by_id
from rc_e2e_conformance.contract.config import Settings
from rc_e2e_conformance.contract.errors import HarnessError
from rc_e2e_conformance.server.actors import Actor
from rc_e2e_conformance.server.client import Client
from rc_e2e_conformance.server.provisioning import Provisioner
from rc_e2e_conformance.server.state import RunState
from rc_e2e_conformance.server.targets import Target, open_target, stop

from .plugin import DECLARED_2FA_OFF, notify, requirement_ids, time_left
from .stash import CLIENT_KEY, PROVISIONER_KEY, RUN_KEY, SETTINGS_KEY, TARGET_KEY

if TYPE_CHECKING:  # a plugin module of its own (ACTIVE_PLUGINS): imported by pytest, so it is assertion-rewritten
    from rc_e2e_conformance.server.inflight import InFlight

TWO_FACTOR_SETTING = "Accounts_TwoFactorAuthentication_Enabled"
GRACE_SETTING = "Accounts_TwoFactorAuthentication_RememberFor"
TOTP_SETTING = "Accounts_TwoFactorAuthentication_By_TOTP_Enabled"
DEFAULT_GRACE_S = 1800


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


#: The session's users, by fixture name: role, TOTP (where the server has it), E2E keys, a session.
#: A session a broken server ends is renewed before the actor's next call (server/actors.py).
SESSION_USERS = {
    # holds edit-other-user-e2ee; PERM-02 names it: a refused call must leave its keys
    "privileged": ("admin", True, True, True),
    # lacks edit-other-user-e2ee and the rate-limit bypass
    "unprivileged": ("user", True, False, True),
    # exempt from the rate limiter; its second factor is the password fallback (no TOTP, address unverified)
    "fallback_caller": ("admin", False, False, True),
    # the target that is only ever named: no keys, no session, so resetting it again and again changes
    # nothing the next test could notice
    "victim": ("user", False, False, False),
}


class Cast:
    """The session's users: those the selected tests use are created at once on the run's bounded pool
    (at most four requests in flight), any other on first use."""

    def __init__(self, provisioner: Provisioner, inflight: InFlight, totp_on: bool, wanted: set[str]) -> None:
        self._provisioner, self._inflight, self._totp_on = provisioner, inflight, totp_on
        self._made = {name: inflight.submit(self._create, name) for name in SESSION_USERS if name in wanted}

    def _create(self, name: str) -> Actor:
        role, totp, keys, session = SESSION_USERS[name]
        actor = self._provisioner.create_user(role, totp=totp and self._totp_on, keys=keys)
        if session and not actor.token:
            actor.relogin()
        return actor

    def __getitem__(self, name: str) -> Actor:
        if name not in self._made:
            self._made[name] = self._inflight.submit(self._create, name)
        return self._inflight.wait(self._made[name])


@pytest.fixture(scope="session")
def rcc_cast(request: pytest.FixtureRequest, provisioner: Provisioner, rcc_inflight: InFlight,
             totp_on: bool) -> Cast:
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    if "answer" in wanted:  # the `answered_ahead` scenarios act as these two
        wanted |= {"privileged", "unprivileged"}
    return Cast(provisioner, rcc_inflight, totp_on, wanted)


@pytest.fixture(scope="session")
def privileged(rcc_cast: Cast) -> Actor:
    return rcc_cast["privileged"]


@pytest.fixture(scope="session")
def unprivileged(rcc_cast: Cast) -> Actor:
    return rcc_cast["unprivileged"]


@pytest.fixture(scope="session")
def fallback_caller(rcc_cast: Cast) -> Actor:
    return rcc_cast["fallback_caller"]


@pytest.fixture(scope="session")
def victim(rcc_cast: Cast) -> Actor:
    return rcc_cast["victim"]


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


@pytest.fixture(scope="session")
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

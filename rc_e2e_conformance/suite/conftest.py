"""Activates the conformance plugin for the suite, plus small fixtures shared by the test modules."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from rc_e2e_conformance.properties import schema
from rc_e2e_conformance.pytest_plugin.plugin import PLUGIN, activate
from rc_e2e_conformance.pytest_plugin.stash import SETTINGS_KEY
from rc_e2e_conformance.server.actors import Actor
from rc_e2e_conformance.server.provisioning import Provisioner


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """The suite is collected: the plugin becomes active; then the property run's N and seed (schemathesis
    reads them when it collects the exploring test)."""
    if not config.pluginmanager.has_plugin(PLUGIN):  # plugin autoload switched off, and no -p
        raise pytest.UsageError(f"rc-conformance: the suite needs its pytest plugin: add -p {PLUGIN}")
    activate(config)
    settings = config.stash[SETTINGS_KEY]
    schema.configure(settings.examples, settings.seed, timeout=settings.timeout,
                     tls_verify=settings.tls_verify)


@pytest.fixture
def nobody(provisioner: Provisioner) -> str:
    """A userId/username that cannot exist: this run's prefix is unique and "nobody" is never created."""
    return f"{provisioner.prefix}nobody"


@pytest.fixture
def victim(make_user: Callable[..., Actor]) -> Actor:
    """A disposable target without a session or keys (cheapest possible user)."""
    return make_user("user", keys=False)


@pytest.fixture
def throwaway_admin(make_user: Callable[..., Actor]) -> Actor:
    """A disposable admin-role caller (exempt from the rate limiter) using the 2FA password fallback.

    Used where a broken server could spoil the caller (log it out, reset it) so the session's
    `privileged` caller stays usable for the other tests.
    """
    return make_user("admin", keys=False, verified=False, login=True)


@pytest.fixture(autouse=True)
def _judged_on_this_release(rcc_release_gate: None) -> None:
    """Every suite test is skipped, with the reason, where its requirements do not apply to the target's release."""

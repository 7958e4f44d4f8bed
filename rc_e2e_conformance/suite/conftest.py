"""Activates the conformance plugin for the suite, plus small fixtures shared by the test modules."""
from __future__ import annotations

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


@pytest.fixture(scope="session")
def nobody(provisioner: Provisioner) -> str:
    """A userId/username that cannot exist: this run's prefix is unique and "nobody" is never created."""
    return f"{provisioner.prefix}nobody"


@pytest.fixture(scope="session")
def victim(provisioner: Provisioner) -> Actor:
    """The session's target that is only ever named: no keys, no session, so resetting it again and again
    changes nothing the next test could notice."""
    return provisioner.create_user("user", keys=False)


@pytest.fixture(scope="session")
def fallback_caller(provisioner: Provisioner) -> Actor:
    """An admin-role caller (exempt from the rate limiter) whose second factor is the password fallback.

    A broken server may end its session (a blank userId taken for a self-reset, a logged-out caller):
    it then logs in again before its next call (server/actors.py), so the next test still has a caller.
    """
    return provisioner.create_user("admin", keys=False)


@pytest.fixture(autouse=True)
def _judged_on_this_release(rcc_release_gate: None) -> None:
    """Every suite test is skipped, with the reason, where its requirements do not apply to the target's release."""

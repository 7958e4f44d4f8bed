"""Wires the conformance plugin into the suite, plus small fixtures shared by the test modules."""
from __future__ import annotations

from typing import Callable

import pytest

from conformance.actors import Actor
from conformance.properties import schema
from conformance.provisioning import Provisioner
from conformance.stash import SETTINGS_KEY

pytest_plugins = ("conformance.plugin", "conformance.inflight")


@pytest.hookimpl(trylast=True)  # after conformance.plugin has built the settings
def pytest_configure(config: pytest.Config) -> None:
    """The property run's N and seed: schemathesis reads them when it collects the exploring test."""
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

"""Activates the conformance plugin for the suite, plus small fixtures shared by the test modules."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rc_e2e_conformance.contract.config import Settings
from rc_e2e_conformance.contract.errors import HarnessError
from rc_e2e_conformance.properties import Exploration, schema
from rc_e2e_conformance.properties.schema import property_schema
from rc_e2e_conformance.pytest_plugin.plugin import PLUGIN, activate
from rc_e2e_conformance.pytest_plugin.stash import RUN_KEY, SETTINGS_KEY
from rc_e2e_conformance.server.inflight import InFlight
from rc_e2e_conformance.server.provisioning import Provisioner
from rc_e2e_conformance.server.targets import Target


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


@pytest.fixture(autouse=True)
def _judged_on_this_release(rcc_release_gate: None) -> None:
    """Every suite test is skipped, with the reason, where its requirements do not apply to the target's release."""


# -- the property run (test_properties.py sends, test_verdicts_of_generated_requests.py judges) --
@pytest.fixture(scope="session")
def property_run(request: pytest.FixtureRequest, rcc_settings: Settings, target: Target, provisioner: Provisioner,
                 rcc_inflight: InFlight, two_factor: bool | None, totp_on: bool) -> Iterator[Exploration]:
    """Two dedicated admin callers with TOTP, three users requests may name, a bystander nobody names.

    2FA is the session's probe (the `two_factor` fixture): not probed again here.
    """
    run = Exploration.provision(rcc_settings, target.url, target.release, provisioner, rcc_inflight,
                                two_factor, property_schema().config.seed, totp=totp_on)
    try:
        yield run
    finally:
        try:
            if run.ledger.started:  # the judging tests were deselected: still record the stats
                _finish(request.config, run)
        finally:
            run.cleanup()


def _finish(config: pytest.Config, run: Exploration) -> None:
    """Once: wait for the cases on the pool, check the bystanders, record the stats."""
    if run.ledger.finished:
        return
    run_info = config.stash.get(RUN_KEY, None)
    run.finish(run_info.properties if run_info is not None else None)
    if run_info is not None and run_info.seed is None:
        run_info.seed = run.ledger.seed


@pytest.fixture
def exploration(property_run: Exploration) -> Iterator[Exploration]:
    """Around the exploring test: the hand-picked cases first, then harness errors seen while sending
    surface as this test's error (everything else is judged by the four verdict tests)."""
    property_run.ledger.started = True
    property_run.send_explicit()
    yield property_run
    if property_run.ledger.harness_error:
        raise HarnessError(property_run.ledger.harness_error)


@pytest.fixture
def ledger(request: pytest.FixtureRequest, property_run: Exploration) -> Any:
    led = property_run.ledger
    if led.started:
        _finish(request.config, property_run)
    if not led.finished:
        raise HarnessError("the exploring test test_generated_requests did not run in this process "
                           "(deselected?): nothing to judge")
    if led.harness_error:
        raise HarnessError(f"the property run could not judge: {led.harness_error}")
    if led.generated == 0:  # the hand-picked cases alone do not make a property run
        raise HarnessError("the property run sent no generated case: nothing to judge")
    return led

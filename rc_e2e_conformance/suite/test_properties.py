"""Property-based tests: schemathesis generates requests (valid and invalid), each answer is judged per SCHEMA-ID.

One exploring test sends the generated cases once (schemathesis' examples, coverage and fuzzing
phases, through its public `schema.parametrize()`), plus hand-picked raw-body and header cases; every
failed check is filed in a ledger under the one requirement it belongs to (see
conformance/properties/checks.py), and one small test per SCHEMA-ID then asserts its part. So a
failure fails exactly its requirement, and the cases are generated once. Run the module as a whole
(with pytest-xdist use `--dist loadfile`): the four judging tests read the ledger the exploring
test fills, so they come after it in the module.

The schema is loaded from the repository's spec; N and the seed are set before collection
(suite/conftest.py), the target's URL at run time.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rc_e2e_conformance.contract.config import Settings
from rc_e2e_conformance.contract.errors import HarnessError
from rc_e2e_conformance.properties import Exploration
from rc_e2e_conformance.properties.schema import property_schema
from rc_e2e_conformance.pytest_plugin.stash import RUN_KEY
from rc_e2e_conformance.server import evidence
from rc_e2e_conformance.server.inflight import InFlight
from rc_e2e_conformance.server.provisioning import Provisioner
from rc_e2e_conformance.server.targets import Target


@pytest.fixture(scope="session")
def property_run(request: pytest.FixtureRequest, rcc_settings: Settings, target: Target, provisioner: Provisioner,
                 rcc_inflight: InFlight, two_factor: bool | None, totp_on: bool) -> Iterator[Exploration]:
    """A dedicated admin caller with TOTP, three users requests may name, two bystanders nobody names.

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
    surface as this test's error (everything else is judged by the four tests below)."""
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
                           "(deselected, or split by xdist: use --dist loadfile): nothing to judge")
    if led.harness_error:
        raise HarnessError(f"the property run could not judge: {led.harness_error}")
    if led.generated == 0:  # the hand-picked cases alone do not make a property run
        raise HarnessError("the property run sent no generated case: nothing to judge")
    return led


def _assert_clean(ledger: Any, requirement: str) -> None:
    for finding, _ in ledger.representatives(requirement):
        evidence.record(finding.evidence())
    if ledger.failures(requirement):
        # Raised directly (not `assert x, msg`): pytest's introspection would repeat the whole ledger.
        raise AssertionError(ledger.message(requirement))


@property_schema().parametrize()
@pytest.mark.requirement("SCHEMA-01", "SCHEMA-02", "SCHEMA-03", "SCHEMA-04")
def test_generated_requests(case: Any, exploration: Exploration) -> None:
    """Generated requests, valid and invalid, are sent once as a dedicated admin; each answer is judged."""
    exploration.run_case(case)


@pytest.mark.requirement("SCHEMA-01")
def test_generated_answers_match_the_spec(ledger: Any) -> None:
    """For any generated request the status is declared by the spec and the body, headers and media type match it."""
    _assert_clean(ledger, "SCHEMA-01")


@pytest.mark.requirement("SCHEMA-02")
def test_generated_requests_get_no_server_error(ledger: Any) -> None:
    """No generated request (malformed JSON, wrong types, odd content types, huge or unicode values) gets a 5xx."""
    _assert_clean(ledger, "SCHEMA-02")


@pytest.mark.requirement("SCHEMA-03")
def test_generated_error_bodies_are_well_formed(ledger: Any) -> None:
    """Every error body has success false and a string error ending with [errorType] when errorType is present."""
    _assert_clean(ledger, "SCHEMA-03")


@pytest.mark.requirement("SCHEMA-04")
def test_generated_requests_touch_only_named_users(ledger: Any) -> None:
    """No generated request changes a user it does not name; none gets 200 unless it named an existing user or none."""
    print(f"property run: {ledger.cases} requests ({ledger.duplicates} generated cases were requests already sent), "
          f"answers by status: {ledger.status_summary()}")
    for note in ledger.notes:
        print(f"note (SHOULD level, not a failure): {note}")
    _assert_clean(ledger, "SCHEMA-04")

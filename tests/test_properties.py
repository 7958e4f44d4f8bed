"""Property-based tests: schemathesis generates requests (valid and invalid), each answer is judged per SCHEMA-ID.

One exploring test sends the generated cases once; every failed check is filed in a ledger under the
one requirement it belongs to (see conformance/properties/checks.py), and one small test per SCHEMA-ID
then asserts its part. So a failure fails exactly its requirement, and the cases are generated once.
Run the module as a whole (with pytest-xdist use `--dist loadfile`): the four tests read the ledger
the exploring test fills.

schemathesis' three phases are split over two processes: the exploring test sends the examples and
coverage cases, and a child process started right after collection (conformance/properties/shard.py)
sends the N fuzzing cases at the same time, on the other core, with its own caller and the same seed.
The ledger merges the child's findings before anything is judged.

The exploring test runs first in the session and the four judging tests last (before RATE-01; see
tests/conftest.py): cases sent without the caller's session go out from worker threads, and up to
6.x each of their 401s is delayed 0.5-1 s; the other tests run meanwhile, the ledger waits for them
and for the child.
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest
import schemathesis

from conformance import evidence
from conformance.ahead import start_early
from conformance.client import Client
from conformance.config import Settings
from conformance.errors import HarnessError
from conformance.properties import Exploration, shard
from conformance.plugin import time_left
from conformance.provisioning import Provisioner
from conformance.stash import RUN_KEY
from conformance.targets import Target

EXPLORING_TEST = "test_generated_requests"  # as in conftest.py


@pytest.fixture(scope="session")
def property_run(request: pytest.FixtureRequest, rcc_settings: Settings, target: Target, client: Client,
                 provisioner: Provisioner) -> Iterator[Exploration]:
    """A dedicated admin caller with TOTP, three users requests may name, two bystanders nobody names.

    When the exploring test is selected, the fuzzing phase runs in a child process (its own caller,
    the same pool) while this process sends the examples and coverage cases and the other tests.
    """
    exploring = any(getattr(item, "originalname", item.name) == EXPLORING_TEST for item in request.session.items)
    run = Exploration.provision(rcc_settings, target, client, provisioner,
                                shard=shard.take() if exploring else None)
    try:
        yield run
    finally:
        try:
            if run.ledger.started:  # the judging tests were deselected: still record the stats
                _finish(request.config, run)
        finally:
            run.cleanup()


@pytest.fixture(scope="session")
def property_schema(property_run: Exploration) -> Any:
    return property_run.build_schema()


def _finish(config: pytest.Config, run: Exploration) -> None:
    """Once: wait for the deferred cases, check the bystanders, record the stats."""
    if run.ledger.finished:
        return
    run_info = config.stash.get(RUN_KEY, None)
    run.finish(run_info.properties if run_info is not None else None, wait=_wait_for_child(config))
    if run_info is not None and run_info.seed is None:
        run_info.seed = run.ledger.seed


def _wait_for_child(config: pytest.Config) -> float | None:
    left = time_left(config)
    return None if left is None else max(left, 0.0)


@pytest.fixture
def exploration(request: pytest.FixtureRequest, property_run: Exploration) -> Iterator[Exploration]:
    """Around the exploring test: surface harness errors seen while sending (the rest is judged later).

    The hand-written tests' delayed answers (conformance/ahead.py) are fetched meanwhile.
    """
    start_early(request)
    property_run.ledger.started = True
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
    if led.cases == 0:
        raise HarnessError("the property run sent no generated case: nothing to judge")
    return led


def _assert_clean(ledger: Any, requirement: str) -> None:
    for finding, _ in ledger.representatives(requirement):
        evidence.record(finding.evidence())
    if ledger.failures(requirement):
        # Raised directly (not `assert x, msg`): pytest's introspection would repeat the whole ledger.
        raise AssertionError(ledger.message(requirement))


schema = schemathesis.pytest.from_fixture("property_schema")


@schema.parametrize()
@pytest.mark.requirement("SCHEMA-01", "SCHEMA-02", "SCHEMA-03", "SCHEMA-04")
def test_generated_requests(case: Any, exploration: Exploration) -> None:
    """Generated requests, valid and invalid, are sent once as a dedicated admin; every answer is judged and filed per requirement."""
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
def test_generated_requests_touch_only_named_users(ledger: Any, property_run: Exploration) -> None:
    """No generated request changes a user it does not name, and none gets 200 unless it named an existing user or none."""
    print(f"property run: {ledger.cases} requests, answers by status: {ledger.status_summary()}")
    if property_run.shard_cases is not None:
        print(f"property run: {property_run.shard_cases} of them fuzzing cases, sent by a second process "
              f"in {property_run.shard_seconds:.2f} s")
    for note in ledger.notes:
        print(f"note (SHOULD level, not a failure): {note}")
    _assert_clean(ledger, "SCHEMA-04")

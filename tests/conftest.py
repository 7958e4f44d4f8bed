"""Wires the conformance plugin into the suite, plus small fixtures shared by the test modules."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from conformance.actors import Actor
from conformance.properties import shard
from conformance.provisioning import Provisioner

pytest_plugins = ("conformance.plugin", "conformance.ahead")

EXPLORING_TEST = "test_generated_requests"
SUITE_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The property exploration first, its judging tests (they read its ledger) last.

    Its unauthenticated cases are answered from worker threads (delayed 0.5-1 s each up to 6.x):
    the hand-written tests run meanwhile. The plugin then moves RATE-01 after everything.
    """
    def rank(item: pytest.Item) -> int:
        if SUITE_DIR not in Path(item.path).resolve().parents:
            return -1  # not the suite (the project's selftests in a root `pytest` run): first, in their order
        if getattr(item, "originalname", item.name) == EXPLORING_TEST:
            return 0
        return 2 if "ledger" in getattr(item, "fixturenames", ()) else 1

    items.sort(key=rank)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the fuzzing child now when the exploring test will run: this process has no thread yet,
    so the child is a fork of it, ready at once (conformance/properties/shard.py)."""
    if any(getattr(item, "originalname", item.name) == EXPLORING_TEST for item in session.items):
        shard.prestart()


def pytest_sessionfinish(session: pytest.Session) -> None:
    shard.discard()  # a child nobody took (the run stopped before the property run started)


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

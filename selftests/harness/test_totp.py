"""TOTP helper: no code sits too near a step edge; previous/next/stale/wrong/malformed codes are right."""
from __future__ import annotations

import hashlib

import pyotp
import pytest

from rc_e2e_conformance.server.totp import STEP, Totp, password_code

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, like Rocket.Chat's


class FakeClock:
    """An injected clock: `sleep` advances it instead of waiting."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _totp(now: float) -> tuple[Totp, FakeClock]:
    clock = FakeClock(now)
    return Totp(SECRET, clock=clock, sleep=clock.sleep), clock


def test_fresh_code_mid_step_does_not_wait():
    base = 1_700_000_040.0 - (1_700_000_040.0 % STEP) + 10  # 10 s into a step
    totp, clock = _totp(base)
    assert totp.fresh() == pyotp.TOTP(SECRET).at(int(base))
    assert clock.slept == []


@pytest.mark.parametrize("remaining", [2.9, 1.0, 0.49, 0.01])
def test_fresh_code_at_step_end_waits_for_next_step(remaining):
    step_start = 1_700_000_040.0 - (1_700_000_040.0 % STEP)
    totp, clock = _totp(step_start + STEP - remaining)
    code = totp.fresh()
    assert len(clock.slept) == 1 and remaining < clock.slept[0] < remaining + 0.5
    assert code == pyotp.TOTP(SECRET).at(int(step_start + STEP))  # the next step's code


@pytest.mark.parametrize("remaining", [10.0, 3.0])
def test_fresh_code_with_enough_time_left_does_not_wait(remaining):
    """With 3 s or more left in the step, the current code is used at once."""
    step_start = 1_700_000_040.0 - (1_700_000_040.0 % STEP)
    totp, clock = _totp(step_start + STEP - remaining)
    assert totp.fresh() == pyotp.TOTP(SECRET).at(int(step_start))
    assert clock.slept == []


@pytest.mark.parametrize("steps", [-1, +1])
@pytest.mark.parametrize("remaining", [2.9, 1.0, 0.01])
def test_off_step_code_near_step_end_waits_for_next_step(remaining, steps):
    step_start = 1_700_000_040.0 - (1_700_000_040.0 % STEP)
    totp, clock = _totp(step_start + STEP - remaining)
    code = totp.at(steps)
    assert len(clock.slept) == 1 and remaining < clock.slept[0] < remaining + 0.5
    assert code == pyotp.TOTP(SECRET).at(int(step_start + STEP + steps * STEP))


def test_off_step_code_with_exactly_enough_time_left_does_not_wait():
    step_start = 1_700_000_040.0 - (1_700_000_040.0 % STEP)
    totp, clock = _totp(step_start + STEP - 3.0)
    totp.previous()
    assert clock.slept == []


@pytest.mark.parametrize("remaining", [2.9, 0.01])
def test_stale_and_wrong_codes_never_wait(remaining):
    step_start = 1_700_000_040.0 - (1_700_000_040.0 % STEP)
    totp, clock = _totp(step_start + STEP - remaining)
    totp.stale(3)
    totp.wrong()
    assert clock.slept == []


def test_previous_and_next_are_neighbouring_steps():
    now = 1_700_000_055.0
    totp, _ = _totp(now)
    ref = pyotp.TOTP(SECRET)
    assert totp.previous() == ref.at(int(now) - STEP)
    assert totp.next() == ref.at(int(now) + STEP)


def test_stale_code_is_old_and_outside_the_window():
    now = 1_700_000_055.0
    totp, _ = _totp(now)
    stale = totp.stale(3)
    ref = pyotp.TOTP(SECRET)
    assert stale not in {ref.at(int(now) + k * STEP) for k in (-1, 0, 1)}
    assert stale in {ref.at(int(now) - k * STEP) for k in range(3, 23)}


def test_wrong_code_is_six_digits_and_invalid_nearby():
    now = 1_700_000_055.0
    totp, _ = _totp(now)
    wrong = totp.wrong()
    ref = pyotp.TOTP(SECRET)
    assert len(wrong) == 6 and wrong.isdigit()
    assert not ref.verify(wrong, for_time=int(now), valid_window=2)


def test_malformed_codes_have_the_documented_shapes():
    now = 1_700_000_055.0
    totp, _ = _totp(now)
    bad = totp.malformed()
    current = pyotp.TOTP(SECRET).at(int(now))
    assert not bad["letters"].isdigit() and len(bad["letters"]) == 6
    assert bad["five-digits"] == current[:5]
    assert bad["seven-digits"] == "0" + current and int(bad["seven-digits"]) == int(current)


def test_password_code_is_lower_hex_sha256():
    assert password_code("pässword") == hashlib.sha256("pässword".encode()).hexdigest()
    assert password_code("x").islower()

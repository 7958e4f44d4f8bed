"""Harness errors: the suite could not judge (outcome *error*), as opposed to a contract failure."""
from __future__ import annotations


class HarnessError(Exception):
    """The harness could not judge: network, provisioning, configuration.

    Never an AssertionError: a HarnessError means *error* (exit code 2), not *fail*.
    The message must already be redacted and fit on one line.
    """


class ConfigError(HarnessError):
    """The configuration is invalid or incomplete."""


class TargetError(HarnessError):
    """The target server is unreachable, not Rocket.Chat-like, or misbehaves during setup."""


class ProvisioningError(HarnessError):
    """Creating, logging in or cleaning up disposable users failed."""

"""Property-based tests of users.resetE2EKey with schemathesis: safe generation, per-requirement judging."""
from __future__ import annotations

from .caller import PropertyCaller
from .checks import build_checks, error_body_shape, judge, rocket_chat_must_reject
from .explore import Exploration
from .ledger import REQUIREMENTS, Finding, Ledger
from .safety import GuardedSession, NameMapper, PoolUser, UnsafeRequest, wire_name_values

__all__ = [
    "REQUIREMENTS", "Exploration", "Finding", "GuardedSession", "Ledger", "NameMapper", "PoolUser",
    "PropertyCaller", "UnsafeRequest", "build_checks", "error_body_shape", "judge",
    "rocket_chat_must_reject", "wire_name_values",
]

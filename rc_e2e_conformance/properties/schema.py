"""The schemathesis schema of the property run: loaded from the repository's spec, configured before collection."""
from __future__ import annotations

import functools
import random
from typing import Any

import schemathesis
from schemathesis import GenerationMode
from schemathesis.config import HealthCheck

from rc_e2e_conformance.contract.resources import SPEC_PATH

OPERATION = ("/api/v1/users.resetE2EKey", "POST")
PHASES = ["examples", "coverage", "fuzzing"]
#: What the auth provider puts on a case. The caller's real id and token are only known once the run
#: has provisioned it (after collection, where schemathesis builds the coverage cases), and a token
#: must be current when the request leaves (a self-reset logs the caller out): the property run swaps
#: these for live credentials right before each call. A case without them negates the security
#: headers and is sent as generated.
PLACEHOLDER_ID = "rcc-property-caller-id"
PLACEHOLDER_TOKEN = "rcc-property-caller-token"


class CallerPlaceholder:
    """schemathesis auth provider (public `schema.auth()`): marks the cases that authenticate as the caller."""

    def get(self, case: Any, context: Any) -> tuple[str, str]:
        return PLACEHOLDER_ID, PLACEHOLDER_TOKEN

    def set(self, case: Any, data: tuple[str, str], context: Any) -> None:
        case.headers = dict(case.headers or {})
        case.headers["X-User-Id"], case.headers["X-Auth-Token"] = data


@functools.cache
def property_schema() -> Any:
    """The one schema of this process (suite/test_properties.py parametrizes its exploring test with it)."""
    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    schema.config.phases.update(phases=PHASES)
    # database "none": nothing replays between runs, so the same seed gives the same requests.
    schema.config.generation.update(database="none", modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    schema.auth(refresh_interval=None)(CallerPlaceholder)
    return schema


def configure(examples: int, seed: int | None, *, timeout: float, tls_verify: bool | str) -> int:
    """Set this run's N fuzzing examples and seed (a random one when none is given); return the seed.

    Called from pytest_configure (suite/conftest.py): schemathesis reads both when it collects the
    exploring test. The target's URL is given to each call instead (the embedded server's port is
    only known once it runs).
    """
    schema = property_schema()
    chosen = seed if seed is not None else random.SystemRandom().randrange(2**32)
    schema.config.update(request_timeout=timeout, tls_verify=tls_verify, suppress_health_check=[HealthCheck.all])
    schema.config.generation.update(max_examples=examples)
    schema.config.seed = chosen
    return chosen


def operation() -> Any:
    """The one operation the spec describes (to build the hand-picked cases with `operation.Case`)."""
    path, method = OPERATION
    return property_schema()[path][method]

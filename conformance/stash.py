"""pytest stash keys shared by the harness plugin and the report collector."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .client import Client
    from .config import Settings
    from .provisioning import Provisioner
    from .results import RunInfo
    from .targets import Target

#: The run's Settings, set in pytest_configure.
SETTINGS_KEY = pytest.StashKey["Settings"]()
#: The Target, set when the `target` fixture starts it.
TARGET_KEY = pytest.StashKey["Target"]()
#: The RunInfo, created in pytest_configure and filled in as the run goes.
RUN_KEY = pytest.StashKey["RunInfo"]()
#: The Client of the run (its 429 counter feeds RunInfo.rate_limited_answers).
CLIENT_KEY = pytest.StashKey["Client"]()
#: The Provisioner, so the plugin can still clean up after an interrupted session.
PROVISIONER_KEY = pytest.StashKey["Provisioner"]()

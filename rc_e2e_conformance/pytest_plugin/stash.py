"""pytest stash keys shared by the plugin and the report collector, and the CLI's settings hand-off."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # named in the StashKey["..."] strings below
    from rc_e2e_conformance.contract.config import Settings
    from rc_e2e_conformance.contract.results import RunInfo  # noqa: F401
    from rc_e2e_conformance.pytest_plugin.collect import Collector  # noqa: F401
    from rc_e2e_conformance.server.client import Client  # noqa: F401
    from rc_e2e_conformance.server.provisioning import Provisioner  # noqa: F401
    from rc_e2e_conformance.server.targets import Target  # noqa: F401

#: True once the plugin is active in this run (plugin.activate): until then every hook does nothing.
ACTIVE_KEY = pytest.StashKey[bool]()
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
#: The built report dict (set at session end; the collector holds it too).
REPORT_KEY = pytest.StashKey[dict]()
COLLECTOR_KEY = pytest.StashKey["Collector"]()

_BY_NAME: dict[str, pytest.StashKey[Any]] = {"collector": COLLECTOR_KEY, "settings": SETTINGS_KEY, "target": TARGET_KEY}


def lookup(config: pytest.Config, name: str) -> Any:
    """The run's collector, settings or target by name (None before it exists): for the CLI's Progress."""
    return config.stash.get(_BY_NAME[name], None)


class Handoff:
    """Hands the CLI's Settings to the plugin (passed to `pytest.main(plugins=[...])`): no flag re-serialising."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[SETTINGS_KEY] = self.settings

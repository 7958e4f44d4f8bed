"""Contract conformance suite for Rocket.Chat's POST /api/v1/users.resetE2EKey."""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rc-e2e-conformance")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+source"

__all__ = ["__version__"]

"""Reference server: a faithful Rocket.Chat 8.x/7.x/6.x subset around POST /api/v1/users.resetE2EKey."""
from __future__ import annotations

from .behaviour import Behaviour
from .server import RefServer, serve_in_thread

__all__ = ["Behaviour", "RefServer", "serve_in_thread"]

"""`python -m conformance run|compare` — the same as the `rc-conformance` command."""
from __future__ import annotations

import sys

from .cli import main

sys.exit(main())

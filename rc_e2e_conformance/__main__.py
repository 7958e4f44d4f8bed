"""`python -m rc_e2e_conformance run|compare|mutants|cleanup` — the same as the `rc-conformance` command."""
from __future__ import annotations

import sys

from rc_e2e_conformance.cli.main import main

sys.exit(main())

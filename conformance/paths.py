"""Where the project's data files (the OpenAPI spec and requirement catalogue) live."""
from __future__ import annotations

import os
from pathlib import Path

#: The `openapi/` folder of the source tree (the project is installed editable: `pip install -e .`).
#: `RCC_OPENAPI_DIR` points elsewhere, e.g. for a packaged install.
OPENAPI_DIR = Path(os.environ.get("RCC_OPENAPI_DIR") or Path(__file__).resolve().parent.parent / "openapi")
SPEC_PATH = OPENAPI_DIR / "users.resetE2EKey.yaml"
CATALOGUE_PATH = OPENAPI_DIR / "requirements.yaml"

"""The package's data files (the OpenAPI spec, the requirement catalogue) and the suite, via importlib.resources."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

PACKAGE = "rc_e2e_conformance"


def package_path(*parts: str) -> Path:
    """A file or folder of the installed package as a real path (wheels install as files, never zipped)."""
    return Path(str(files(PACKAGE).joinpath(*parts)))


#: `openapi/`: the contract as data (users.resetE2EKey.yaml, requirements.yaml, docs-page.json).
OPENAPI_DIR = package_path("openapi")
SPEC_PATH = OPENAPI_DIR / "users.resetE2EKey.yaml"
CATALOGUE_PATH = OPENAPI_DIR / "requirements.yaml"
#: `suite/`: THE conformance suite (also collected with `pytest --pyargs rc_e2e_conformance.suite`).
SUITE_DIR = package_path("suite")
#: `report/`'s data: the Jinja templates of the reports and the report's JSON Schema.
TEMPLATES_DIR = package_path("report", "templates")
REPORT_SCHEMA_PATH = package_path("report", "schemas", "report.schema.json")

"""The conformance report: build one dict from the test results, write it as JSON, Markdown, HTML and JUnit."""
from __future__ import annotations

from .build import SCHEMA_VERSION, STATUSES, build_report, requirement_status, verdict_of
from .write import FILES, render_all, write_reports

__all__ = ["FILES", "SCHEMA_VERSION", "STATUSES", "build_report", "render_all", "requirement_status",
           "verdict_of", "write_reports"]

"""Known deviations ("expectations"): a TOML or YAML file that turns listed failures into xfail."""
from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .catalogue import Requirement, load_catalogue
from .errors import ConfigError
from .redact import redact
from .releases import COMPARE

_FIELDS = {"requirement", "reason", "link", "versions", "expires"}
_COMPARATOR_RE = re.compile(r"^\s*(>=|<=|==|!=|>|<)?\s*(\d+(?:\.\d+)*)\s*$")
_VERSION_RE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")


def parse_version(text: str) -> tuple[int, ...]:
    """`"7.1.0-rc.2"` → `(7, 1, 0)`: the leading dotted numbers; suffixes are ignored."""
    m = _VERSION_RE.match(str(text))
    if not m:
        raise ValueError(f"not a dotted version: {text!r}")
    return tuple(int(p) for p in m.group(1).split("."))


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Both zero-padded to one length, so that "7.1" and "7.1.0" compare equal."""
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


@dataclass(frozen=True)
class VersionRange:
    """A conjunction of comparators over dotted versions, e.g. `">=6.0,<7.0"`."""

    text: str
    clauses: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        clauses = []
        for part in str(text).split(","):
            m = _COMPARATOR_RE.match(part)
            if not m:
                raise ValueError(f"bad version comparator {part.strip()!r} in {text!r}")
            clauses.append((m.group(1) or "==", tuple(int(p) for p in m.group(2).split("."))))
        return cls(str(text), tuple(clauses))

    def contains(self, version: str) -> bool:
        v = parse_version(version)
        return all(COMPARE[op](*_padded(v, bound)) for op, bound in self.clauses)


@dataclass(frozen=True)
class Expectation:
    requirement: str
    reason: str
    link: str | None = None
    versions: VersionRange | None = None
    expires: date | None = None

    def state(self, server_version: str | None, today: date) -> str:
        """`applies`, `expired`, `version-mismatch` or `version-unknown` for this target and day."""
        if self.expires is not None and today > self.expires:
            return "expired"
        if self.versions is not None:
            if not server_version:
                return "version-unknown"
            try:
                if not self.versions.contains(server_version):
                    return "version-mismatch"
            except ValueError:
                return "version-unknown"
        return "applies"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "versions": self.versions.text if self.versions else None,
                "expires": self.expires.isoformat() if self.expires else None}


@dataclass(frozen=True)
class Expectations:
    entries: tuple[Expectation, ...] = ()
    source: str = ""

    def for_requirement(self, req_id: str) -> tuple[Expectation, ...]:
        return tuple(e for e in self.entries if e.requirement == req_id)

    def applicable(self, req_id: str, server_version: str | None, today: date) -> Expectation | None:
        """The first entry for `req_id` that applies to this server version on `today`."""
        return next((e for e in self.for_requirement(req_id) if e.state(server_version, today) == "applies"), None)


NONE = Expectations()


def _parse_date(value: object, where: str) -> date | None:
    if value is None or isinstance(value, date):  # TOML and YAML both parse bare dates already
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expires must be a date YYYY-MM-DD, got {value!r}") from None


def parse_expectations(data: Any, source: str, catalogue: Iterable[Requirement]) -> Expectations:
    """Validate the loaded document; every problem is a ConfigError naming the entry."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table with an 'expectation' list")
    if len(data) > 1 or set(data) - {"expectation", "expectations"}:
        raise ConfigError(f"{source}: only one top-level key 'expectation' is allowed, got {sorted(data)}")
    items: Any = next(iter(data.values()), [])
    if not isinstance(items, list):
        raise ConfigError(f"{source}: 'expectation' must be a list of entries")
    known = {r.id for r in catalogue}
    entries = []
    for n, item in enumerate(items, 1):
        where = f"{source}: entry {n}"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a table")
        unknown_fields = set(item) - _FIELDS
        if unknown_fields:
            raise ConfigError(f"{where}: unknown field(s) {sorted(unknown_fields)}; allowed: {sorted(_FIELDS)}")
        rid = item.get("requirement")
        if not isinstance(rid, str) or rid not in known:
            raise ConfigError(f"{where}: unknown requirement id {rid!r} (not in the catalogue)")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ConfigError(f"{where} ({rid}): a non-empty 'reason' is required")
        link = item.get("link")
        if link is not None and not isinstance(link, str):
            raise ConfigError(f"{where} ({rid}): 'link' must be a string")
        versions = None
        if item.get("versions") is not None:
            try:
                versions = VersionRange.parse(str(item["versions"]))
            except ValueError as exc:
                raise ConfigError(f"{where} ({rid}): {exc}") from None
        entries.append(Expectation(rid, reason.strip(), link, versions, _parse_date(item.get("expires"), where)))
    return Expectations(tuple(entries), source)


def load_expectations(path: str | Path | None, catalogue: Iterable[Requirement] | None = None) -> Expectations:
    """Read a `.toml`, `.yaml` or `.yml` expectations file; `None` means no known deviations."""
    if path is None or str(path) == "":
        return NONE
    p = Path(path)
    source = redact(str(p))
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read expectations file {source}: {exc.strerror or exc}") from None
    try:
        if p.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"expectations file {source}: use a .toml, .yaml or .yml extension")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"expectations file {source} does not parse: {redact(first)}") from None
    return parse_expectations(data, source, catalogue if catalogue is not None else load_catalogue())

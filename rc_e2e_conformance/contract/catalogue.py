"""The requirement catalogue (openapi/requirements.yaml), loaded once, in catalogue order."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from .releases import COMPARE, Release, release_of
from .resources import CATALOGUE_PATH

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster, same safety

LEVELS = ("MUST", "SHOULD")


@dataclass(frozen=True)
class Requirement:
    id: str
    level: str
    source: tuple[str, ...]
    family: str
    statement: str
    releases: str = ""  # e.g. "<=7", ">=8.6", ">=7,<8"; "" = every release line
    variants: tuple[tuple[str, str], ...] = ()  # (releases, how the rule reads there)

    @property
    def is_must(self) -> bool:
        return self.level == "MUST"

    def applies_to(self, release: Release) -> bool:
        return in_releases(self.releases, release)


_PROBE = release_of("8.8")  # any release: loading checks that every spec parses
_BOUND_RE = re.compile(r"^(<=|>=|<|>|==)?\s*(\d+)(?:\.(\d+))?$")


def in_releases(spec: str, release: Release) -> bool:
    """Is `release` inside a spec such as "<=7", ">=8.6" or ">=7,<8"? A major alone means the whole line."""
    for part in filter(None, (p.strip() for p in spec.split(","))):
        match = _BOUND_RE.match(part)
        if match is None:
            raise ValueError(f"bad release spec {spec!r}")
        op, major, minor = match.group(1) or "==", int(match.group(2)), match.group(3)
        # "8" is the whole 8.x line: compare majors; "8.6" compares (major, minor).
        bound = (major,) if minor is None else (major, int(minor))
        if not COMPARE[op](release.line[:len(bound)], bound):
            return False
    return True


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> tuple[Requirement, ...]:
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    reqs = tuple(Requirement(id=r["id"], level=r["level"], source=tuple(r["source"]), family=r["family"],
                             statement=r["statement"], releases=str(r.get("releases") or ""),
                             variants=tuple((str(v["releases"]), str(v["note"])) for v in r.get("variants") or ()))
                 for r in data["requirements"])
    if len({r.id for r in reqs}) != len(reqs):
        raise ValueError(f"duplicate requirement IDs in {path}")
    for r in reqs:  # a typo in a release spec must fail loading, not silently judge everywhere
        for spec in (r.releases, *(v for v, _ in r.variants)):
            in_releases(spec, _PROBE)
    bad = [r.id for r in reqs if r.level not in LEVELS]
    if bad:
        raise ValueError(f"unknown level for {bad} in {path}")
    return reqs


def by_id(path: Path = CATALOGUE_PATH) -> dict[str, Requirement]:
    return {r.id: r for r in load_catalogue(path)}

"""Release lines of Rocket.Chat the catalogue knows (8.x, 7.x, 6.x) and how a server's version maps to one."""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass

#: Profiles of the catalogue and of the reference server, newest first.
PROFILES = ("8", "7", "6")
NEWEST = PROFILES[0]
#: The release a profile stands for when the version is unknown (the newest of each line the catalogue knows).
BASELINE = {"8": (8, 8), "7": (7, 6), "6": (6, 10)}
_VERSION_RE = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")
#: Comparison operators of release specs (catalogue) and version ranges (expectations).
COMPARE = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt, "==": operator.eq,
           "!=": operator.ne}


@dataclass(frozen=True)
class Release:
    """A server's release as the suite judges it: the version it reported and the profile applied."""

    version: str | None  # as reported by /api/info or given with --server-version; None = unknown
    major: int | None
    minor: int | None
    profile: str  # one of PROFILES
    note: str = ""  # why this profile, when it is not simply the version's line

    @property
    def line(self) -> tuple[int, int]:
        """(major, minor) to compare with: the version's, else the profile's baseline; an unknown minor is .0."""
        if self.major is None:
            return BASELINE[self.profile]
        return (self.major, self.minor or 0)

    def at_least(self, major: int, minor: int = 0) -> bool:
        return self.line >= (major, minor)


def release_of(version: str | None) -> Release:
    """The Release for a version string; an unknown or unparseable version gets the newest profile, said so."""
    match = _VERSION_RE.match(version or "")
    if not match:
        return Release(version, None, None, NEWEST,
                       f"server version {version!r} not recognised: judged by the newest profile ({NEWEST}.x)"
                       if version else f"server version unknown: judged by the newest profile ({NEWEST}.x)")
    major, minor = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if str(major) in PROFILES:
        return Release(version, major, minor, str(major))
    if major > int(NEWEST):
        return Release(version, major, minor, NEWEST,
                       f"version {version} is newer than any profile: judged by the newest ({NEWEST}.x)")
    oldest = PROFILES[-1]
    return Release(version, major, minor, oldest,
                   f"version {version} is older than any profile: judged by the oldest ({oldest}.x)")

"""Keep generated requests away from real people: map every user reference, then check the wire bytes."""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from rc_e2e_conformance.contract.errors import HarnessError

#: Body keys a server could read as a user reference. The endpoint reads only top-level `userId`,
#: `username` and `user` (exact spelling); the others and every letter case are mapped too, at any
#: depth, because the suite must stay safe against servers that read more than the docs say.
NAME_KEYS = frozenset({"userid", "username", "user", "_id", "id", "usernameoremail", "email"})
#: Keys whose value is an id (exact match); the rest are matched as usernames (ignoring case).
ID_KEYS = frozenset({"userid", "_id", "id"})
#: Header carrying a user id: a generated one (negative auth cases) is mapped as well.
USER_ID_HEADER = "x-user-id"
#: JavaScript's String.prototype.trim whitespace. A value counts as blank (kept as generated) only
#: when every character is whitespace for both JS (the server) and Python (`str.isspace`).
_JS_SPACE = frozenset("\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                      "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")
#: Characters that could turn a looked-up name into a pattern on a server with broken escaping.
_UNSAFE_TAIL = re.compile(r"[\\^$.|?*+()\[\]{}\x00]")
TAIL_LIMIT = 256
#: Every n-th user reference (by hash) names a disposable pool user, the rest name nobody.
POOL_ONE_IN = 3
#: The one number (or boolean) a request may carry where a user reference is read. 8.x coerces such
#: a value to text before the lookup (`123` → "123", `true` → "true", which real users may be named);
#: this one's text, "1e+300" in JSON and JavaScript alike, has a '+' no Rocket.Chat username may hold
#: and is no id. Up to 7.x any non-string is refused unread, so the one value exercises that path too.
SAFE_NUMBER = 1e300
SAFE_NUMBER_TEXT = json.dumps(SAFE_NUMBER)


class UnsafeRequest(HarnessError):
    """A request about to be sent names a user the suite did not create: it is never sent."""


def js_blank(value: str) -> bool:
    return all(ch in _JS_SPACE and ch.isspace() for ch in value)


def js_trim(value: str) -> str:
    return value.strip("".join(_JS_SPACE))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class PoolUser:
    """A disposable user the generated requests may name (id + username)."""

    id: str
    username: str


@dataclass
class NameMapper:
    """Deterministic map from generated values to pool users or unmistakable never-matching names.

    `run` is the run's unique prefix (the provisioner's), so a nobody value is
    `rcc-nobody-<run>-<hash>-<sanitised original>`: it cannot equal a real id (ids have no '-'),
    and as a username it can only match a name starting with that prefix, which nobody has.
    """

    run: str
    pool: tuple[PoolUser, ...] = ()
    #: Symbolic form of each mapping (value -> "pool:1:upper" / "nobody:ab12cd34"), for logs.
    symbols: dict[str, str] = field(default_factory=dict)

    @property
    def nobody_prefix(self) -> str:
        run = self.run.strip("-")
        return f"rcc-nobody-{run.removeprefix('rcc-')}-"

    # -- values -------------------------------------------------------------------------------
    def nobody(self, value: str, *, tail: bool = True) -> str:
        digest = _digest(value)[:8]
        rest = _UNSAFE_TAIL.sub("_", value)[:TAIL_LIMIT] if tail else ""
        mapped = f"{self.nobody_prefix}{digest}" + (f"-{rest}" if rest else "")
        self.symbols[mapped] = f"nobody:{digest}"
        return mapped

    def map_string(self, key: str, value: str) -> str:
        if js_blank(value) or self.allowed(value):
            return value  # blank values test error-user-param-not-provided and match nobody
        digest = int(_digest(key.lower(), value)[:12], 16)
        if self.pool and digest % POOL_ONE_IN == 0:
            index = (digest // POOL_ONE_IN) % len(self.pool)
            user = self.pool[index]
            if key.strip().lower() in ID_KEYS:
                variants = {"exact": user.id, "padded": f"  {user.id} "}
            else:  # usernames are matched ignoring case and trimmed: exercise both
                variants = {"exact": user.username, "upper": user.username.upper(), "padded": f" {user.username}\t"}
            name = sorted(variants)[(digest >> 20) % len(variants)]
            mapped = variants[name]
            self.symbols[mapped] = f"pool:{index}:{'id' if key.strip().lower() in ID_KEYS else 'name'}:{name}"
            return mapped
        return self.nobody(value)

    def map_value(self, key: str, value: Any) -> Any:
        """Map strings under a name key at any depth, and every number or boolean to SAFE_NUMBER."""
        if isinstance(value, str):
            return self.map_string(key, value)
        if isinstance(value, (bool, int, float)):
            return SAFE_NUMBER
        if isinstance(value, list):
            return [self.map_value(key, item) for item in value]
        if isinstance(value, dict):
            # `{"$ne": null}` would be a query operator on a server that passes objects to MongoDB.
            return {(f"rcc{k}" if isinstance(k, str) and k.startswith("$") else k): self.map_value(key, v)
                    for k, v in value.items()}
        return value

    def map_body(self, body: Any) -> Any:
        """A copy of a (JSON-like) body with every value under a name key mapped, at any depth."""
        if isinstance(body, dict):
            out = {}
            for key, value in body.items():
                if isinstance(key, str) and key.strip().lower() in NAME_KEYS:
                    out[key] = self.map_value(key, value)
                else:
                    out[key] = self.map_body(value)
            return out
        if isinstance(body, list):
            return [self.map_body(item) for item in body]
        return body

    def map_raw(self, raw: bytes | str) -> bytes | str:
        """Raw bodies (malformed JSON, text, forms): re-encode when they parse and name someone."""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        else:
            mapped = self.map_body(parsed)
            if mapped != parsed:
                out = json.dumps(mapped, ensure_ascii=False)
                return out.encode("utf-8", "surrogatepass") if isinstance(raw, bytes) else out
            return raw
        pairs = parse_qsl(text, keep_blank_values=True)
        if any(_form_key(k) in NAME_KEYS for k, _ in pairs):
            mapped_pairs = [(k, self.map_string(k, v) if _form_key(k) in NAME_KEYS else v) for k, v in pairs]
            out = urlencode(mapped_pairs)
            return out.encode() if isinstance(raw, bytes) else out
        return raw

    # -- the allow list -----------------------------------------------------------------------
    def allowed(self, value: str) -> bool:
        """May a request carry `value` where a user reference is read?"""
        if js_blank(value):
            return True
        trimmed = js_trim(value)
        if trimmed.startswith(self.nobody_prefix) or trimmed == SAFE_NUMBER_TEXT:
            return True
        return any(trimmed == u.id or trimmed.casefold() == u.username.casefold() for u in self.pool)

    def pool_user(self, value: str) -> PoolUser | None:
        trimmed = js_trim(value)
        for user in self.pool:
            if trimmed == user.id or trimmed.casefold() == user.username.casefold():
                return user
        return None


def _form_key(key: str) -> str:
    return key.split("[", 1)[0].strip().lower()


def name_values(body: Any, *, key: str = "", under_name: bool = False) -> Iterator[tuple[str, str]]:
    """Every (key, text) a server could read as a user reference, at any depth (numbers and booleans as
    the text 8.x coerces them to)."""
    if isinstance(body, str):
        if under_name:
            yield key, body
    elif isinstance(body, (bool, int, float)):
        if under_name:
            yield key, json.dumps(body)
    elif isinstance(body, dict):
        for k, value in body.items():
            named = under_name or (isinstance(k, str) and k.strip().lower() in NAME_KEYS)
            yield from name_values(value, key=str(k), under_name=named)
    elif isinstance(body, list):
        for item in body:
            yield from name_values(item, key=key, under_name=under_name)


_MULTIPART_FIELD = re.compile(rb'name="([^"]*)"[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n(.*?)\r\n--', re.S)


def wire_name_values(body: bytes | str | None, url: str) -> list[tuple[str, str]]:
    """User references in the bytes about to be sent, read every way a server might read them."""
    found: list[tuple[str, str]] = []
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else (body or b"")
    text = raw.decode("utf-8", "replace")
    try:
        found += list(name_values(json.loads(text)))
    except (ValueError, RecursionError):
        pass
    found += [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if _form_key(k) in NAME_KEYS]
    for name, value in _MULTIPART_FIELD.findall(raw):
        if _form_key(name.decode("utf-8", "replace")) in NAME_KEYS:
            found.append((name.decode("utf-8", "replace"), value.decode("utf-8", "replace")))
    query = urlsplit(url).query
    found += [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if _form_key(k) in NAME_KEYS]
    return found


class GuardedSession(requests.Session):
    """A requests session that refuses to send a request naming a user outside the allow list.

    The last line of defence after the mapping hook: it reads the final bytes (any content type,
    the query string and X-User-Id) and raises UnsafeRequest instead of sending. It also keeps a
    record of every user reference sent, for the run's log and the selftests. It follows no redirect:
    credentials never leave for another address, and a 3xx is judged as the answer it is.
    """

    def __init__(self, mapper: NameMapper) -> None:
        super().__init__()
        self.mapper = mapper
        self.caller_ids: set[str] = set()  # X-User-Id values of the suite's own caller
        self.sent: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def inspect(self, request: requests.PreparedRequest) -> list[tuple[str, str]]:
        refs = wire_name_values(request.body, request.url or "")
        header = request.headers.get(USER_ID_HEADER)
        if header is not None and header not in self.caller_ids:
            refs.append((USER_ID_HEADER, header))
        bad = [(k, v) for k, v in refs if not self.mapper.allowed(v)]
        if bad:
            shown = ", ".join(f"{k}={v[:40]!r}" for k, v in bad[:3])
            raise UnsafeRequest(f"refused to send a generated request naming users the suite did not create: {shown}")
        return refs

    def sibling(self) -> GuardedSession:
        """A session for another thread, sharing the allow list and the record of what was sent.

        A requests session is not documented as thread-safe, so each thread gets its own.
        """
        other = GuardedSession(self.mapper)
        other.verify = self.verify
        other.caller_ids = self.caller_ids
        other.sent, other._lock = self.sent, self._lock
        return other

    def record(self, refs: Iterable[tuple[str, str]]) -> None:
        """Add user references about to be sent (any thread of the run)."""
        with self._lock:
            self.sent.extend(refs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        refs = self.inspect(request)
        self.record(refs)
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)


"""SQLite state of the reference server: schema, one locked connection, small data-access helpers."""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
# Meteor's Random.id() alphabet (no look-alike characters).
ID_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz"

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL, username_lower TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL, email TEXT, email_lower TEXT UNIQUE, email_verified INTEGER NOT NULL DEFAULT 0,
  password_salt TEXT, password_hash TEXT, roles TEXT NOT NULL, active INTEGER NOT NULL DEFAULT 1,
  type TEXT NOT NULL DEFAULT 'user', require_password_change INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  totp_enabled INTEGER NOT NULL DEFAULT 0, totp_secret TEXT, totp_temp_secret TEXT,
  email2fa_enabled INTEGER NOT NULL DEFAULT 0,
  email_code_hash TEXT, email_code_expire REAL, email_code_attempts INTEGER NOT NULL DEFAULT 0,
  e2e_public_key TEXT, e2e_private_key TEXT,
  failed_logins INTEGER NOT NULL DEFAULT 0, blocked_until REAL NOT NULL DEFAULT 0,
  federated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS login_tokens (
  hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'resume',
  name TEXT, bypass_2fa INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL,
  remember_until REAL NOT NULL DEFAULT 0, last_part TEXT
);
CREATE INDEX IF NOT EXISTS login_tokens_user ON login_tokens(user_id);
CREATE TABLE IF NOT EXISTS backup_codes (user_id TEXT NOT NULL, code_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, room_id TEXT NOT NULL, e2e_key TEXT,
  UNIQUE(user_id, room_id)
);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT, to_address TEXT NOT NULL,
  subject TEXT NOT NULL, body TEXT NOT NULL, code TEXT, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS permissions (id TEXT PRIMARY KEY, roles TEXT NOT NULL, updated_at REAL NOT NULL);
"""

ROLES = ("admin", "user", "bot", "app", "guest")
DEFAULT_PERMISSIONS: dict[str, list[str]] = {
    **dict.fromkeys(("edit-other-user-e2ee", "create-user", "delete-user", "access-permissions", "view-statistics",
                     "view-full-other-user-info", "create-personal-access-tokens", "view-privileged-setting",
                     "edit-other-user-info"), ["admin"]),
    "api-bypass-rate-limit": ["admin", "bot", "app"],
    "view-d-room": ["admin", "user", "bot", "app"],
}
DEFAULT_ROOM = "GENERAL"


def random_id(length: int = 17) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def hash_token(token: str) -> str:
    """Accounts._hashLoginToken: base64 of SHA-256 of the token."""
    return base64.b64encode(hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()).decode()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hash_password_digest(digest_hex: str, salt: str) -> str:
    # RC stores bcrypt(sha256hex(password)); PBKDF2 keeps the same "hash of the digest" shape stdlib-only.
    return hashlib.pbkdf2_hmac("sha256", digest_hex.encode(), salt.encode(), 1000).hex()


def storable(value: str) -> bool:
    """A string SQLite can bind (lone surrogates from JSON escapes cannot be UTF-8 encoded)."""
    return _SURROGATE.search(value) is None


class Database:
    """One SQLite connection (WAL) shared by the server thread and selftests, serialized by a lock."""

    def __init__(self, path: str) -> None:
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10)
        self.conn.row_factory = sqlite3.Row
        with self.lock:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.executescript(SCHEMA)
            # Columns a database file written by an older refserver lacks.
            for table, col in (("login_tokens", "last_part TEXT"), ("users", "federated INTEGER NOT NULL DEFAULT 0")):
                if col.split()[0] not in {r["name"] for r in self.all(f"PRAGMA table_info({table})")}:
                    self.run(f"ALTER TABLE {table} ADD COLUMN {col}")
            # OR IGNORE: a kept database keeps its changed roles but gains permissions added since.
            for pid, roles in DEFAULT_PERMISSIONS.items():
                self.run("INSERT OR IGNORE INTO permissions VALUES (?,?,?)", (pid, json.dumps(roles), time.time()))

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        with self.lock:
            return self.conn.execute(sql, params).rowcount

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(sql, params).fetchone()
        return dict(row) if row is not None else None

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock, so multi-statement changes are atomic."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

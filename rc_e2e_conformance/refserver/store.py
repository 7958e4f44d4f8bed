"""User-level data operations (users, tokens, keys, subscriptions, outbox, permissions)."""
from __future__ import annotations

import json
import secrets
import time
from typing import Any

from .db import DEFAULT_ROOM, Database, hash_password_digest, hash_token, random_id, sha256_hex, storable


class Store:
    """Everything the routes read or change, on top of one `Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- users ---------------------------------------------------------------------------
    def _user_where(self, column: str, value: str) -> dict[str, Any] | None:
        """The user whose `column` is `value`, roles decoded; None for a string SQLite cannot bind."""
        row = self.db.one(f"SELECT * FROM users WHERE {column} = ?", (value,)) if storable(value) else None
        if row is not None:
            row["roles"] = json.loads(row["roles"])
        return row

    def count_users(self) -> int:
        return int(self.db.all("SELECT COUNT(*) AS n FROM users")[0]["n"])  # an aggregate: always one row

    def create_user(self, *, username: str, name: str, email: str | None, password: str, roles: list[str],
                    verified: bool = False, active: bool = True, require_password_change: bool = False,
                    email2fa: bool = False, join_default_channels: bool = True) -> dict[str, Any]:
        uid = random_id()
        salt = secrets.token_hex(8)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO users (id, username, username_lower, name, email, email_lower, email_verified,"
                " password_salt, password_hash, roles, active, require_password_change, created_at,"
                " email2fa_enabled) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (uid, username, username.lower(), name, email, email.lower() if email else None, int(verified),
                 salt, hash_password_digest(sha256_hex(password), salt), json.dumps(roles), int(active),
                 int(require_password_change), time.time(), int(email2fa)))
            if join_default_channels:
                conn.execute("INSERT INTO subscriptions (id, user_id, room_id) VALUES (?,?,?)",
                             (random_id(), uid, DEFAULT_ROOM))
        return self.get_user(uid)  # type: ignore[return-value]

    def get_user(self, uid: str) -> dict[str, Any] | None:
        return self._user_where("id", uid)

    def find_by_username(self, username: str, ignore_case: bool = True) -> dict[str, Any] | None:
        column, value = ("username_lower", username.lower()) if ignore_case else ("username", username)
        return self._user_where(column, value)

    def find_by_email(self, email: str) -> dict[str, Any] | None:
        return self._user_where("email_lower", email.lower())

    def update_user(self, uid: str, **fields: Any) -> None:
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.run(f"UPDATE users SET {cols} WHERE id = ?", (*fields.values(), uid))

    def delete_user(self, uid: str) -> None:
        with self.db.transaction() as conn:
            for sql in ("DELETE FROM login_tokens WHERE user_id = ?", "DELETE FROM backup_codes WHERE user_id = ?",
                        "DELETE FROM subscriptions WHERE user_id = ?", "DELETE FROM users WHERE id = ?"):
                conn.execute(sql, (uid,))

    def list_users(self, offset: int, count: int) -> tuple[list[dict[str, Any]], int]:
        total = self.count_users()
        limit = count if count > 0 else -1
        rows = self.db.all("SELECT * FROM users ORDER BY username_lower LIMIT ? OFFSET ?", (limit, offset))
        return [{**r, "roles": json.loads(r["roles"])} for r in rows], total

    def set_password(self, uid: str, password: str) -> None:
        salt = secrets.token_hex(8)
        self.update_user(uid, password_salt=salt, password_hash=hash_password_digest(sha256_hex(password), salt))

    @staticmethod
    def check_password(user: dict[str, Any], digest_hex: str) -> bool:
        if not user.get("password_hash"):
            return False
        expected = hash_password_digest(digest_hex.lower(), user["password_salt"])
        return secrets.compare_digest(expected, user["password_hash"])

    # ---- login tokens --------------------------------------------------------------------
    def issue_token(self, uid: str, *, kind: str = "resume", name: str | None = None,
                    bypass_2fa: bool = False) -> str:
        token = secrets.token_urlsafe(32)
        self.db.run("INSERT INTO login_tokens (hash, user_id, kind, name, bypass_2fa, created_at, last_part)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (hash_token(token), uid, kind, name, int(bypass_2fa), time.time(), token[-6:]))
        return token

    def personal_tokens(self, uid: str) -> list[dict[str, Any]]:
        return self.db.all("SELECT * FROM login_tokens WHERE user_id = ? AND kind = 'pat' ORDER BY created_at",
                           (uid,))

    def remove_personal_token(self, uid: str, name: str) -> bool:
        return self.db.run("DELETE FROM login_tokens WHERE user_id = ? AND kind = 'pat' AND name = ?",
                           (uid, name)) > 0

    def token_row(self, uid: str, token: str) -> dict[str, Any] | None:
        if not (storable(uid) and storable(token)):
            return None
        return self.db.one("SELECT * FROM login_tokens WHERE user_id = ? AND hash = ?", (uid, hash_token(token)))

    def find_token(self, token: str) -> dict[str, Any] | None:
        """The login token row of `token`, whoever owns it (only mutants authenticate this way)."""
        if not storable(token):
            return None
        return self.db.one("SELECT * FROM login_tokens WHERE hash = ?", (hash_token(token),))

    def revoke_token(self, token_hash: str) -> None:
        self.db.run("DELETE FROM login_tokens WHERE hash = ?", (token_hash,))

    def revoke_all_tokens(self, uid: str) -> None:
        """Users.unsetLoginTokens: every resume token and personal access token."""
        self.db.run("DELETE FROM login_tokens WHERE user_id = ?", (uid,))

    def revoke_other_sessions(self, uid: str, keep_hash: str) -> None:
        """Users.removeNonPATLoginTokensExcept: personal access tokens survive."""
        self.db.run("DELETE FROM login_tokens WHERE user_id = ? AND hash != ? AND kind != 'pat'", (uid, keep_hash))

    def token_count(self, uid: str) -> int:
        return int(self.db.all("SELECT COUNT(*) AS n FROM login_tokens WHERE user_id = ?", (uid,))[0]["n"])

    def remember_2fa(self, token_hash: str, until: float) -> None:
        self.db.run("UPDATE login_tokens SET remember_until = ? WHERE hash = ?", (until, token_hash))

    # ---- e2e keys + subscriptions ----------------------------------------------------------
    def set_keys(self, uid: str, public_key: str, private_key: str) -> None:
        self.update_user(uid, e2e_public_key=public_key, e2e_private_key=private_key)

    def clear_keys(self, uid: str | None) -> None:
        """Users.resetE2EKey + Subscriptions.resetUserE2EKey (uid None = every user: a mutant)."""
        with self.db.transaction() as conn:
            where, params = ("WHERE id = ?", (uid,)) if uid else ("", ())
            conn.execute(f"UPDATE users SET e2e_public_key = NULL, e2e_private_key = NULL {where}", params)
            where, params = ("WHERE user_id = ?", (uid,)) if uid else ("", ())
            conn.execute(f"UPDATE subscriptions SET e2e_key = NULL {where}", params)

    def subscription(self, uid: str, room_id: str) -> dict[str, Any] | None:
        if not (storable(uid) and storable(room_id)):
            return None
        return self.db.one("SELECT * FROM subscriptions WHERE user_id = ? AND room_id = ?", (uid, room_id))

    def set_subscription_key(self, uid: str, room_id: str, key: str) -> None:
        self.db.run("UPDATE subscriptions SET e2e_key = ? WHERE user_id = ? AND room_id = ?", (key, uid, room_id))

    # ---- TOTP / e-mail codes ---------------------------------------------------------------
    def enable_totp(self, uid: str, secret: str, backup_hashes: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE users SET totp_enabled = 1, totp_secret = ?, totp_temp_secret = NULL"
                         " WHERE id = ?", (secret, uid))
            conn.execute("DELETE FROM backup_codes WHERE user_id = ?", (uid,))
            conn.executemany("INSERT INTO backup_codes VALUES (?,?)", [(uid, h) for h in backup_hashes])

    def backup_code_exists(self, uid: str, code_hash: str) -> bool:
        return self.db.one("SELECT 1 AS x FROM backup_codes WHERE user_id = ? AND code_hash = ?",
                           (uid, code_hash)) is not None

    def use_backup_code(self, uid: str, code_hash: str) -> bool:
        return self.db.run("DELETE FROM backup_codes WHERE rowid IN (SELECT rowid FROM backup_codes"
                           " WHERE user_id = ? AND code_hash = ? LIMIT 1)", (uid, code_hash)) > 0

    def set_email_code(self, uid: str, code_hash: str, expire: float) -> None:
        self.update_user(uid, email_code_hash=code_hash, email_code_expire=expire, email_code_attempts=0)

    def clear_email_code(self, uid: str) -> None:
        self.update_user(uid, email_code_hash=None, email_code_expire=None, email_code_attempts=0)

    def bump_email_attempts(self, uid: str) -> None:
        self.db.run("UPDATE users SET email_code_attempts = email_code_attempts + 1 WHERE id = ?", (uid,))

    # ---- outbox (e-mails are recorded, never sent) --------------------------------------------
    def send_mail(self, uid: str | None, to: str, subject: str, body: str, code: str | None = None) -> None:
        self.db.run("INSERT INTO outbox (user_id, to_address, subject, body, code, created_at)"
                    " VALUES (?,?,?,?,?,?)", (uid, to, subject, body, code, time.time()))

    def last_code(self, uid: str) -> str | None:
        """The newest 2FA code e-mailed to uid (selftests read it here; a real server has a mailbox)."""
        row = self.db.one("SELECT code FROM outbox WHERE user_id = ? AND code IS NOT NULL ORDER BY id DESC LIMIT 1",
                          (uid,))
        return str(row["code"]) if row else None

    def outbox(self, uid: str) -> list[dict[str, Any]]:
        return self.db.all("SELECT * FROM outbox WHERE user_id = ? ORDER BY id", (uid,))

    # ---- permissions -----------------------------------------------------------------------
    def permission_roles(self, permission: str) -> list[str]:
        row = self.db.one("SELECT roles FROM permissions WHERE id = ?", (permission,))
        return json.loads(row["roles"]) if row else []

    def has_permission(self, user: dict[str, Any], permission: str) -> bool:
        return bool(set(user["roles"]) & set(self.permission_roles(permission)))

    def list_permissions(self) -> list[dict[str, Any]]:
        return [{"_id": r["id"], "roles": json.loads(r["roles"]), "_updatedAt": r["updated_at"]}
                for r in self.db.all("SELECT * FROM permissions ORDER BY id")]

    def permission_exists(self, permission: str) -> bool:
        return self.db.one("SELECT 1 AS x FROM permissions WHERE id = ?", (permission,)) is not None

    def set_permission_roles(self, permission: str, roles: list[str]) -> None:
        self.db.run("UPDATE permissions SET roles = ?, updated_at = ? WHERE id = ?",
                    (json.dumps(roles), time.time(), permission))

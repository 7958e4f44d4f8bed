"""Provisioning against the real reference server: prefix-only sweep, permission restore, clear login errors."""
from __future__ import annotations

import secrets

import pytest

from rc_e2e_conformance.contract.errors import ProvisioningError
from rc_e2e_conformance.server.provisioning import Provisioner


def _provisioner(embedded, **kwargs) -> Provisioner:
    target, client = embedded
    return Provisioner(client, admin_user=target.admin_user, admin_password=target.admin_password, **kwargs)


def _usernames(prov: Provisioner) -> set[str]:
    body = prov.as_admin("GET", "users.list", "list users", params={"count": 0})
    return {u["username"] for u in body["users"]}


def test_embedded_target_is_marked_and_probed(embedded):
    target, _ = embedded
    assert target.embedded and target.allow_config_changes and target.server_version
    assert "NOT Rocket.Chat" in target.label


def test_cleanup_deletes_created_and_prefixed_leftovers_only(embedded):
    prov = _provisioner(embedded)
    kept = prov.create_user("user", keys=False)
    other = _provisioner(embedded)  # another run: a different prefix that this run must not touch
    bystander = other.create_user("user", keys=False)
    stranger = f"rcc-{secrets.token_hex(4)}x-stranger"  # looks similar, but not this run's prefix
    prov.as_admin("POST", "users.create", "create stranger", json={
        "username": stranger, "email": f"{stranger}@example.com", "name": "s", "password": "Pw-123456789",
        "verified": True})
    # Simulate a crash that lost track of a user: only the end-of-session sweep can find it.
    lost = prov.create_user("admin", keys=False)
    prov._created.pop(lost.id)
    prov.cleanup()
    names = _usernames(prov)
    assert kept.username not in names and lost.username not in names
    assert bystander.username in names and stranger in names
    other.cleanup()
    assert bystander.username not in _usernames(prov)
    prov.as_admin("POST", "users.delete", "delete stranger", json={"username": stranger})


def test_create_user_with_totp_and_keys(embedded):
    prov = _provisioner(embedded)
    try:
        actor = prov.create_user("admin", totp=True, keys=True)
        assert actor.token and actor.totp_secret and len(actor.backup_codes) == 12 and actor.keys
        fetched = actor.fetch_keys().json()
        assert (fetched["public_key"], fetched["private_key"]) == actor.keys
        old = actor.token
        assert actor.relogin().token != old  # a TOTP user logs in again with a fresh code
    finally:
        prov.cleanup()


def test_permission_is_restored_even_when_the_block_fails(embedded):
    prov = _provisioner(embedded, allow_config_changes=True)

    def roles() -> list[str]:
        listing = prov.as_admin("GET", "permissions.listAll", "list")["update"]
        return next(p["roles"] for p in listing if p["_id"] == "edit-other-user-e2ee")

    before = roles()
    with pytest.raises(RuntimeError):
        with prov.granted("edit-other-user-e2ee", "user"):
            assert "user" in roles()
            raise RuntimeError("test body failed")
    assert roles() == before


def test_permission_change_refused_without_allow_config_changes(embedded):
    with pytest.raises(ProvisioningError, match="allow_config_changes"):
        with _provisioner(embedded).granted("edit-other-user-e2ee", "user"):
            pass


def test_wrong_admin_password_is_a_one_line_provisioning_error(embedded):
    target, client = embedded
    prov = Provisioner(client, admin_user=target.admin_user, admin_password="Definitely-Wrong-1")
    with pytest.raises(ProvisioningError) as info:
        _ = prov.admin
    text = str(info.value)
    assert text.startswith(f"login as {target.admin_user!r} refused (HTTP 401)") and "\n" not in text
    assert "Definitely-Wrong-1" not in text

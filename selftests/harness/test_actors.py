"""Actors act (a reset is one call: body fields, a fresh code, none, or a given one) and keep their session:
one the server may have ended is renewed by one login before the next call — only where the suite can log in."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rc_e2e_conformance.server.actors import Actor
from rc_e2e_conformance.server.client import Client
from rc_e2e_conformance.server.provisioning import Provisioner


@pytest.fixture(scope="module")
def prov(embedded) -> Iterator[Provisioner]:
    target, client = embedded
    provisioner = Provisioner(client, admin_user=target.admin_user, admin_password=target.admin_password)
    yield provisioner
    provisioner.cleanup()


@pytest.fixture
def sent(prov: Provisioner, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every request the run's client sends from now on: path, headers, JSON body."""
    seen: list[dict[str, Any]] = []
    request = Client.request

    def spy(self: Client, method: str, path: str, **kwargs: Any) -> Any:
        seen.append({"path": path, "headers": kwargs.get("headers") or {}, "json": kwargs.get("json")})
        return request(self, method, path, **kwargs)

    monkeypatch.setattr(Client, "request", spy)
    return seen


def _end_session(prov: Provisioner, actor: Actor) -> None:
    """Another client logs the actor's session out, behind its back."""
    assert prov.client.post("/api/v1/logout", headers={"X-User-Id": actor.id,
                                                      "X-Auth-Token": str(actor.token)}).status_code == 200


def test_reset_sends_body_fields_and_a_fresh_code_no_code_or_the_given_one(prov, sent):
    caller = prov.create_user("admin", totp=True, keys=False)
    sent.clear()
    caller.reset(userId="x", username="y")
    caller.reset(userId="x", code=None)
    caller.reset([], code="123456")
    assert [s["json"] for s in sent] == [{"userId": "x", "username": "y"}, {"userId": "x"}, []]
    assert sent[0]["headers"]["x-2fa-code"] in caller.totp.window()
    assert "x-2fa-code" not in sent[1]["headers"] and sent[2]["headers"]["x-2fa-code"] == "123456"
    with pytest.raises(TypeError):
        caller.reset({}, userId="x")


def test_a_self_reset_ends_the_session_and_the_next_call_logs_in_once(prov, sent):
    caller = prov.create_user("admin", keys=True)  # the password fallback: it can log in again
    old = caller.token
    assert caller.reset().status_code == 200 and caller.stale
    assert caller.me(token=old).status_code == 401 and caller.stale  # an old token on purpose: not renewed
    sent.clear()
    assert caller.me().status_code == 200 and not caller.stale and caller.token != old
    assert caller.fetch_keys().status_code == 200
    assert [s["path"] for s in sent] == ["/api/v1/login", "/api/v1/me", "/api/v1/e2e.fetchMyKeys"]


def test_naming_another_user_keeps_the_session_naming_itself_does_not(prov):
    caller, victim = prov.create_user("admin", keys=False), prov.create_user("user", keys=False)
    assert caller.reset(userId=victim.id).status_code == 200 and not caller.stale
    assert caller.reset(username=victim.username.upper(), userId=victim.id).status_code == 200 and not caller.stale
    assert caller.reset(userId=caller.id).status_code == 200 and caller.stale  # the admin named itself
    assert caller.me().status_code == 200


def test_a_401_to_its_own_session_is_renewed_before_the_next_call(prov):
    actor = prov.create_user("user", keys=True)
    _end_session(prov, actor)
    assert actor.fetch_keys().status_code == 401 and actor.stale
    assert actor.fetch_keys().status_code == 200 and not actor.stale


def test_an_email_only_user_and_the_admin_are_never_logged_in_again(prov, sent):
    email_only = prov.create_user("admin", keys=False, verified=True)  # its only session: the first login
    assert not email_only.can_login and not prov.admin.can_login
    _end_session(prov, email_only)
    sent.clear()
    assert email_only.me().status_code == 401 and email_only.me().status_code == 401
    assert [s["path"] for s in sent] == ["/api/v1/me", "/api/v1/me"]  # no login: it would need an e-mailed code


def test_a_logged_out_actor_logs_in_at_its_next_call(prov):
    actor = prov.create_user("user", keys=False)
    assert actor.token is None  # not logged in until a call needs it
    actor.logout()  # logs in first, then out
    assert actor.token is None and actor.me().status_code == 200

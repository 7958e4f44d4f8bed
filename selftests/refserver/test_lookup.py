"""behaviour.md §1.2 (finding the target) and which bodies are a self-reset."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.refserver import Behaviour

from .conftest import NO_LIMIT, start
from .helpers import RESET, Api

NOT_PROVIDED = {"success": False, "errorType": "error-user-param-not-provided",
                "error": 'The required "userId" or "username" param was not provided [error-user-param-not-provided]'}


@pytest.fixture
def pair(make_user):
    """A privileged TOTP caller and a target with keys."""
    return make_user("admin", totp=True), make_user(totp=True)


def _reset(api: Api, caller, **kw):
    return api.post(RESET, user=caller, code=caller.code(), **kw)


def _was_reset(api: Api, target) -> bool:
    return api.me_status(target) == 401


def test_user_id_exact_match_finds_target(api: Api, pair) -> None:
    caller, target = pair
    assert _reset(api, caller, json={"userId": target.id}).json() == {"success": True}
    assert _was_reset(api, target)


def test_user_id_is_case_sensitive(api: Api, pair) -> None:
    caller, target = pair
    assert _reset(api, caller, json={"userId": target.id.swapcase()}).json()["errorType"] == "error-invalid-user"


@pytest.mark.parametrize("key", ["username", "user"])
@pytest.mark.parametrize("case", [str.upper, str.lower, str.title])
def test_username_and_user_ignore_case(api: Api, pair, key: str, case) -> None:
    caller, target = pair
    assert _reset(api, caller, json={key: case(target.username)}).json() == {"success": True}
    assert _was_reset(api, target)


@pytest.mark.parametrize("body", [{"userId": "nope"}, {"username": "nope"}, {"user": "nope"}])
def test_unknown_target_is_invalid_user(api: Api, pair, body) -> None:
    r = _reset(api, pair[0], json=body)
    assert r.status_code == 400 and r.json()["errorType"] == "error-invalid-user"


@pytest.mark.parametrize("body", [{"userId": ""}, {"userId": "   "}, {"userId": None}, {"username": " \t"},
                                  {"user": ""}, {"userId": "", "username": None, "user": "  "},
                                  {"userId": "\u00a0\ufeff"}])
def test_blank_values_are_param_not_provided(api: Api, pair, body) -> None:
    r = _reset(api, pair[0], json=body)
    assert r.status_code == 400 and r.json() == NOT_PROVIDED
    assert api.me_status(pair[0]) == 200


def test_values_are_trimmed_only_for_the_blank_test(api: Api, pair) -> None:
    """getUserFromParams: `params.userId?.trim()` decides blank or not; the lookup uses the raw value."""
    caller, target = pair
    r = _reset(api, caller, json={"userId": f"  {target.id}\n"})
    assert r.json()["errorType"] == "error-invalid-user"
    r = _reset(api, caller, json={"username": f" {target.username} "})
    assert r.json()["errorType"] == "error-invalid-user"
    assert not _was_reset(api, target)


def test_keys_after_the_deciding_one_are_not_read(api: Api, pair) -> None:
    """A non-string username beside a non-blank userId is never touched (no TypeError)."""
    caller, target = pair
    assert _reset(api, caller, json={"userId": target.id, "username": 5}).json() == {"success": True}
    assert _was_reset(api, target)


def test_user_id_wins_over_username(api: Api, pair, make_user) -> None:
    caller, target = pair
    other = make_user()
    assert _reset(api, caller, json={"userId": target.id, "username": other.username}).json()["success"]
    assert _was_reset(api, target) and api.me_status(other) == 200
    r = _reset(api, caller, json={"userId": "nope", "username": other.username})
    assert r.json()["errorType"] == "error-invalid-user"
    assert _reset(api, caller, json={"userId": " ", "username": other.username}).json()["success"]
    assert _was_reset(api, other)


@pytest.mark.parametrize("key", ["userId", "username", "user"])
@pytest.mark.parametrize("value", [123, True, [], {"a": 1}, 1.5])
def test_non_string_value_leaks_type_error(api: Api, pair, key: str, value) -> None:
    r = _reset(api, pair[0], json={key: value})
    assert r.status_code == 400
    assert r.json() == {"success": False, "error": f"params.{key}?.trim is not a function"}


def test_type_error_follows_trim_order(api: Api, pair) -> None:
    """A later key is read only after a blank earlier one: then its non-string value throws."""
    caller, target = pair
    r = _reset(api, caller, json={"userId": " ", "username": 7})
    assert r.json()["error"] == "params.username?.trim is not a function"
    assert api.me_status(target) == 200


@pytest.mark.parametrize("kwargs", [
    {"json": {}}, {}, {"json": []}, {"json": [{"userId": "x"}]}, {"json": {"foo": "bar", "userid": "x"}},
    {"json": 5}, {"json": "userId"}, {"json": None},
    {"data": "userId=abc", "headers": {"content-type": "application/x-www-form-urlencoded"}},
    {"data": "not json at all", "headers": {"content-type": "text/plain"}},
], ids=["empty", "no-body", "array", "array-of-obj", "unrelated", "scalar", "string", "null", "form", "text"])
def test_bodies_without_target_keys_are_self_reset(api: Api, make_user, kwargs) -> None:
    u, bystander = make_user(totp=True), make_user()
    headers = {**u.headers(u.code()), **kwargs.pop("headers", {})}
    r = api.http.post(api.url + RESET, headers=headers, **kwargs)
    assert r.status_code == 200 and r.json() == {"success": True}
    assert api.me_status(u) == 401 and api.me_status(bystander) == 200
    assert api.store.outbox(u.id) == []


def test_text_plain_json_is_parsed(api: Api, pair) -> None:
    caller, target = pair
    r = api.http.post(api.url + RESET, data=f'{{"userId": "{target.id}"}}',
                      headers={**caller.headers(caller.code()), "content-type": "text/plain"})
    assert r.json() == {"success": True} and _was_reset(api, target) and api.me_status(caller) == 200


MALFORMED = ("{", '{"userId": }', "NaN", '{"a": Infinity}', "\ufeff{}", "\xff")


def test_malformed_json_is_400_json_error_up_to_7_5() -> None:
    with start(Behaviour.for_profile("6"), NO_LIMIT) as server:
        api = Api(server.url, server.store)
        u = api.create_user(totp=True)
        for raw in MALFORMED:
            r = api.http.post(api.url + RESET, data=raw.encode("utf-8", "surrogateescape"),
                              headers={**u.headers(u.code()), "content-type": "application/json"})
            assert r.status_code == 400 and r.headers["content-type"] == "application/json", raw
            body = r.json()
            assert body["success"] is False and isinstance(body["error"], str) and "errorType" not in body
        assert api.me_status(u) == 200


@pytest.mark.parametrize("raw", MALFORMED)
def test_malformed_json_is_a_self_reset_on_7_6_and_later(api: Api, make_user, raw: str) -> None:
    """§9 7.6+: a body that is not JSON is read as {} (the srv fixture is profile 7)."""
    u = make_user(totp=True)
    r = api.http.post(api.url + RESET, data=raw.encode("utf-8", "surrogateescape"),
                      headers={**u.headers(u.code()), "content-type": "application/json"})
    assert r.status_code == 200 and r.json() == {"success": True}, raw
    assert api.me_status(u) == 401

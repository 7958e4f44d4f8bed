"""serve_in_thread lifecycle, /api/info, routing (404/405), headers and the 6.x profile."""
from __future__ import annotations

import os
import time

import requests

from rc_e2e_conformance.refserver import Behaviour
from rc_e2e_conformance.refserver.behaviour import switch_names

from .conftest import start
from .helpers import RESET, Api


def test_serve_in_thread_binds_loopback_port_and_deletes_temp_db_on_stop() -> None:
    server = start()
    assert server.url.startswith("http://127.0.0.1:") and not server.url.endswith(":0")
    assert os.path.exists(server.db_path)
    assert requests.get(server.url + "/api/info", timeout=5).status_code == 200
    server.stop()
    assert not os.path.exists(server.db_path)
    try:
        requests.get(server.url + "/api/info", timeout=2)
        raise AssertionError("server still answers after stop()")
    except requests.ConnectionError:
        pass


def test_explicit_db_path_is_kept(tmp_path) -> None:
    db = str(tmp_path / "keep.db")
    with start(db_path=db) as server:
        assert server.db_path == db
    assert os.path.exists(db)


def test_api_info_anonymous_strips_patch_and_admin_sees_full_info(api: Api) -> None:
    r = api.get("/api/info")  # profile 7
    assert r.json() == {"version": "7.10", "success": True}
    full = api.get("/api/info", user=api.admin).json()
    assert full["success"] is True and full["info"]["version"] == "7.10.0"


def test_unknown_route_is_404_json(api: Api) -> None:
    for method, path in (("GET", "/api/v1/nope"), ("POST", "/api/v2/x")):
        r = api.call(method, path)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {"status": "error", "message": "API endpoint does not exist"}


def test_wrong_method_is_plain_text_404_on_7_6_and_later(api: Api) -> None:
    for method, path in (("GET", RESET), ("DELETE", RESET), ("PUT", RESET), ("POST", "/api/v1/me")):
        r = api.call(method, path)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"].startswith("text/plain") and r.text == "404 Not Found"


def test_success_has_exact_body_content_type_and_cache_headers(api: Api, make_user) -> None:
    u = make_user(totp=True)
    r = api.post(RESET, user=u, code=u.code(), json={})
    assert r.status_code == 200
    assert r.content == b'{"success":true}'
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"


def test_profile_6_unauthenticated_body_delay_and_405() -> None:
    with start(Behaviour.for_profile("6"), {"API_Enable_Rate_Limiter": "false"}) as server:
        t0 = time.monotonic()
        r = requests.post(server.url + RESET, json={}, timeout=5)
        elapsed = time.monotonic() - t0
        assert r.status_code == 401
        assert r.json() == {"status": "error", "message": "You must be logged in to do this."}
        assert elapsed >= 0.5  # the 6.x delay is there; no upper bound: a loaded CI machine must not flake
        r = requests.get(server.url + RESET, timeout=5)
        assert r.status_code == 405 and r.headers["allow"] == "POST, OPTIONS"
        assert r.json() == {"status": "error", "message": "API endpoint does not exist"}
        assert "cache-control" not in r.headers
        assert requests.get(server.url + "/api/info", timeout=5).json()["version"] == "6.10"


def test_behaviour_defaults_and_profiles() -> None:
    b = Behaviour()
    assert Behaviour.for_profile("8") == b and Behaviour.for_profile(8) == b
    assert Behaviour.for_profile("7") != b and Behaviour.for_profile("7").server_version.startswith("7.")
    agreed = ("auth_checked_first unauthenticated_status unauthenticated_message unauthenticated_body_7x "
              "unauthenticated_delay wrong_method_status two_factor_checked accept_any_code totp_window "
              "accept_stale_codes remember_me_minutes backup_codes_single_use password_fallback_accepts_plain "
              "lookup_before_permission username_ignores_case blank_id_means_self check_permission "
              "permission_checked_on reset_caller_instead clear_keys clear_sessions logout_caller "
              "clear_bystander_keys error_500_on_non_string ok_body_off_schema response_content_type "
              "rate_limit_headers error_type_suffix user_id_wins self_by_id_is_self_reset "
              "totp_invalid_available_methods").split()
    assert set(agreed) <= set(switch_names())
    six = Behaviour.for_profile("6")
    assert six.unauthenticated_delay == (0.5, 1.0) and six.wrong_method_status == 405
    assert not six.unauthenticated_body_7x and six.totp_invalid_available_methods
    try:
        Behaviour.for_profile("5")
        raise AssertionError("profile 5 accepted")
    except ValueError:
        pass

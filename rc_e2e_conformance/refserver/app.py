"""The Starlette app: one dispatcher owning routing, 404/405, errors, delays and cache headers."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import routes_auth as ra
from . import routes_users as ru
from .behaviour import Behaviour
from .common import NeedAuth
from .db import Database
from .responses import ApiError, error_response, json_response, unauthorized, wrong_method
from .routes_reset import reset_e2e_key
from .settings import Settings
from .state import AppState, log
from .store import Store

Handler = Callable[[Request], Awaitable[Response]]

# Setup routes are not rate limited here (real RC limits them too, but the suite's admin holds
# api-bypass-rate-limit); only users.resetE2EKey is, exactly as behaviour.md §5 describes.
ROUTES: dict[str, dict[str, Handler]] = {
    "/api/v1/users.resetE2EKey": {"POST": reset_e2e_key},
    "/api/v1/login": {"POST": ra.login},
    "/api/v1/logout": {"POST": ra.logout, "GET": ra.logout},
    "/api/v1/me": {"GET": ra.me},
    "/api/v1/users.2fa.enableEmail": {"POST": ra.enable_email_2fa},
    "/api/v1/users.2fa.disableEmail": {"POST": ra.disable_email_2fa},
    "/api/v1/users.generatePersonalAccessToken": {"POST": ra.generate_pat},
    "/api/v1/users.getPersonalAccessTokens": {"GET": ra.get_pats},
    "/api/v1/users.removePersonalAccessToken": {"POST": ra.remove_pat},
    "/api/v1/users.update": {"POST": ru.users_update},
    "/api/v1/users.create": {"POST": ru.users_create},
    "/api/v1/users.delete": {"POST": ru.users_delete},
    "/api/v1/users.info": {"GET": ru.users_info},
    "/api/v1/users.list": {"GET": ru.users_list},
    "/api/v1/e2e.setUserPublicAndPrivateKeys": {"POST": ru.set_keys},
    "/api/v1/e2e.fetchMyKeys": {"GET": ru.fetch_my_keys},
    "/api/v1/e2e.updateGroupKey": {"POST": ru.update_group_key},
    "/api/v1/subscriptions.getOne": {"GET": ru.subscription_get_one},
    "/api/v1/permissions.listAll": {"GET": ru.permissions_list_all},
    "/api/v1/permissions.update": {"POST": ru.permissions_update},
    "/api/info": {"GET": ru.server_info},
}
METHOD_CALL_PREFIX = "/api/v1/method.call/"
SETTINGS_PREFIX = "/api/v1/settings/"

# Its own generator: an embedded server shares the process with hypothesis, which warns when the
# global `random` state moves while it draws (and would replay differently).
_JITTER = random.Random()


def _resolve(path: str) -> tuple[dict[str, Handler] | None, dict[str, str]]:
    if path in ROUTES:
        return ROUTES[path], {}
    if path.startswith(METHOD_CALL_PREFIX) and len(path) > len(METHOD_CALL_PREFIX):
        return {"POST": ra.method_call}, {"method": path[len(METHOD_CALL_PREFIX):]}
    if path.startswith(SETTINGS_PREFIX) and "/" not in path[len(SETTINGS_PREFIX):] and len(path) > len(SETTINGS_PREFIX):
        return {"GET": ru.get_setting}, {"setting": path[len(SETTINGS_PREFIX):]}
    return None, {}


async def dispatch(request: Request) -> Response:
    st: AppState = request.app.state.rc
    b = st.behaviour
    table, path_params = _resolve(request.url.path.rstrip("/") or "/")
    try:
        if table is None:
            resp = json_response({"status": "error", "message": "API endpoint does not exist"}, 404)
        elif request.method == "OPTIONS":
            resp = Response(status_code=200, headers={"Allow": ", ".join([*table, "OPTIONS"])})
        elif request.method not in table:
            resp = wrong_method(b, ", ".join(table))
        else:
            request.scope["path_params"] = path_params
            resp = await table[request.method](request)
    except NeedAuth:
        resp = unauthorized(b)
    except ApiError as e:
        resp = error_response(e)
    except ClientDisconnect:  # the client hung up mid-body: nobody is left to answer, and it is not a bug
        log.info("client disconnected during %s %s", request.method, request.url.path)
        return Response(status_code=499)
    except Exception:  # a bug: answer JSON, but shout so no selftest can miss it
        log.exception("REFSERVER INTERNAL ERROR (5xx) on %s %s", request.method, request.url.path)
        resp = json_response({"success": False, "error": "Internal server error [refserver-bug]"}, 500)
    if resp.status_code in (401, 403) and b.unauthenticated_delay:
        await asyncio.sleep(_JITTER.uniform(*b.unauthenticated_delay))  # noqa: S311 - timing jitter
    # --latency: a real server's network and work time; logins also pay for bcrypt.
    delay = b.latency + (b.login_latency if request.url.path.rstrip("/") == "/api/v1/login" else 0.0)
    if delay > 0:
        await asyncio.sleep(delay)
    if b.cache_control_headers:
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("Pragma", "no-cache")
    return resp


class _Dispatcher:
    """A plain ASGI endpoint, so Starlette routes every HTTP method here (404/405 are ours)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await dispatch(Request(scope, receive))
        await response(scope, receive, send)


def create_app(db_path: str, behaviour: Behaviour | None = None, settings: Settings | None = None) -> Starlette:
    """An app over the SQLite file at db_path (created if missing)."""
    db = Database(db_path)
    app = Starlette(routes=[Route("/{path:path}", _Dispatcher())])
    app.state.rc = AppState(behaviour or Behaviour(), settings or Settings(), Store(db))
    return app


def ensure_admin(st: AppState, username: str | None, password: str | None, email: str | None,
                 email_verified: bool = False) -> bool:
    """Rocket.Chat's first-start admin (insertAdminUserFromEnv): only when there are no users yet.

    As in RC's initialData.ts: inserted directly (Users.create), so no e-mail 2FA flag and no TOTP;
    the address is verified only with ADMIN_EMAIL_VERIFIED=true; not added to default channels. Its
    second factor is the password fallback, or none at all while in the 8.x registration grace.
    """
    if not username or not password or st.store.count_users() > 0:
        return False
    st.store.create_user(username=username, name="Administrator", email=email or None, password=password,
                         roles=["admin"], verified=bool(email) and email_verified, email2fa=False,
                         join_default_channels=False)
    return True

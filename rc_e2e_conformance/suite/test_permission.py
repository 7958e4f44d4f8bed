"""Permission (PERM-*): only holders of edit-other-user-e2ee may reset someone else, and refusals change nothing."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import NOT_ALLOWED, expect_error, expect_keys, expect_success
from rc_e2e_conformance.server.provisioning import RESET

requirement = pytest.mark.requirement


@pytest.fixture
def user_role_may_reset_others(config_changes_allowed, provisioner):
    """Grants edit-other-user-e2ee to role "user" for one test, restoring the previous roles afterwards."""
    with provisioner.granted("edit-other-user-e2ee", "user"):
        yield


@requirement("PERM-01")
def test_error_not_allowed_when_caller_lacks_permission(client, unprivileged, victim):
    """A caller without edit-other-user-e2ee (valid code, existing target) → 400 error-not-allowed."""
    resp = client.post(RESET, headers=unprivileged.auth_headers(unprivileged.code()), json={"userId": victim.id})
    expect_error(resp, 400, "error-not-allowed", error=NOT_ALLOWED)


@requirement("PERM-02")
def test_refused_call_leaves_target_keys_and_sessions(client, provisioner, unprivileged, make_user):
    """A refused call changes nothing: the target keeps its keys and its session."""
    target = make_user("user", keys=True)
    provisioner.attempt_refused_reset(unprivileged, target)
    expect_keys(provisioner.fetch_keys(target), target.keys)


@requirement("PERM-03")
def test_success_when_callers_role_is_granted_the_permission(client, unprivileged, victim, user_role_may_reset_others):
    """The permission, not the admin role, grants the right: once role "user" holds it, the same call succeeds."""
    resp = client.post(RESET, headers=unprivileged.auth_headers(unprivileged.code()), json={"userId": victim.id})
    expect_success(resp)


@requirement("PERM-04")
def test_error_not_allowed_when_unprivileged_caller_names_themselves(client, make_user):
    """Naming yourself by userId is the "other user" path: without the permission → error-not-allowed."""
    caller = make_user("user", keys=False, verified=False, login=True)
    resp = client.post(RESET, headers=caller.auth_headers(caller.code()), json={"userId": caller.id})
    expect_error(resp, 400, "error-not-allowed", error=NOT_ALLOWED)

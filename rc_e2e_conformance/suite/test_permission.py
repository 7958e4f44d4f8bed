"""Permission (PERM-*): only holders of edit-other-user-e2ee may reset someone else, and refusals change nothing."""
from __future__ import annotations

import pytest

from rc_e2e_conformance.server.expect import NOT_ALLOWED, expect_error, expect_keys, expect_success, precondition

requirement = pytest.mark.requirement


@pytest.fixture
def user_role_may_reset_others(config_changes_allowed, provisioner):
    """Grants edit-other-user-e2ee to role "user" for one test, restoring the previous roles afterwards."""
    with provisioner.granted("edit-other-user-e2ee", "user"):
        yield


@requirement("PERM-01")
def test_error_not_allowed_when_caller_lacks_permission(unprivileged, victim):
    """A caller without edit-other-user-e2ee (valid code, existing target) → 400 error-not-allowed."""
    expect_error(unprivileged.reset(userId=victim.id), 400, "error-not-allowed", error=NOT_ALLOWED)


@requirement("PERM-02")
def test_refused_call_leaves_target_keys_and_sessions(unprivileged, privileged):
    """A refused call changes nothing: the target keeps its keys and its session."""
    # The session's privileged user has both; a server that resets it anyway ends its session, and it
    # logs in again before its next call (server/actors.py).
    precondition(unprivileged.reset(userId=privileged.id), "a call without the permission",
                 reached_permission_check=True)
    expect_keys(privileged.fetch_keys(), privileged.keys)


@requirement("PERM-03")
def test_success_when_callers_role_is_granted_the_permission(unprivileged, victim, user_role_may_reset_others):
    """The permission, not the admin role, grants the right: once role "user" holds it, the same call succeeds."""
    expect_success(unprivileged.reset(userId=victim.id))


@requirement("PERM-04")
def test_error_not_allowed_when_unprivileged_caller_names_themselves(unprivileged):
    """Naming yourself by userId is the "other user" path: without the permission → error-not-allowed."""
    expect_error(unprivileged.reset(userId=unprivileged.id), 400, "error-not-allowed", error=NOT_ALLOWED)

"""One property run: provision the caller and users, send each generated case, judge it, check the bystanders."""
from __future__ import annotations

import hashlib
import json
import queue
import threading
from concurrent.futures import CancelledError, Future
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import requests

from rc_e2e_conformance.contract.config import Settings
from rc_e2e_conformance.contract.errors import HarnessError, TargetError
from rc_e2e_conformance.contract.redact import redact
from rc_e2e_conformance.contract.releases import Release
from rc_e2e_conformance.contract.results import PropertyStats
from rc_e2e_conformance.server.actors import Actor
from rc_e2e_conformance.server.cleanup import interrupted, raise_if_interrupted
from rc_e2e_conformance.server.expect import UNAVAILABLE
from rc_e2e_conformance.server.provisioning import Provisioner

from .caller import CODE_HEADER, PropertyCaller, malformed_code
from .checks import TARGET_KEYS, build_checks, judge, sent_json_body
from .explicit import explicit_cases
from .ledger import Finding, Ledger
from .safety import USER_ID_HEADER, GuardedSession, NameMapper, PoolUser, UnsafeRequest, js_blank
from .schema import PLACEHOLDER_ID, PLACEHOLDER_TOKEN, operation

if TYPE_CHECKING:  # a pytest plugin module: imported by pytest first, so it can be assertion-rewritten
    from rc_e2e_conformance.server.inflight import InFlight

POOL_SIZE = 3  # disposable users generated requests may name (and so reset): no keys, no session needed
BYSTANDERS = 1  # a disposable user no generated request may name: its keys and session must survive
#: Dedicated admin callers. A case that acts as a caller holds one for its whole round trip (a
#: self-reset logs that caller out, and its next case must see it), so three callers let three such
#: cases be in flight at once on the run's bounded pool (three threads, four requests at most).
CALLERS = 3
TEXT_LIMIT = 2000
TOKEN_HEADER = "x-auth-token"


def _header(case: Any, name: str) -> Any:
    return next((v for k, v in dict(case.headers or {}).items() if k.lower() == name), None)


@dataclass
class Exploration:
    """Everything one property run needs, shared by the exploring test and the per-requirement tests."""

    settings: Settings
    url: str
    release: Release
    provisioner: Provisioner
    inflight: InFlight
    callers: list[PropertyCaller]
    pool: list[Actor]
    bystanders: list[Actor]
    mapper: NameMapper
    session: GuardedSession
    two_factor: bool | None
    ledger: Ledger
    admin_keys: str | None = None  # digest of the configured admin's keys before the run
    _free: queue.SimpleQueue[PropertyCaller] = field(default_factory=queue.SimpleQueue, repr=False)
    _seen: set[str] = field(default_factory=set, repr=False)  # requests already sent (see _first_time)
    _pending: list[Future[Any]] = field(default_factory=list, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _sessions: list[GuardedSession] = field(default_factory=list, repr=False)

    # -- setup -----------------------------------------------------------------------------------
    @classmethod
    def provision(cls, settings: Settings, url: str, release: Release, provisioner: Provisioner,
                  inflight: InFlight, two_factor: bool | None, seed: int, totp: bool = True) -> Exploration:
        """Create the run's users: the pool first, one after the other (which username each pool index
        gets must not depend on thread timing: a seed reproduces the same requests), then the callers
        and bystanders on the bounded pool while the admin's keys are read."""
        pool = [provisioner.create_user("user", keys=False) for _ in range(POOL_SIZE)]
        mapper = NameMapper(run=provisioner.prefix, pool=tuple(PoolUser(a.id, a.username) for a in pool))
        new_caller = partial(provisioner.create_user, "admin", totp=totp, keys=False)
        new_bystander = partial(provisioner.create_user, "user", keys=True)
        making = ([inflight.submit(new_caller) for _ in range(CALLERS)]
                  + [inflight.submit(new_bystander) for _ in range(BYSTANDERS)])
        admin_keys = _admin_keys_digest(provisioner)
        made = [inflight.wait(future) for future in making]
        callers, bystanders = [PropertyCaller(actor) for actor in made[:CALLERS]], made[CALLERS:]
        session = GuardedSession(mapper)
        session.verify = settings.tls_verify
        session.caller_ids.update(c.id for c in callers)
        run = cls(settings=settings, url=url, release=release, provisioner=provisioner, inflight=inflight,
                  callers=callers, pool=pool, bystanders=bystanders, mapper=mapper, session=session,
                  two_factor=two_factor, ledger=Ledger(seed=seed, examples=settings.examples),
                  admin_keys=admin_keys)
        for caller in callers:
            run._free.put(caller)
        return run

    def sanitize(self, case: Any) -> None:
        """Map every user reference a generated case carries (body of any type, query, X-User-Id)."""
        body = case.body
        if isinstance(body, (bytes, str)):
            case.body = self.mapper.map_raw(body)
        elif isinstance(body, (dict, list)):
            case.body = self.mapper.map_body(body)
        if isinstance(case.query, dict) and case.query:
            case.query = self.mapper.map_body(case.query)
        headers = case.headers
        if headers and not self._authenticates_as_caller(case):
            for name in list(headers):
                value = headers[name]
                if name.lower() == USER_ID_HEADER and isinstance(value, str) and not js_blank(value) \
                        and not self.mapper.allowed(value):
                    headers[name] = self.mapper.nobody(value, tail=False)

    # -- sending -----------------------------------------------------------------------------------
    def send_explicit(self) -> None:
        """The hand-picked cases (explicit.py), built with the public `APIOperation.Case`."""
        op = operation()
        for spec in explicit_cases(self.mapper):
            raise_if_interrupted()
            case = op.Case(body=spec.body, media_type="application/json", headers=dict(spec.headers))
            self.ledger.cases += 1
            self._submit(self._send_as_caller, case, spec.apply)

    def run_case(self, case: Any) -> None:
        """Send one generated case, as the property caller unless it negates the auth headers, and file
        each failed check under its requirement."""
        raise_if_interrupted()
        if self.ledger.harness_error:
            return  # the run already cannot be judged: send nothing more
        self.ledger.generated += 1
        self.sanitize(case)
        as_caller = self._authenticates_as_caller(case)
        if not self._first_time(case, as_caller):
            self.ledger.duplicates += 1
            return
        self.ledger.cases += 1
        if as_caller:  # live credentials (after a self-reset) and a fresh code, right before sending
            self._submit(self._send_as_caller, case, _fresh_credentials)
        else:  # answered 401 without effect by a conformant server (delayed up to 6.x)
            self._submit(self._send_and_judge, case)

    def _first_time(self, case: Any, as_caller: bool) -> bool:
        """Is this the first generated case to send this request? Different generated cases often become
        the same request once the caller's credentials and a valid code replace the generated ones (the
        same empty body with five generated codes is five identical self-resets): each is sent once."""
        headers = {k.lower(): v for k, v in dict(case.headers or {}).items()}
        if as_caller and not malformed_code(headers.get(CODE_HEADER)):
            headers[CODE_HEADER] = "<a fresh valid code>"
        key = repr((case.method, case.path, case.media_type, case.body, case.query, case.cookies,
                    sorted(headers.items())))
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def _submit(self, fn: Any, *args: Any) -> None:
        self._pending.append(self.inflight.submit(fn, *args))

    def _authenticates_as_caller(self, case: Any) -> bool:
        return _header(case, TOKEN_HEADER) == PLACEHOLDER_TOKEN and _header(case, USER_ID_HEADER) == PLACEHOLDER_ID

    def _send_as_caller(self, case: Any, prepare: Any) -> None:
        """Send a case as one of the callers, held for the round trip: its answer may log that caller
        out (a self-reset), which the caller's next case must see."""
        if self.ledger.harness_error:
            return
        caller, response = self._free.get(), None
        try:
            prepare(case, caller)
            response = self._send(case, self._thread_session())
            if response is not None:
                caller.note_answer(response.status_code, named_pool_user=self._named_pool_user(response))
        finally:
            self._free.put(caller)
        if response is not None:
            self._judge(case, response, had_session=True)

    def _send(self, case: Any, session: GuardedSession) -> Any:
        """One request through a guarded session; None (and the run marked unjudgeable) on failure."""
        try:
            response = case.call(base_url=self.url, session=session, timeout=self.settings.timeout,
                                 verify=session.verify)
        except UnsafeRequest as exc:
            self.ledger.fail_run(str(exc))
            return None
        except requests.RequestException as exc:
            self.ledger.fail_run(f"network error during the property run: {type(exc).__name__}: {exc}")
            return None
        self.ledger.count_status(response.status_code)
        if response.status_code in UNAVAILABLE:  # like the hand-written expectations: could not judge
            self.ledger.fail_run(f"the target answered HTTP {response.status_code} (a gateway or an overloaded "
                                 "server): that says nothing about the rules; re-run when it is up")
            return None
        return response

    def _send_and_judge(self, case: Any) -> None:
        if self.ledger.harness_error:
            return
        response = self._send(case, self._thread_session())
        if response is not None:
            self._judge(case, response, had_session=False)

    def _thread_session(self) -> GuardedSession:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self.session.sibling()
            self._sessions.append(session)  # list.append is atomic: closed at cleanup
        return session

    def drain(self) -> None:
        """Wait for every case on the pool; an unexpected exception makes the run unjudgeable."""
        pending, self._pending = self._pending, []
        for future in pending:
            try:
                self.inflight.wait(future)
            except CancelledError:
                self.ledger.fail_run("the property run stopped before every case was sent")
            except Exception as exc:
                self.ledger.fail_run(f"property run: {type(exc).__name__}: {exc}")

    def _named_pool_user(self, response: Any) -> bool:
        _, body = sent_json_body(response)
        if not isinstance(body, dict):
            return False
        return any(isinstance(body.get(k), str) and self.mapper.pool_user(body[k]) is not None for k in TARGET_KEYS)

    # -- judging -----------------------------------------------------------------------------------
    def _judge(self, case: Any, response: Any, *, had_session: bool) -> None:
        checks = build_checks(self.mapper, self.two_factor, self.release, lambda _: had_session)
        try:
            failures = judge(case, response, checks, base_url=self.url)
        except requests.RequestException as exc:  # a check's own request failed
            self.ledger.fail_run(f"network error in a check: {type(exc).__name__}: {exc}")
            return
        except Exception as exc:  # a check that cannot run is the harness's problem, never the server's failure
            self.ledger.fail_run(f"a check could not judge an answer: {type(exc).__name__}: {exc}")
            return
        if 400 <= response.status_code < 500:
            self._note_undocumented(response)
        for requirement, name, failure in failures:
            self.ledger.add(self._finding(requirement, name, failure, case, response))

    def _note_undocumented(self, response: Any) -> None:
        try:
            body = json.loads(response.content or b"")
        except (ValueError, RecursionError):
            return
        if isinstance(body, dict) and response.status_code == 400 and "errorType" not in body:
            # Well-formed but undocumented (e.g. the leaked TypeError): a SHOULD-level note, never a failure.
            self.ledger.note(f"undocumented 400 error: {str(body.get('error'))[:160]}")

    def _finding(self, requirement: str, name: str, failure: Any, case: Any, response: Any) -> Finding:
        request = response.request
        body = request.body or b""
        body_text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        req_text = f"{request.method} {request.url}\n{headers}\n\n{body_text[:TEXT_LIMIT]}"
        ctype = response.headers.get("Content-Type") or "no content type"
        answer = (response.content or b"").decode("utf-8", "replace")[:TEXT_LIMIT]
        resp_text = f"{response.status_code} {ctype}\n{answer}"
        try:
            curl = case.as_curl_command(headers=dict(request.headers), verify=bool(self.session.verify),
                                        base_url=self.url)
        except Exception as exc:  # a curl line is a convenience: never lose the finding over it
            curl = f"(no curl line: {type(exc).__name__})"
        return Finding(requirement=requirement, check=name, title=str(failure.title),
                       message=redact(str(failure.message)), request=redact(req_text), response=redact(resp_text),
                       curl=redact(curl), size=len(body) + len(request.url or ""))

    # -- after the run -----------------------------------------------------------------------------
    def finish(self, run_stats: PropertyStats | None) -> None:
        """Wait for the cases on the pool, check the bystanders (SCHEMA-04), record the run's statistics."""
        try:
            if interrupted():  # nothing will be judged: drop every queued send now
                self.ledger.fail_run("the run was interrupted")
                for future in self._pending:
                    future.cancel()
            self.drain()
            if not self.ledger.harness_error:
                self._check_bystanders()
        finally:
            self.ledger.finished = True
            if run_stats is not None:
                run_stats.cases = self.ledger.cases
                run_stats.duplicates = self.ledger.duplicates
                run_stats.failures = self.ledger.failure_count
                run_stats.seed = self.ledger.seed
                run_stats.examples = self.ledger.examples

    def _check_bystanders(self) -> None:
        for actor in self.bystanders:
            problems = self._intact_problems(actor)
            if problems:
                self.ledger.add(Finding(
                    requirement="SCHEMA-04", check="bystanders_intact",
                    title=f"a user no generated request named lost {' and '.join(problems)}",
                    message=f"bystander {actor.username}: " + ", ".join(problems), request="(after the run)",
                    response="", curl="", size=0))
        digest = _admin_keys_digest(self.provisioner)
        if self.admin_keys is not None and digest != self.admin_keys:
            self.ledger.add(Finding(requirement="SCHEMA-04", check="bystanders_intact",
                                    title="the configured admin's keys or session changed during the run",
                                    message="the admin was never named, yet its keys/session changed",
                                    request="(after the run)", response="", curl="", size=0))

    def _intact_problems(self, actor: Actor) -> list[str]:
        problems = []
        if actor.me().status_code != 200:
            problems.append("its session")
            actor.relogin()  # a fresh session to read the keys with
        resp = actor.fetch_keys()
        try:
            body = resp.json()
        except ValueError:
            raise TargetError(f"e2e.fetchMyKeys as {actor.username}: HTTP {resp.status_code}, not JSON") from None
        if actor.keys is not None and (body.get("public_key"), body.get("private_key")) != actor.keys:
            problems.append("its E2E keys")
        return problems

    def cleanup(self) -> None:
        for future in self._pending:
            future.cancel()  # before the caller and the pool the queued cases name are deleted
        self.drain()
        failures = []
        for actor in [*(c.actor for c in self.callers), *self.pool, *self.bystanders]:
            try:
                self.provisioner.delete_user(actor)
            except HarnessError as exc:
                failures.append(str(exc))
        for session in [self.session, *self._sessions]:
            session.close()
        if failures:
            raise HarnessError(redact("property-run cleanup: " + "; ".join(failures)))


def _fresh_credentials(case: Any, caller: PropertyCaller) -> None:
    caller.apply(case)


def _admin_keys_digest(provisioner: Provisioner) -> str | None:
    """A digest of the configured admin's session state and keys (None when they cannot be read)."""
    admin = provisioner.admin
    me = admin.me()
    keys = admin.fetch_keys()
    if keys.status_code != 200:
        return None
    try:
        body = keys.json()
    except ValueError:
        return None
    material = json.dumps([me.status_code, body.get("public_key"), body.get("private_key")])
    return hashlib.sha256(material.encode()).hexdigest()

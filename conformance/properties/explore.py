"""One property run: provision the caller and users, build the schemathesis schema, send and judge cases."""
from __future__ import annotations

import hashlib
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from schemathesis.checks import CheckContext
from schemathesis.config import HealthCheck
from schemathesis.core import NotSet
from schemathesis.engine.run import PhaseName
from schemathesis.generation import GenerationMode

from ..actors import Actor
from ..client import Client
from ..cleanup import interrupted, raise_if_interrupted
from ..config import Settings
from ..errors import HarnessError, TargetError
from ..paths import SPEC_PATH
from ..provisioning import Provisioner
from ..redact import redact, register_secret
from ..results import PropertyStats
from ..targets import Target, probe_two_factor
from .caller import PropertyCaller, make_auth_provider
from .checks import build_checks, judge
from .explicit import ExplicitCase, explicit_cases
from .ledger import Finding, Ledger
from .safety import USER_ID_HEADER, GuardedSession, NameMapper, PoolUser, UnsafeRequest, js_blank
from .shard import CHILD_PHASES, PARENT_PHASES, FuzzShard, make_job
from .workers import Workers

POOL_SIZE = 3  # disposable users generated requests may name (and so reset)
BYSTANDERS = 2  # disposable users no generated request may name: their keys and sessions must survive
TEXT_LIMIT = 2000
TOKEN_HEADER = "x-auth-token"


def _content_type(response: Any) -> str:
    for name, values in response.headers.items():
        if name.lower() == "content-type":
            return values[0] if isinstance(values, list) and values else str(values)
    return "no content type"


@dataclass
class Exploration:
    """Everything one property run needs, shared by the exploring test and the per-requirement tests."""

    settings: Settings
    target: Target
    client: Client
    provisioner: Provisioner
    caller: PropertyCaller
    pool: list[Actor]
    bystanders: list[Actor]
    mapper: NameMapper
    session: GuardedSession
    two_factor: bool | None
    ledger: Ledger = field(default_factory=Ledger)
    enforced: set[str] = field(default_factory=set)  # ignored_auth: operations proven to enforce auth
    explicit: dict[int, ExplicitCase] = field(default_factory=dict)
    admin_keys: str | None = None  # digest of the configured admin's keys before the run
    shard: FuzzShard | None = field(default=None, repr=False)  # the child process running the fuzzing phase
    shard_caller: Actor | None = field(default=None, repr=False)  # the child's own caller
    shard_seconds: float | None = None  # how long the child took to send and judge its cases
    shard_cases: int | None = None  # how many of the ledger's cases the child sent
    workers: Workers | None = field(default=None, repr=False)  # deferred sends and judgements
    _auth_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.workers is None:
            self.workers = Workers(self.session)

    # -- setup -----------------------------------------------------------------------------------
    @classmethod
    def provision(cls, settings: Settings, target: Target, client: Client, provisioner: Provisioner,
                  shard: FuzzShard | None = None) -> Exploration:
        """Create the run's users; with `shard`, hand the fuzzing phase to that child process at once.

        One after the other: which username each pool index gets must not depend on thread timing (a
        seed reproduces the same requests, names included). The pool, the bystanders and the admin's
        key digest exist before the child sends anything; the child's job leaves as early as that
        allows, and this process's own caller is created while the child already works.
        """
        try:
            pool = [provisioner.create_user("user", keys=True) for _ in range(POOL_SIZE)]
            bystanders = [provisioner.create_user("user", keys=True) for _ in range(BYSTANDERS)]
            mapper = NameMapper(run=provisioner.prefix, pool=tuple(PoolUser(a.id, a.username) for a in pool))
            admin_keys = _admin_keys_digest(provisioner)
            seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(2**32)
            shard_caller: Actor | None = None
            two_factor: bool | None = None
            if shard is not None:
                shard_caller = provisioner.create_user("admin", totp=True, keys=False)
                two_factor = probe_two_factor(client, shard_caller)  # no code, a name that cannot exist: no effect
                shard.submit(make_job(settings, target.url, seed, mapper.run, two_factor, shard_caller, pool))
            caller = PropertyCaller(provisioner.create_user("admin", totp=True, keys=False))
            if shard is None:
                two_factor = probe_two_factor(client, caller.actor)
        except BaseException:
            if shard is not None:
                shard.cancel()
            raise
        session = GuardedSession(mapper)
        session.verify = settings.tls_verify
        return cls(settings=settings, target=target, client=client, provisioner=provisioner, caller=caller,
                   pool=pool, bystanders=bystanders, mapper=mapper, session=session, two_factor=two_factor,
                   ledger=Ledger(seed=seed, examples=settings.examples), admin_keys=admin_keys, shard=shard,
                   shard_caller=shard_caller)

    @property
    def probes_auth(self) -> bool:
        """Does this process send schemathesis' ignored_auth probes? Not when a fuzzing child runs: the
        child's first authenticated 2xx comes at once (coverage cases reach one late), so the check's
        three probes, each delayed 0.5-1 s up to 6.x, overlap the rest of the run instead of ending it.
        The child itself has no child, so it probes."""
        return self.shard is None

    @property
    def phases(self) -> tuple[str, ...]:
        """The schemathesis phases this process runs (all, unless a child runs the fuzzing)."""
        return PARENT_PHASES if self.shard is not None else PARENT_PHASES + CHILD_PHASES

    def build_schema(self, phases: tuple[str, ...] | None = None) -> Any:
        """The schemathesis schema: N examples, the seed, both generation modes, no example database."""
        schema = schemathesis.openapi.from_path(str(SPEC_PATH))
        schema.config.phases.update(phases=list(phases if phases is not None else self.phases))
        schema.config.update(base_url=self.target.url, request_timeout=self.settings.timeout,
                             tls_verify=self.settings.tls_verify,
                             suppress_health_check=[HealthCheck.all])
        # database "none": nothing replays between runs, so the same seed gives the same requests.
        schema.config.generation.update(max_examples=self.settings.examples, database="none",
                                        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
        schema.config.seed = self.ledger.seed
        schema.auth(refresh_interval=None)(make_auth_provider(self.caller))

        # Hooks must be plain functions (schemathesis tags them with attributes).
        def map_case(context: Any, case: Any) -> Any:
            """Safety: every generated user reference becomes a pool user or a never-matching name."""
            self.sanitize(case)
            return case

        def before_add_examples(context: Any, examples: list[Any]) -> None:
            """Append the hand-picked raw-body, media-type and header cases."""
            for spec in explicit_cases(self.mapper):
                case = context.operation.Case(body=spec.body, media_type="application/json",
                                              headers=dict(spec.headers))
                self.explicit[id(case)] = spec
                examples.append(case)

        schema.hook(map_case)
        schema.hook(before_add_examples)
        return schema

    def explore(self, phases: tuple[str, ...]) -> None:
        """Run `phases` outside pytest (the fuzzing child): the very tests schemathesis' pytest
        integration builds for the exploring test, called directly."""
        from schemathesis.core.result import Err
        from schemathesis.pytest.lazy import get_all_tests

        def test_generated_requests(case: Any) -> None:
            self.run_case(case)

        for result in get_all_tests(schema=self.build_schema(phases), test_func=test_generated_requests,
                                    settings=None, given_kwargs=None):
            if isinstance(result, Err):
                raise HarnessError(f"the spec cannot be explored: {result.err()}")
            _, test = result.ok()
            test()

    def sanitize(self, case: Any) -> None:
        """Map every user reference a generated case carries (body of any type, query, X-User-Id)."""
        body = case.body
        if isinstance(body, (bytes, str)):
            case.body = self.mapper.map_raw(body)
        elif not isinstance(body, NotSet):
            case.body = self.mapper.map_body(body)
        if isinstance(case.query, dict) and case.query:
            case.query = self.mapper.map_body(case.query)
        headers = case.headers
        if headers and not case._has_explicit_auth:
            for name in list(headers):
                value = headers[name]
                if name.lower() == USER_ID_HEADER and isinstance(value, str) and not js_blank(value) \
                        and not self.mapper.allowed(value):
                    headers[name] = self.mapper.nobody(value, tail=False)

    # -- one case ----------------------------------------------------------------------------------
    def run_case(self, case: Any) -> None:
        """Send one generated case as the property caller and file each failed check under its ID.

        A case authenticating as the caller (its id and live token) is sent here, in order: its answer
        may log the caller out (a self-reset), which the next case must see. Every other case (no or a
        wrong token, a token sent with another id) is answered 401 without effect by a conformant
        server, so it is sent from a worker thread. Every answer is judged on a worker thread too
        (ignored_auth's probes are unauthenticated requests as well); `finish` waits for all of them.
        """
        raise_if_interrupted()
        if self.ledger.harness_error:
            return  # the run already cannot be judged: send nothing more
        self.ledger.cases += 1
        self._prepare(case)
        if not self._carries_caller_session(case):
            self.workers.submit(self._send_and_judge, case)
            return
        response = self._send(case)
        if response is None:
            return
        had_auth = response.request.headers.get("X-User-Id") == self.caller.id
        named_pool = self._named_pool_user(response)
        self.caller.note_answer(response.status_code, had_auth=had_auth, named_pool_user=named_pool)
        self.workers.submit(self._judge, case, response)

    def _carries_caller_session(self, case: Any) -> bool:
        """Does the case authenticate as the caller (its id and its live token)? Only then can it act."""
        sent = {name.lower(): value for name, value in (case.headers or {}).items()}
        return sent.get(TOKEN_HEADER) == self.caller.actor.token and sent.get(USER_ID_HEADER) == self.caller.id

    def _send(self, case: Any, session: GuardedSession | None = None) -> Any:
        """One request through a guarded session; None (and the run marked unjudgeable) on failure."""
        session = session or self.session
        try:
            response = case.call(session=session, timeout=self.settings.timeout, verify=session.verify)
        except UnsafeRequest as exc:
            self.ledger.fail_run(str(exc))
            return None
        except requests.RequestException as exc:
            self.ledger.fail_run(f"network error during the property run: {type(exc).__name__}: {exc}")
            return None
        self.ledger.count_status(response.status_code)
        return response

    def _send_and_judge(self, case: Any) -> None:
        if self.ledger.harness_error:
            return
        response = self._send(case, self.workers.session())
        if response is not None:
            self._judge(case, response)

    def drain(self) -> None:
        """Wait for every deferred send and judgement; an unexpected exception makes the run unjudgeable."""
        for exc in self.workers.wait():
            self.ledger.fail_run(f"property run: {type(exc).__name__}: {exc}")

    def _prepare(self, case: Any) -> None:
        self.sanitize(case)
        spec = self.explicit.get(id(case))
        if spec is not None:
            spec.apply(case, self.caller, self.pool)
        elif case._has_explicit_auth:
            self.caller.apply(case)  # fresh token (after a self-reset) and fresh code, right before sending
        self.session.caller_ids.add(self.caller.id)  # in place: the worker threads' sessions share the set

    def _named_pool_user(self, response: Any) -> bool:
        from .checks import sent_json_body  # local: checks imports safety only

        _, body = sent_json_body(response)
        if not isinstance(body, dict):
            return False
        return any(isinstance(body.get(k), str) and self.mapper.pool_user(body[k]) is not None
                   for k in ("userId", "username", "user"))

    def _context(self, case: Any) -> CheckContext:
        meta = case._meta
        phase = PhaseName.from_str(meta.phase.name.value) if meta is not None else None
        schema = case.operation.schema
        return CheckContext(
            override=case._override, auth=None, headers=None,
            config=schema.config.checks_config_for(operation=case.operation, phase=phase.value if phase else None),
            transport_kwargs={"base_url": self.target.url, "timeout": self.settings.timeout,
                              "verify": self.session.verify},
            response_checks=None, phase=phase, auth_enforced_operations=self.enforced)

    def _judge(self, case: Any, response: Any) -> None:
        checks = build_checks(self.mapper, self.two_factor, self._auth_lock, auth_probes=self.probes_auth)
        try:
            failures = judge(case, response, self._context(case), checks)
        except UnsafeRequest as exc:
            self.ledger.fail_run(str(exc))
            return
        except requests.RequestException as exc:  # a check's own probe request failed
            self.ledger.fail_run(f"network error in a check's probe request: {type(exc).__name__}: {exc}")
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
        resp_text = (f"{response.status_code} {_content_type(response)}\n"
                     f"{(response.content or b'').decode('utf-8', 'replace')[:TEXT_LIMIT]}")
        try:
            curl = case.as_curl_command(headers=dict(request.headers), verify=bool(self.session.verify))
        except Exception as exc:  # a curl line is a convenience: never lose the finding over it
            curl = f"(no curl line: {type(exc).__name__})"
        return Finding(requirement=requirement, check=name, title=str(failure.title),
                       message=redact(str(failure.message)), request=redact(req_text), response=redact(resp_text),
                       curl=redact(curl), size=len(body) + len(request.url or ""))

    # -- after the run -----------------------------------------------------------------------------
    def finish(self, run_stats: PropertyStats | None, wait: float | None = None) -> None:
        """Wait for the deferred cases and the fuzzing child (at most `wait` s), check the bystanders
        (SCHEMA-04) and record the run's statistics."""
        try:
            if interrupted():  # nothing will be judged: stop the child and every queued send now
                self.ledger.fail_run("the run was interrupted")
                if self.shard is not None:
                    self.shard.cancel()
            self.drain()
            self._merge_shard(wait)
            if not self.ledger.harness_error:
                self._check_bystanders()
        finally:
            self.ledger.finished = True
            if run_stats is not None:
                run_stats.cases = self.ledger.cases
                run_stats.failures = self.ledger.failure_count
                run_stats.seed = self.ledger.seed
                run_stats.examples = self.ledger.examples

    def _merge_shard(self, wait: float | None) -> None:
        """File the child's cases, answers and findings in this ledger (its requests count as sent here)."""
        if self.shard is None:
            return
        if self.ledger.harness_error:  # this run cannot be judged anyway: do not wait for the child
            self.shard.cancel()
            return
        try:
            result = self.shard.result(wait)
        except HarnessError as exc:
            self.ledger.fail_run(str(exc))
            return
        if result.get("error"):
            self.ledger.fail_run(f"the fuzzing process failed: {result['error']}")
            return
        for token in result.get("tokens", ()):
            register_secret(token)
        self.ledger.merge_wire(result["ledger"])
        self.shard_cases = int(result["ledger"]["cases"])
        if self.shard_cases < 1:
            self.ledger.fail_run("the fuzzing process sent no generated case: the fuzzing phase was not judged")
        self.session.record((str(k), str(v)) for k, v in result["sent"])
        self.shard_seconds = float(result.get("seconds", 0.0))

    def named_users(self) -> set[str]:
        return {u.id for _, v in self.session.sent if (u := self.mapper.pool_user(v)) is not None}

    def _check_bystanders(self) -> None:
        named = self.named_users()
        untouched = self.bystanders + [a for a in self.pool if a.id not in named]
        for actor in untouched:
            problems = self._intact_problems(actor)
            if problems:
                role = "bystander" if actor in self.bystanders else "never-named pool user"
                self.ledger.add(Finding(
                    requirement="SCHEMA-04", check="bystanders_intact",
                    title=f"a user no generated request named lost {' and '.join(problems)}",
                    message=f"{role} {actor.username}: " + ", ".join(problems), request="(after the run)",
                    response="", curl="", size=0))
        digest = _admin_keys_digest(self.provisioner)
        if self.admin_keys is not None and digest != self.admin_keys:
            self.ledger.add(Finding(requirement="SCHEMA-04", check="bystanders_intact",
                                    title="the configured admin's keys or session changed during the run",
                                    message="the admin was never named, yet its keys/session changed",
                                    request="(after the run)", response="", curl="", size=0))

    def _intact_problems(self, actor: Actor) -> list[str]:
        problems = []
        if self.provisioner.me(actor).status_code != 200:
            problems.append("its session")
            actor.relogin()  # a fresh session to read the keys with
        resp = self.provisioner.fetch_keys(actor)
        try:
            body = resp.json()
        except ValueError:
            raise TargetError(f"e2e.fetchMyKeys as {actor.username}: HTTP {resp.status_code}, not JSON") from None
        if actor.keys is not None and (body.get("public_key"), body.get("private_key")) != actor.keys:
            problems.append("its E2E keys")
        return problems

    def cleanup(self) -> None:
        if self.shard is not None:
            self.shard.cancel()  # before its caller and the pool it names are deleted
        self.drain()
        self.workers.close()
        failures = []
        callers = [c.actor for c in (self.caller,) if c is not None] + [a for a in (self.shard_caller,) if a]
        for actor in [*callers, *self.pool, *self.bystanders]:
            try:
                self.provisioner.delete_user(actor)
            except HarnessError as exc:
                failures.append(str(exc))
        self.session.close()
        if failures:
            raise HarnessError(redact("property-run cleanup: " + "; ".join(failures)))


def _admin_keys_digest(provisioner: Provisioner) -> str | None:
    """A digest of the configured admin's session state and keys (None when they cannot be read)."""
    admin = provisioner.admin
    me = provisioner.me(admin)
    keys = provisioner.fetch_keys(admin)
    if keys.status_code != 200:
        return None
    try:
        body = keys.json()
    except ValueError:
        return None
    material = json.dumps([me.status_code, body.get("public_key"), body.get("private_key")])
    return hashlib.sha256(material.encode()).hexdigest()


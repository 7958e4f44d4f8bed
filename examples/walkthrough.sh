#!/usr/bin/env bash
# Walk the docs page of users.resetE2EKey with curl against a server you own (the reference server by default):
#   ADMIN_USERNAME=admin ADMIN_PASS=secret ADMIN_EMAIL=admin@example.com python -m rc_e2e_conformance.refserver --port 3000 &
#   bash examples/walkthrough.sh [http://127.0.0.1:3000] [admin] [secret]
# Works on Rocket.Chat 6.x, 7.x and 8.x defaults, where a user with a verified e-mail is asked for an
# e-mailed code at login (behaviour.md §11.1). So it creates its users UNVERIFIED, logs them in, lets
# the admin mark alice's address verified, and switches TOTP on with the session it already has:
#   alice-<run> (role admin, TOTP) calls the reset; bob-<run> is the target; carol-<run> (role user,
#   unverified, no TOTP) meets the password fallback (on 8.6+ a fresh user passes 2FA anyway).
# Names are unique per run, so it can run again against the same server. The admin itself must have
# no TOTP and no active e-mail 2FA (a fresh server's env admin): its second factor for the 2FA-protected
# users.create (8.x) and users.update is the password fallback, sha256 hex of its password.
# Needs curl, sha256sum and a Python with pyotp: $PYTHON (default python3).
# Never point it at a server you do not own: it resets bob's keys.
set -euo pipefail
BASE=${1:-http://127.0.0.1:3000}; ADMIN=${2:-admin}; PASS=${3:-secret}
PY=${PYTHON:-python3}
"$PY" -c "import pyotp" 2>/dev/null || { echo "walkthrough: $PY cannot import pyotp (set PYTHON)" >&2; exit 2; }
B=$BASE/api/v1
J='Content-Type: application/json'
RUN=$(date +%s)$$$RANDOM
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
field() { "$PY" -c "import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[k]
print(d)" "$@"; }
# A code of the current step; at a step edge the server's ±1 window still accepts it.
totp() { "$PY" -c "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())" "$1"; }
# A 6-digit code that is wrong in every step the server accepts (never a lucky match).
wrong_totp() { "$PY" -c "import pyotp,sys,time
t=pyotp.TOTP(sys.argv[1]); near={t.at(time.time()+30*s) for s in range(-2,3)}
print(next(c for c in ('%06d' % n for n in range(0,10**6,7919)) if c not in near))" "$1"; }
show() { echo "== $1"; shift; curl -sS "$@"; echo; }
login() { curl -sS "$B/login" -H "$J" -d "{\"user\":\"$1\",\"password\":\"$2\"}"; }
must() { grep -q '"success":true' <<<"$2" || { echo "walkthrough: $1 failed: $2" >&2; exit 1; }; }
ddp() { "$PY" -c "import json,sys; print(json.dumps({'message': json.dumps({'msg':'method','id':'1','method':sys.argv[1],'params':sys.argv[2:]})}))" "$@"; }

# 1. the admin logs in (it only creates users; it is never the caller of the reset)
L=$(login "$ADMIN" "$PASS"); AID=$(field data userId <<<"$L"); ATOK=$(field data authToken <<<"$L")
A=(-H "X-User-Id: $AID" -H "X-Auth-Token: $ATOK" -H "$J" -H "x-2fa-code: $(sha "$PASS")")

# 2. three users, all unverified: none is asked for an e-mailed code at its first login
ALICE=alice-$RUN; BOBN=bob-$RUN; CAROL=carol-$RUN
for spec in "$ALICE admin" "$BOBN user" "$CAROL user"; do
  set -- $spec
  R=$(curl -sS "$B/users.create" "${A[@]}" -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"name\":\"$1\",\"password\":\"$1-pass\",\"roles\":[\"$2\"],\"verified\":false}")
  must "users.create $1" "$R"
done
L=$(login "$ALICE" "$ALICE-pass"); UID_=$(field data userId <<<"$L"); UTOK=$(field data authToken <<<"$L")
U=(-H "X-User-Id: $UID_" -H "X-Auth-Token: $UTOK" -H "$J")
BOB=$(curl -sS "$B/users.info?username=$BOBN" "${A[@]}" | field user _id)

# 3. the admin verifies alice's address (TOTP needs one); alice keeps the session from step 2
must "users.update" "$(curl -sS "$B/users.update" "${A[@]}" -d "{\"userId\":\"$UID_\",\"data\":{\"verified\":true}}")"

# 4. alice switches TOTP on (Rocket.Chat's DDP methods over REST: 2fa:enable, then 2fa:validateTempToken)
R=$(curl -sS "$B/method.call/2fa:enable" "${U[@]}" -d "$(ddp 2fa:enable)")
SECRET=$("$PY" -c "import json,sys; print(json.loads(json.load(sys.stdin)['message'])['result']['secret'])" <<<"$R")
R=$(curl -sS "$B/method.call/2fa:validateTempToken" "${U[@]}" -d "$(ddp 2fa:validateTempToken "$(totp "$SECRET")")")
grep -q '\\"codes\\"' <<<"$R" || { echo "walkthrough: 2fa:validateTempToken failed: $R" >&2; exit 1; }

# 5. every documented answer
show "Authorization (401)"            "$B/users.resetE2EKey" -H "$J" -d "{\"userId\":\"$BOB\"}"
show "TOTP Required (400)"            "$B/users.resetE2EKey" "${U[@]}" -d "{\"userId\":\"$BOB\"}"
show "Invalid TOTP (400)"             "$B/users.resetE2EKey" "${U[@]}" -H "x-2fa-code: $(wrong_totp "$SECRET")" -d "{\"userId\":\"$BOB\"}"
show "Invalid User (400)"             "$B/users.resetE2EKey" "${U[@]}" -H "x-2fa-code: $(totp "$SECRET")" -d '{"userId":"nope"}'
L=$(login "$CAROL" "$CAROL-pass"); C=(-H "X-User-Id: $(field data userId <<<"$L")" -H "X-Auth-Token: $(field data authToken <<<"$L")" -H "$J")
show "No Permission (400)"            "$B/users.resetE2EKey" "${C[@]}" -H "x-2fa-code: $(sha "$CAROL-pass")" -d "{\"userId\":\"$BOB\"}"
show "Success (200)"                  "$B/users.resetE2EKey" "${U[@]}" -H "x-2fa-code: $(totp "$SECRET")" -d "{\"userId\":\"$BOB\"}"

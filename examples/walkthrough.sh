#!/usr/bin/env bash
# Walk the docs page of users.resetE2EKey with curl against a server you own (the reference server by default):
#   ADMIN_USERNAME=admin ADMIN_PASS=secret ADMIN_EMAIL=admin@example.com python -m refserver --port 3000 &
#   bash examples/walkthrough.sh [http://127.0.0.1:3000] [admin] [secret]
# It creates the users alice (role admin, TOTP), bob (role user) and carol (role user, unverified
# e-mail, so her second factor is the password fallback), then shows every documented answer.
# Never point it at a server you do not own: it resets bob's keys.
set -euo pipefail
BASE=${1:-http://127.0.0.1:3000}; ADMIN=${2:-admin}; PASS=${3:-secret}
B=$BASE/api/v1
J='Content-Type: application/json'
field() { python3 -c "import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[k]
print(d)" "$@"; }
totp() { python3 -c "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())" "$1"; }
show() { echo "== $1"; shift; curl -sS "$@"; echo; }
login() { curl -sS "$B/login" -H "$J" -d "{\"user\":\"$1\",\"password\":\"$2\"}"; }
ddp() { python3 -c "import json,sys; print(json.dumps({'message': json.dumps({'msg':'method','id':'1','method':sys.argv[1],'params':sys.argv[2:]})}))" "$@"; }

# 1. the admin logs in (it only creates users; it is never the caller of the reset)
L=$(login "$ADMIN" "$PASS"); AID=$(field data userId <<<"$L"); ATOK=$(field data authToken <<<"$L")
A=(-H "X-User-Id: $AID" -H "X-Auth-Token: $ATOK" -H "$J")

# 2. three users
for u in 'alice","roles":["admin"],"verified":true' 'bob","verified":true' 'carol","verified":false'; do
  name=${u%%\"*}
  curl -sS "$B/users.create" "${A[@]}" -d "{\"username\":\"$u,\"email\":\"$name@example.com\",\"name\":\"$name\",\"password\":\"$name-pass\"}" >/dev/null
done
L=$(login alice alice-pass); UID_=$(field data userId <<<"$L"); UTOK=$(field data authToken <<<"$L")
U=(-H "X-User-Id: $UID_" -H "X-Auth-Token: $UTOK" -H "$J")
BOB=$(curl -sS "$B/users.info?username=bob" "${A[@]}" | field user _id)

# 3. alice switches TOTP on (Rocket.Chat's DDP methods over REST: 2fa:enable, then 2fa:validateTempToken)
R=$(curl -sS "$B/method.call/2fa:enable" "${U[@]}" -d "$(ddp 2fa:enable)")
SECRET=$(python3 -c "import json,sys; print(json.loads(json.load(sys.stdin)['message'])['result']['secret'])" <<<"$R")
curl -sS "$B/method.call/2fa:validateTempToken" "${U[@]}" -d "$(ddp 2fa:validateTempToken "$(totp "$SECRET")")" >/dev/null

# 4. every documented answer
show "Authorization (401)"            "$B/users.resetE2EKey" -H "$J" -d "{\"userId\":\"$BOB\"}"
show "TOTP Required (400)"            "$B/users.resetE2EKey" "${U[@]}" -d "{\"userId\":\"$BOB\"}"
show "Invalid TOTP (400)"             "$B/users.resetE2EKey" "${U[@]}" -H 'x-2fa-code: 000000' -d "{\"userId\":\"$BOB\"}"
show "Invalid User (400)"             "$B/users.resetE2EKey" "${U[@]}" -H "x-2fa-code: $(totp "$SECRET")" -d '{"userId":"nope"}'
L=$(login carol carol-pass); C=(-H "X-User-Id: $(field data userId <<<"$L")" -H "X-Auth-Token: $(field data authToken <<<"$L")" -H "$J")
FALLBACK=$(printf %s carol-pass | sha256sum | cut -d' ' -f1)   # password fallback: sha256 hex of the password
show "No Permission (400)"            "$B/users.resetE2EKey" "${C[@]}" -H "x-2fa-code: $FALLBACK" -d "{\"userId\":\"$BOB\"}"
show "Success (200)"                  "$B/users.resetE2EKey" "${U[@]}" -H "x-2fa-code: $(totp "$SECRET")" -d "{\"userId\":\"$BOB\"}"

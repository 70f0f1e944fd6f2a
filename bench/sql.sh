#!/usr/bin/env bash
# Authenticated REGISTERs per second with the accounts in the userdb file,
# SQLite, PostgreSQL and MariaDB (servers started here, on loopback), each
# cold (every registration's account read from the database: fresh daemon,
# every user once) and cached (the same users again, cache-expire = 1800).
# Then the userdb file again with [global] state = redis:// (a redis-server
# started here): every nonce is the nodes' shared one, and each count is
# taken in Redis, one round trip per registration.
# Figures are ratios against the userdb file in the same run: the machine
# is shared and noisy.
#
# usage: bench/sql.sh PBXGUARD_BINARY [USERS]
set -euo pipefail
PBX=$(realpath "${1:?pbxguard binary}")
USERS=${2:-5000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
SCEN="$ROOT/tests/e2e/scenarios/register-once.xml"
PORT=27230

fail() { echo "bench: $*" >&2; exit 1; }
at_exit() { AT_EXIT_CMDS+=("$*"); }
AT_EXIT_CMDS=()
trap 'for c in "${AT_EXIT_CMDS[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"' EXIT
. "$ROOT/tests/e2e/dbservers.sh"

bench_users "$T" "$USERS"
# The same A1s in SQL: accounts(login, domain, password) and Flexisip's default request.
python3 - "$T" "$USERS" >"$T/accounts.sql" <<'PY'
import hashlib, sys
n = int(sys.argv[2])
print("BEGIN;")
print("CREATE TABLE accounts (login VARCHAR(64) NOT NULL, domain VARCHAR(64) NOT NULL, password VARCHAR(255));")
print("CREATE INDEX accounts_login ON accounts (login, domain);")
for i in range(1, n + 1):
    user, pw = "b%d" % i, "Bench-pw-%d" % i
    ha1 = hashlib.md5(("%s:example.org:%s" % (user, pw)).encode()).hexdigest()
    print("INSERT INTO accounts VALUES ('%s', 'example.org', '%s');" % (user, ha1))
print("COMMIT;")
PY
python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).executescript(open(sys.argv[2]).read())' \
	"$T/accounts.db" "$T/accounts.sql"
start_postgres 27432
PGDB=pbx psql_run <"$T/accounts.sql"
PGDB=pbx psql_run "GRANT SELECT ON accounts TO pbxguard"
start_mariadb 27306
{ echo "USE pbx;"; cat "$T/accounts.sql"; } | my_run

run_sipp() { # $1 = port -> prints "seconds successful"
	local start end ok
	start=$(date +%s.%N)
	sipp -sf "$SCEN" -inf "$T/users.csv" -m "$USERS" -r 20000 -rp 1000 -l 1000 \
		-i 127.0.0.1 -p 0 -timeout 120 -nostdin -trace_stat -stf "$T/stat-$1.csv" \
		127.0.0.1:"$1" >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	ok=$(tail -1 "$T/stat-$1.csv" | awk -F';' '{print $16}')
	rm -f "$T/stat-$1.csv"
	echo "$(echo "$end - $start" | bc) $ok"
}

# $1 name, $2... extra [module::Authentication] lines
run_backend() {
	local name=$1
	shift
	bench_conf "udp:127.0.0.1:$PORT"
	printf '%s\n' "$@" >"$T/extra"
	sed -i "/^file-path/r $T/extra" "$T/pbxguard.conf"
	[ -z "${STATE:-}" ] || sed -i "s|^\[global\]|[global]\nstate = $STATE|" "$T/pbxguard.conf"
	"$PBX" serve -c "$T/pbxguard.conf" >"$T/pbxguard-$name.log" 2>&1 &
	PBX_PID=$!
	PIDS+=($PBX_PID)
	sleep 1
	bench_measure "$name-cold" $PORT registrations "$PBX_PID"
	bench_measure "$name-hot" $PORT registrations "$PBX_PID"
	kill "$PBX_PID"
	wait "$PBX_PID" 2>/dev/null || true
}

echo "bench: $USERS registrations (REGISTER, 401, REGISTER, 200), each user once cold then again cached"
run_backend file
run_backend sqlite3 "db-implementation = soci" "soci-backend = sqlite3" "soci-connection-string = db=$T/accounts.db"
run_backend postgresql "db-implementation = soci" "soci-backend = postgresql" \
	"soci-connection-string = host=127.0.0.1 port=27432 dbname=pbx user=pbxguard password='${PG_PASS//\'/\\\'}'"
run_backend mysql "db-implementation = soci" "soci-backend = mysql" \
	"soci-connection-string = db=pbx user=pbxguard password='${MY_PASS//\'/\\\'}' host=127.0.0.1 port=27306"
start_redis 27379
STATE=redis://127.0.0.1:27379/0 run_backend redis
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
r = lambda n: [float(x) for x in open("%s/result-%s" % (t, n)).read().split()]
for kind in ("cold", "hot"):
    base = r("file-" + kind)
    for b in ("sqlite3", "postgresql", "mysql", "redis"):
        x = r("%s-%s" % (b, kind))
        print("ratio %-10s %-4s vs userdb file: %.2fx registrations/s, %.2fx CPU per registration"
              % (b, kind, x[0] / base[0], x[1] / base[1]))
PY

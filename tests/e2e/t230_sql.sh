#!/usr/bin/env bash
# Accounts in SQL (db-implementation = soci): the same 100 sipp registrations
# against SQLite, PostgreSQL and MariaDB servers started here, each with a
# request shape Flexisip users write; injection attempts stay data; a
# database stopped mid-test gives 503 + Retry-After, never a 200 or a 403,
# and the node answers again when it is back.
. "$(dirname "$0")/lib.sh"
PORT=25230

make_users "$T/users.csv" 100 u

# $1 backend, $2 connection string, $3 request ("" = Flexisip's default)
sql_conf() {
	write_conf $PORT /nonexistent "available-algorithms = MD5 SHA-256
db-implementation = soci
soci-backend = $1
soci-connection-string = $2
${3:+soci-password-request = $3}" "pike-limit = 0
maxretry = 100"
	cat >>"$T/pbxguard.conf" <<CONF
[http]
listen = https:127.0.0.1:25233
AuthUserFile = $T/passwords
CONF
}
htpasswd -bcB "$T/passwords" admin 'Sql-admin-pw' 2>/dev/null
# /metrics into a file, then the sample: "NAME{LABELS} VALUE" lines.
metric() {
	curl -sk -u admin:Sql-admin-pw -o "$T/metrics" https://127.0.0.1:25233/metrics
	promtool check metrics <"$T/metrics" >/dev/null 2>&1 || fail "promtool rejects /metrics"
	awk -v k="$1" '$1 == k { print $2 }' "$T/metrics"
}

# 100 registrations over $1 (u1 or t1); all must succeed.
register_all() {
	local tp=$1 what=$2
	sipp -sf "$E2E_DIR/scenarios/register.xml" -inf "$T/users.csv" -m 100 -r 200 -l 20 \
		-t "$tp" -i 127.0.0.1 -p 0 -timeout 30 -timeout_error -nostdin \
		-trace_stat -stf "$T/stat.csv" -trace_err -error_file "$T/sipp-err.log" \
		127.0.0.1:$PORT >"$T/sipp.out" 2>&1 ||
		fail "$what: sipp failed: $(head -c 1500 "$T/sipp-err.log")"
	local ok
	ok=$(tail -1 "$T/stat.csv" | awk -F';' '{print $16}')
	rm -f "$T/stat.csv"
	[ "$ok" = 100 ] || fail "$what: $ok of 100 registered"
	pass "$what: 100 users registered and refreshed ($tp)"
}

# A REGISTER from user $1 with no credentials, from 127.0.0.$2: the status line.
first_answer() {
	printf 'REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.%s:5999;branch=z9hG4bK-%s\r\nFrom: <sip:%s@example.org>;tag=1\r\nTo: <sip:%s@example.org>\r\nCall-ID: sql-%s\r\nCSeq: 1 REGISTER\r\nContact: <sip:%s@127.0.0.%s:5999>\r\nContent-Length: 0\r\n\r\n' \
		"$2" "$RANDOM$RANDOM" "$1" "$1" "$RANDOM$RANDOM" "$1" "$2" |
		/usr/bin/python3 "$E2E_DIR/sipclient.py" udp 127.0.0.1 $PORT - --src "127.0.0.$2" --wait 5 --first
}

# Users whose names are SQL: each must be refused like any unknown user.
injections() {
	local what=$1
	for u in "x'or'1'='1" "u1'--" "u1%27%20or%20%271%27=%271"; do
		sipp_once 127.0.0.9 "$u" anything $PORT 403 ||
			fail "$what: user $u was not refused with 403: $(tail -3 "$T"/once.*.out | tail -3)"
	done
	grep -q "u1'--@example.org authenticated" "$T/daemon.log" && fail "$what: injection let in"
	pass "$what: three injection attempts as user names are refused with 403"
}

# ---- SQLite, Flexisip's default request (one MD5 column) -----------------
/usr/bin/python3 "$E2E_DIR/sqlaccounts.py" default 100 |
	/usr/bin/python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.stdin.read())' "$T/accounts.db"
sql_conf sqlite3 "db=$T/accounts.db timeout=2" ""
start_daemon
grep -q "accounts in sqlite3" "$T/daemon.log" || fail "the daemon does not say where accounts are"
register_all u1 "sqlite3, Flexisip's default request"
sipp_once 127.0.0.7 u5 wrong-password $PORT 403 || fail "sqlite3: wrong password not refused"
pass "sqlite3: a wrong password gets 403"
injections sqlite3
stop_daemon

# ---- PostgreSQL, the Flexisip Account Manager's tables -------------------
start_postgres 25432
/usr/bin/python3 "$E2E_DIR/sqlaccounts.py" flexiapi 100 | PGDB=pbx psql_run
PGDB=pbx psql_run "GRANT SELECT ON accounts, passwords TO pbxguard"
sql_conf postgresql "host=127.0.0.1 port=25432 dbname=pbx user=pbxguard password='${PG_PASS//\'/\\\'}'" \
	"select password, algorithm from passwords join accounts on passwords.account_id = accounts.id where accounts.username = :id and accounts.domain = :domain"
start_daemon
register_all u1 "postgresql, FlexiAPI's tables"
register_all t1 "postgresql over TCP"
[ "$(metric pbxguard_store_up)" = 1 ] || fail "metrics: pbxguard_store_up is not 1"
q=$(metric 'pbxguard_store_lookups_total{outcome="query"}') c=$(metric 'pbxguard_store_lookups_total{outcome="cached"}')
[ "$q" -ge 100 ] && [ "$c" -ge 300 ] || fail "metrics: $q queries and $c cached answers for 800 REGISTERs"
pass "postgresql: /metrics counts $q queries and $c cached answers for 800 REGISTERs (100 users, UDP then TCP)"
injections postgresql

# The database stops: cached accounts still verify (a wrong password is
# still wrong), a name not cached gets 503 + Retry-After — not 200, not 403,
# no strike.
pg_ctl_run stop
sipp_once 127.0.0.1 u7 pw-u7-Secret $PORT 200 || fail "postgresql down: a cached account no longer registers"
sipp_once 127.0.0.1 u7 wrong $PORT 403 || fail "postgresql down: a cached account's wrong password was not refused"
pass "postgresql down: cached accounts still verify, both ways"
# u-new is not cached: the lookup must fail, whatever the client sends.
for i in 1 2 3 4 5 6; do
	a=$(first_answer "newuser$i" 20)
	echo "$a" | grep -q "^SIP/2.0 503 " || fail "postgresql down: '$a' for an uncached user, want 503"
done
first_answer newuser9 20 | grep -q "^Retry-After: " || fail "postgresql down: no Retry-After"
grep -q "postgresql: .*SIP requests get 503" "$T/daemon.log" || fail "postgresql down: not logged"
[ "$(ctl bans list | grep -c 127.0.0.20)" = 0 ] || fail "postgresql down: the client was banned"
grep 'RemoteAddress="IPV4/UDP/127.0.0.20/' "$T/security.log" | grep -q 'ChallengeResponseFailed\|InvalidAccountID' &&
	fail "postgresql down: a failure was logged against the client"
[ "$(metric pbxguard_store_up)" = 0 ] || fail "metrics: the database is down, pbxguard_store_up says $(metric pbxguard_store_up)"
[ "$(metric 'pbxguard_sip_store_unavailable_total')" -ge 7 ] || fail "metrics: 503s not counted"
[ "$(metric 'pbxguard_store_lookups_total{outcome="failed"}')" -ge 1 ] || fail "metrics: failed lookups not counted"
pass "postgresql down: 7 requests for an uncached user got 503 + Retry-After, no strike, no ban; /metrics says so"
pg_ctl_run start
kill -HUP "$DAEMON_PID" # empties the cache: u100 must come from the database again
sleep 0.3
sipp_once 127.0.0.1 u100 pw-u100-Secret $PORT 200 || fail "postgresql back: u100 does not register"
grep -q "postgresql: answering again" "$T/daemon.log" || fail "postgresql back: not logged"
pass "postgresql back: the next lookup reconnects and u100 registers (cache emptied by SIGHUP)"
stop_daemon

# ---- MariaDB, the seed's soci-backend = mysql, Flexisip's documented request
start_mariadb 23306
{ echo "USE pbx;"; /usr/bin/python3 "$E2E_DIR/sqlaccounts.py" flexisip 100; } | my_run
sql_conf mysql "db=pbx user=pbxguard password='${MY_PASS//\'/\\\'}' host=127.0.0.1 port=23306" \
	"select password, algorithm from accounts where login = :id and domain = :domain"
start_daemon
register_all u1 "mysql (MariaDB), Flexisip's documented request"
injections mysql
mariadb_down
for i in 1 2 3; do
	a=$(first_answer "other$i" 21)
	echo "$a" | grep -q "^SIP/2.0 503 " || fail "mariadb down: '$a' for an uncached user, want 503"
done
pass "mariadb down: uncached users get 503"
mariadb_up
kill -HUP "$DAEMON_PID"
sleep 0.3
sipp_once 127.0.0.1 u99 pw-u99-Secret $PORT 200 || fail "mariadb back: u99 does not register"
pass "mariadb back: u99 registers"
stop_daemon

# ---- serve --check: a request that would bypass binding is refused --------
sql_conf sqlite3 "db=$T/accounts.db" "select password from accounts where login = ? or login = :id"
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 && fail "--check accepted '?'"
grep -q "placeholder of the engine" "$T/check.out" || fail "--check: $(cat "$T/check.out")"
sql_conf sqlite3 "db=$T/accounts.db" "select password from accounts where login = :user"
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 && fail "--check accepted :user"
grep -q "unknown placeholder :user" "$T/check.out" || fail "--check: $(cat "$T/check.out")"
sql_conf sqlite3 "db=$T/missing.db" ""
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 && fail "--check accepted a missing file"
grep -q "missing.db" "$T/check.out" || fail "--check: $(cat "$T/check.out")"
pass "serve --check refuses '?', an unknown placeholder and a missing database"

#!/usr/bin/env bash
# AMI, IAX2 and web users from the same PostgreSQL server as SIP's accounts
# (part 9): [manager] and [iax2] soci-password-request, whose extra columns
# are the users' manager.conf / iax.conf keys, and Apache's
# AuthDBDUserPWQuery for the web page, with a hash htpasswd made. Real
# clients: an AMI client with Challenge/MD5, our IAX2 client, curl. The
# database stopped: temporary errors, no strike; back: logins again.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/dbservers.sh"
PORT=25260 AMI=25261 IAXP=25262 WEB=25263 PBXP=25265
IAX="/usr/bin/python3 $E2E_DIR/iax.py"
ami_py() { PYTHONPATH="$E2E_DIR" /usr/bin/python3 - "$@"; }

start_postgres 25264
hash=$(htpasswd -nbB webadmin 'Web-admin-Secret-1' | cut -d: -f2-)
PGDB=pbx psql_run <<SQL
CREATE TABLE ami_users (name text PRIMARY KEY, secret text, readperm text, writeperm text,
	permit text, deny text);
INSERT INTO ami_users VALUES
	('admin', 'Ami-admin-Secret-1', 'system,call', 'system,reporting', NULL, NULL),
	('watcher', 'Ami-watch-Secret-1', 'security', 'call', NULL, NULL),
	('elsewhere', 'Ami-else-Secret-1', 'call', 'call', '10.0.0.0/8', '0.0.0.0/0.0.0.0');
CREATE TABLE iax_friends (name text PRIMARY KEY, secret text, auth text, type text);
INSERT INTO iax_friends VALUES ('alice', 'Iax-alice-Secret-1', 'md5', NULL),
	('caller', 'Iax-caller-Secret-1', 'md5', 'user');
CREATE TABLE web_users (name text PRIMARY KEY, hash text);
INSERT INTO web_users VALUES ('webadmin', '$hash');
GRANT SELECT ON ami_users, iax_friends, web_users TO pbxguard;
SQL
printf 'version:1\n' >"$T/userdb"
conninfo="host=127.0.0.1 port=25264 dbname=pbx user=pbxguard password='${PG_PASS//\'/\\\'}'"

conf() { # $1: the web request
	write_conf $PORT "$T/userdb" "soci-backend = postgresql
soci-connection-string = $conninfo" "maxretry = 20"
	cat >>"$T/pbxguard.conf" <<CONF
[manager]
port = $AMI
soci-password-request = SELECT secret, 'CLRTXT', readperm AS read, writeperm AS write, permit, deny FROM ami_users WHERE name = :id
[iax2]
bindport = $IAXP
upstream = 127.0.0.1:$PBXP
soci-password-request = SELECT secret, 'CLRTXT', auth, type FROM iax_friends WHERE name = :id
[http]
listen = https:127.0.0.1:$WEB
AuthDBDUserPWQuery = $1
CONF
}

# serve --check prepares each request on the server, and names the key of a bad one.
conf "SELECT hash FROM web_users WHERE name = %s AND nosuchcolumn = 1"
! "$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 || fail "--check passed a request with an unknown column"
grep -q "nosuchcolumn" "$T/check.out" || fail "--check: $(cat "$T/check.out")"
conf "SELECT hash FROM web_users WHERE name = :user"
! "$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 || fail "--check passed an unknown placeholder"
grep -q "\[http\] AuthDBDUserPWQuery: unknown placeholder :user" "$T/check.out" || fail "--check: $(cat "$T/check.out")"
conf "SELECT hash FROM web_users WHERE name = %s"
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 || fail "--check: $(cat "$T/check.out")"
pass "serve --check prepares the AMI, IAX2 and web requests on PostgreSQL and names the key of a bad one"

start_daemon
grep -q "AMI: AMI users from postgresql" "$T/daemon.log" || fail "AMI: the store is not logged"
grep -q "IAX2 accounts from postgresql" "$T/daemon.log" || fail "IAX2: the store is not logged"

# ---- AMI: Challenge/MD5 against the row's secret; read/write from its columns
ami_py "$AMI" <<'PY' || fail "AMI session"
import sys
from ami import Client, header
def act(c, text):  # the answer, past events (read = system brings FullyBooted)
    c.send(text.replace("\n", "\r\n") + "\r\n\r\n")
    return c.until(lambda m: m.startswith("Response:"))[0]
port = int(sys.argv[1])
c = Client(port)
r = c.login_md5("admin", "Ami-admin-Secret-1")
assert header(r, "Message") == "Authentication accepted", repr(r)
# write = system,reporting (a column) lets PBXGuardStatus run.
r = act(c, "Action: PBXGuardStatus")
assert header(r, "Response") == "Success", repr(r)
c.close()
c = Client(port)
r = c.login_md5("watcher", "Ami-watch-Secret-1")
assert header(r, "Message") == "Authentication accepted", repr(r)
# write = call: the same action is refused.
r = act(c, "Action: PBXGuardStatus")
assert header(r, "Message") == "Permission denied", repr(r)
c.close()
for user, secret in (("admin", "wrong-secret"), ("nobody", "Ami-admin-Secret-1"),
                     ("elsewhere", "Ami-else-Secret-1")):
    c = Client(port)
    r = c.login_md5(user, secret)
    assert header(r, "Message") == "Authentication failed", (user, r)
    c.close()
PY
grep -q "AMI: 127.0.0.1:[0-9]* failed to authenticate as 'elsewhere': refused by ACL" "$T/daemon.log" ||
	fail "AMI: the row's permit/deny was not applied: $(grep elsewhere "$T/daemon.log")"
pass "AMI: users from SQL log in with Challenge/MD5; read/write and permit/deny come from the row's columns; wrong secret, unknown user and ACL refused"

# ---- IAX2: MD5 against the row's secret; type from its column ------------------
out=$($IAX register 127.0.0.1:$IAXP --src 127.0.0.2 --user alice --secret Iax-alice-Secret-1 --refresh 120)
[[ "$out" == *"REGACK refresh=120"* ]] || fail "IAX2: alice from SQL: $out"
out=$($IAX register 127.0.0.1:$IAXP --src 127.0.0.3 --user alice --secret wrong) || true
[[ "$out" == *"REGREJ cause='Registration Refused'"* ]] || fail "IAX2: wrong secret: $out"
out=$($IAX register 127.0.0.1:$IAXP --src 127.0.0.3 --user caller --secret Iax-caller-Secret-1) || true
[[ "$out" == *"REGREJ cause='Registration Refused'"* ]] || fail "IAX2: type = user registered: $out"
pass "IAX2: alice (a friend by default) registers with the row's secret; a wrong secret and a type=user row are refused"

# The PBX calls alice, whose phone challenges the door: the door answers with
# the secret of the row she registered with.
$IAX register 127.0.0.1:$IAXP --src 127.0.0.6 --user alice --secret Iax-alice-Secret-1 --stay 8 \
	--challenge >"$T/phone.log" 2>&1 &
PHONE=$!
for _ in $(seq 1 50); do grep -q REGACK "$T/phone.log" && break; sleep 0.1; done
out=$($IAX pbx 127.0.0.1:$PBXP --dial alice --door 127.0.0.1:$IAXP --voice 10) || true
kill $PHONE 2>/dev/null || true
wait $PHONE 2>/dev/null || true
grep -q "inbound auth md5: ok" "$T/phone.log" || fail "IAX2: the door did not answer alice's challenge: $(cat "$T/phone.log")"
[[ "$out" == *"dial: ACCEPT"*"dial: voice sent 10 received 10"* ]] || fail "IAX2: PBX to alice: $out"
pass "IAX2: the PBX's call reaches alice; her phone's MD5 challenge is answered with her row's secret; voice both ways"

# ---- web: Apache's AuthDBDUserPWQuery, a bcrypt hash from htpasswd -------------
code() { curl -sk -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code -u 'webadmin:Web-admin-Secret-1' https://127.0.0.1:$WEB/pbxguard/)" = 200 ] || fail "web: webadmin refused"
[ "$(code -u 'webadmin:wrong' https://127.0.0.1:$WEB/pbxguard/)" = 401 ] || fail "web: wrong password let in"
[ "$(code -u 'nobody:Web-admin-Secret-1' https://127.0.0.1:$WEB/pbxguard/)" = 401 ] || fail "web: unknown user let in"
[ "$(code -u "x' OR '1'='1:x" https://127.0.0.1:$WEB/pbxguard/)" = 401 ] || fail "web: injection let in"
pass "web: the htpasswd bcrypt hash from SQL lets webadmin in; wrong password, unknown user, an injection: 401"

# ---- the database stops: temporary errors, no strike, nobody in ----------------
pg_ctl_run stop
ami_py "$AMI" <<'PY' || fail "AMI with the database down"
import sys
from ami import Client, header
c = Client(int(sys.argv[1]), src="127.0.0.30")
r = c.login_md5("dbdown", "Whatever-Secret-1")
assert header(r, "Message") == "Authentication temporarily unavailable", repr(r)
# The session stays open: the client may try again.
r = c.action("Action: Challenge\nAuthType: MD5")
assert header(r, "Response") == "Success", repr(r)
c.close()
PY
out=$($IAX register 127.0.0.1:$IAXP --src 127.0.0.30 --user newpeer --secret x) || true
[[ "$out" == *"REGREJ cause='Temporary failure' code=41"* ]] || fail "IAX2, database down: $out"
h=$(curl -sk -D - -o /dev/null -u 'newweb:Whatever-Secret-1' --interface 127.0.0.30 https://127.0.0.1:$WEB/pbxguard/)
[[ "$h" == "HTTP/1.1 503"* ]] || fail "web, database down: $h"
grep -qi "^Retry-After: " <<<"$h" || fail "web, database down: no Retry-After"
for i in 1 2 3 4 5 6; do
	$IAX register 127.0.0.1:$IAXP --src 127.0.0.30 --user "newpeer$i" --secret x >/dev/null || true
done
[ "$(ctl bans list | grep -c 127.0.0.30)" = 0 ] || fail "database down: the client was banned"
! grep 'RemoteAddress="IPV4/[A-Z]*/127.0.0.30/' "$T/security.log" | grep -q 'ChallengeResponseFailed\|InvalidAccountID\|InvalidPassword' ||
	fail "database down: a failure was logged against the client"
grep -q "AMI: 127.0.0.30:[0-9]*: login not checked: postgresql does not answer" "$T/daemon.log" || fail "AMI: not logged"
# /metrics, as webadmin (verified before, so from the cache): each store says it is down.
curl -sk -u 'webadmin:Web-admin-Secret-1' -o "$T/metrics" https://127.0.0.1:$WEB/metrics || fail "no /metrics"
promtool check metrics <"$T/metrics" >/dev/null 2>&1 || fail "promtool rejects /metrics"
for svc in AMI IAX2 HTTP; do
	grep -q "^pbxguard_users_store_up{service=\"$svc\"} 0$" "$T/metrics" ||
		fail "metrics: $svc's store not down: $(grep users_store "$T/metrics")"
	grep -q "^pbxguard_users_store_lookups_total{service=\"$svc\",outcome=\"failed\"} [1-9]" "$T/metrics" ||
		fail "metrics: $svc's failed lookups not counted"
done
pass "database down: AMI 'Authentication temporarily unavailable' (session kept), IAX2 REGREJ 'Temporary failure' (41), web 503 + Retry-After; 8 tries, no strike, no ban; /metrics says each store is down"

pg_ctl_run start
kill -HUP "$DAEMON_PID" # empties the caches: every user comes from the database again
sleep 0.3
out=$($IAX register 127.0.0.1:$IAXP --src 127.0.0.2 --user alice --secret Iax-alice-Secret-1)
[[ "$out" == *"REGACK"* ]] || fail "IAX2 after the database came back: $out"
[ "$(code -u 'webadmin:Web-admin-Secret-1' https://127.0.0.1:$WEB/pbxguard/)" = 200 ] || fail "web after the database came back"
ami_py "$AMI" <<'PY' || fail "AMI after the database came back"
import sys
from ami import Client, header
c = Client(int(sys.argv[1]))
r = c.login_md5("admin", "Ami-admin-Secret-1")
assert header(r, "Message") == "Authentication accepted", repr(r)
PY
pass "database back: AMI, IAX2 and web users log in again (caches emptied by SIGHUP)"
stop_daemon

#!/usr/bin/env bash
# `pbxguard serve` with no configuration: loopback only, creates its state
# directory and a demo account (printed once, stored hashed), says what it
# listens on, and the demo account registers.
. "$(dirname "$0")/lib.sh"
export PBXGUARD_STATEDIR="$T/state"

# Port 5060 is the default: make sure nobody else holds it.
if ss -Hlun "sport = :5060" | grep -q . || ss -Hltn "sport = :5060" | grep -q .; then
	fail "port 5060 is busy on this machine; cannot test the embedded default"
fi
"$PBXGUARD" serve >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do grep -q "pbxguard ready" "$T/daemon.log" && break; sleep 0.05; done
grep -q "pbxguard ready: configuration (embedded default)" "$T/daemon.log" || fail "not ready: $(cat "$T/daemon.log")"
for l in "udp:127.0.0.1:5060" "tcp:127.0.0.1:5060" "udp:\[::1\]:5060" "tcp:\[::1\]:5060" "tls:127.0.0.1:5061"; do
	grep -q "listening on $l" "$T/daemon.log" || fail "does not say it listens on $l"
done
! grep -q "listening on .*0\.0\.0\.0" "$T/daemon.log" || fail "listens beyond loopback"
pw=$(sed -n 's/.*user 1000@localhost  password \([0-9a-f]*\)$/\1/p' "$T/daemon.log")
[ ${#pw} = 16 ] || fail "no demo credentials printed"
[ "$(stat -c %a "$T/state")" = 700 ] || fail "state dir mode"
[ "$(stat -c %a "$T/state/userdb")" = 600 ] || fail "userdb mode"
[ "$(stat -c %a "$T/state/security.log")" = 600 ] || fail "security.log mode"
! grep -q "$pw" "$T/state/userdb" || fail "demo password stored in clear"
[ "$(stat -c %a "$T/state/tls/key.pem")" = 600 ] || fail "TLS key mode"
grep -q "made a self-signed ECDSA P-256 one for localhost" "$T/daemon.log" || fail "no certificate made"
pass "embedded default: loopback listeners (TLS on 5061 with a self-signed certificate), state dir 0700, userdb, security.log and key 0600, hashes only"

# The web admin page: an admin with a random password, never admin/admin.
wpw=$(sed -n 's/.*user admin  password \([0-9a-f]*\)$/\1/p' "$T/daemon.log")
[ ${#wpw} = 24 ] || fail "no web admin credentials printed"
grep -q "HTTP: listening on https://127.0.0.1:8443" "$T/daemon.log" || fail "no admin page on 8443"
[ "$(stat -c %a "$T/state/htpasswd")" = 600 ] || fail "htpasswd mode"
grep -q '^admin:\$2y\$10\$' "$T/state/htpasswd" || fail "the admin is not bcrypt"
! grep -q "$wpw" "$T/state/htpasswd" || fail "web password stored in clear"
[ "$(curl -sk -o /dev/null -w '%{http_code}' -u "admin:$wpw" https://127.0.0.1:8443/pbxguard/)" = 200 ] ||
	fail "the printed admin password does not open the page"
[ "$(curl -sk -o /dev/null -w '%{http_code}' -u admin:admin https://127.0.0.1:8443/pbxguard/)" = 401 ] ||
	fail "admin/admin works"
pass "embedded default: the admin page on https://127.0.0.1:8443 with a random admin password printed once (bcrypt, 0600); admin/admin refused"

linphone_register 1000 "$pw" 5060 localhost || fail "the demo account does not register"
grep -q "1000@localhost authenticated with SHA-256" "$T/daemon.log" || fail "not SHA-256"
pass "the demo account registers (SHA-256)"
stop_daemon

# Second start: nothing re-created, no credentials printed.
sum=$(sha256sum <"$T/state/userdb")
"$PBXGUARD" serve >"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do grep -q "pbxguard ready" "$T/daemon.log" && break; sleep 0.05; done
! grep -q "password" "$T/daemon.log" || fail "credentials printed again"
[ "$(sha256sum <"$T/state/userdb")" = "$sum" ] || fail "userdb overwritten"
! grep -q "made a self-signed" "$T/daemon.log" || fail "certificate made again"
stop_daemon
pass "second start keeps the userdb and prints no credentials"

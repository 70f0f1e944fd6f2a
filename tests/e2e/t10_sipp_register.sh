#!/usr/bin/env bash
# sipp: 100 users register and refresh (UDP, then TCP); a wrong password
# gets 403; each failure is one security event the stock fail2ban filter reads.
. "$(dirname "$0")/lib.sh"
PORT=25060

make_userdb "$T/userdb" 100 u
make_users "$T/users.csv" 100 u
# One source registering hundreds of accounts a second: a load test, not a
# flood, so pike (part 2) is off here; t70 shows the flood limit.
write_conf $PORT "$T/userdb" "available-algorithms = MD5 SHA-256" "pike-limit = 0"
start_daemon

for tp in u1 t1; do
	sipp -sf "$E2E_DIR/scenarios/register.xml" -inf "$T/users.csv" -m 100 -r 200 -l 20 \
		-t $tp -i 127.0.0.1 -p 0 -timeout 30 -timeout_error -nostdin \
		-trace_stat -stf "$T/stat-$tp.csv" -trace_err -error_file "$T/err-$tp.log" 127.0.0.1:$PORT >"$T/sipp-$tp.out" 2>&1 ||
		{ cat "$T"/*errors.log 2>/dev/null | head -20; fail "sipp ($tp) failed: $(grep -iE "error|fail|timeout" "$T/sipp-$tp.out" | head -5)"; }
	ok=$(tail -1 "$T/stat-$tp.csv" | awk -F';' '{print $16}')
	[ "$ok" = 100 ] || fail "sipp ($tp): $ok successful calls, want 100"
	pass "100 users registered and refreshed over $tp"
done
# 100 users x 2 registrations x 2 transports
n=$(count 'SecurityEvent="SuccessfulAuth"' "$T/security.log")
[ "$n" = 400 ] || fail "$n SuccessfulAuth events, want 400"
pass "400 SuccessfulAuth events"

sed 's/password=pw-[^]]*/password=not-the-password/' "$T/users.csv" >"$T/wrong.csv"
sipp -sf "$E2E_DIR/scenarios/wrong-password.xml" -inf "$T/wrong.csv" -m 5 -r 50 \
	-i 127.0.0.7 -p 0 -timeout 20 -timeout_error -nostdin -trace_stat -stf "$T/stat-w.csv" \
	127.0.0.1:$PORT >"$T/sipp-w.out" 2>&1 || fail "wrong password scenario: $(tail -5 "$T/sipp-w.out")"
pass "wrong password gets 403 (5 of 5)"

n=$(count 'SecurityEvent="ChallengeResponseFailed"' "$T/security.log")
[ "$n" = 5 ] || fail "$n ChallengeResponseFailed events, want 5"
grep 'ChallengeResponseFailed' "$T/security.log" | grep -q 'RemoteAddress="IPV4/UDP/127.0.0.7/' ||
	fail "failure not attributed to 127.0.0.7"

# Debian's fail2ban-regex with its stock asterisk filter matches every failure line.
fail2ban-regex "$T/security.log" /etc/fail2ban/filter.d/asterisk.conf >"$T/f2b.out" 2>&1 ||
	fail "fail2ban-regex failed: $(tail -5 "$T/f2b.out")"
grep -q "Lines: 405 lines, 0 ignored, 5 matched, 400 missed" "$T/f2b.out" ||
	fail "fail2ban-regex: $(grep Lines: "$T/f2b.out")"
ips=$(fail2ban-regex -o '<ip>' "$T/security.log" /etc/fail2ban/filter.d/asterisk.conf | sort -u)
[ "$ips" = 127.0.0.7 ] || fail "fail2ban extracted '$ips', want 127.0.0.7"
pass "fail2ban's asterisk filter matches all 5 failures and bans 127.0.0.7 only"

stop_daemon
pass "daemon stopped cleanly"

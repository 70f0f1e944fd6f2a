#!/usr/bin/env bash
# An unknown user's 401 is byte for byte a known user's, but for the user
# name itself, the nonce and the To tag (a hash of From); later both get the
# same 403. svwar (sipvicious) then finds no extension.
. "$(dirname "$0")/lib.sh"
PORT=25070

cp "$ROOT/tests/vectors/userdb" "$T/userdb"
write_conf $PORT "$T/userdb" "available-algorithms = SHA-256 MD5"
start_daemon

probe() { # $1 = user -> the 401 as received, in $T/401-$1
	printf 'SEQUENTIAL\n%s;\n' "$1" >"$T/probe.csv"
	(cd "$T" && sipp -sf "$E2E_DIR/scenarios/probe-401.xml" -inf "$T/probe.csv" -m 1 \
		-i 127.0.0.1 -p 26001 -timeout 10 -timeout_error -nostdin -trace_msg \
		-message_file "$T/msg-$1.log" 127.0.0.1:$PORT >/dev/null 2>&1) ||
		fail "probe for $1 got no 401"
	awk '/message received/{on=1; next} on' "$T/msg-$1.log" | sed '/^---/,$d' >"$T/401-$1"
	grep -q "^SIP/2.0 401 Unauthorized" "$T/401-$1" || fail "no 401 for $1"
}
probe user1 # clear text: challenged with both algorithms, like an unknown user
probe ghost
n1=$(grep -o 'nonce="[^"]*"' "$T/401-user1" | head -1)
n2=$(grep -o 'nonce="[^"]*"' "$T/401-ghost" | head -1)
[ "$n1" != "$n2" ] || fail "both 401s carry the same nonce"
[ ${#n1} = ${#n2} ] || fail "nonce forms differ: $n1 / $n2"
mask() { sed -e 's/^Call-ID: .*/Call-ID: C/' -e 's/nonce="[^"]*"/nonce="N"/g' -e 's/;tag=[0-9a-f]\{16\}/;tag=T/' -e "s/$1/USER/g" "$T/401-$1"; }
if ! diff <(mask user1) <(mask ghost) >"$T/diff"; then
	cat "$T/diff" >&2
	fail "known and unknown users get different 401s"
fi
grep -c "WWW-Authenticate: Digest" "$T/401-ghost" | grep -qx 2 || fail "expected 2 challenges"
pass "unknown user's 401 equals a known user's except user, nonce and tag"

# svwar: enumerates extensions by comparing answers; ours never differ.
printf 'version:1\n' >"$T/userdb"
for ext in 1000 1001 1002 1003 1004 1005; do
	printf 'S3cret-%s-pw\n' $ext | "$PBXGUARD" userdb add "$T/userdb" "$ext@127.0.0.1" >/dev/null
done
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 50); do
	grep -q "reloaded: 6 accounts" "$T/daemon.log" && break
	sleep 0.1
done
grep -q "reloaded: 6 accounts" "$T/daemon.log" || fail "userdb not reloaded on SIGHUP"
# Plain svwar gives up at once: a random user is challenged like a real one.
# --force makes it compare answers anyway; it stops at the first, which it
# cannot tell apart from its random user's. Neither finds anything, and each
# says why in its own words, which proves it reached us and read our 401.
svwar_run() { # $1 = extra flag, $2 = the words that show why it stopped
	timeout 120 svwar $1 -e990-1010 -m REGISTER -P 26002 udp://127.0.0.1:$PORT \
		>"$T/svwar.out" 2>&1 || true
	if grep -E "^\| *10[0-9][0-9] " "$T/svwar.out"; then
		cat "$T/svwar.out" >&2
		fail "svwar $1 found extensions"
	fi
	grep -q "found nothing" "$T/svwar.out" && grep -q "$2" "$T/svwar.out" ||
		{ cat "$T/svwar.out" >&2; fail "svwar $1: expected 'found nothing' and '$2'"; }
}
svwar_run "" "authentication request for an unknown extension"
svwar_run --force "Bad user = SIP/2.0 401"
stop_daemon
pass "svwar (plain and --force) finds no extension among 990-1010"

#!/usr/bin/env bash
# linphonec (Debian's linphone-cli, the one Debian client that answers
# SHA-256) registers with available-algorithms = SHA-256 MD5, and the daemon
# verified SHA-256, not MD5. user3 has MD5 and SHA-256 A1s stored.
. "$(dirname "$0")/lib.sh"
PORT=25080

cp "$ROOT/tests/vectors/userdb" "$T/userdb"
write_conf $PORT "$T/userdb" "available-algorithms = SHA-256 MD5"
start_daemon

register() { # $1 = user, $2 = password -> 0 registered, 1 failed
	local user=$1 pw=$2 home
	home=$(mktemp -d "$T/home-$1.XXXX")
	mkdir -p "$home/.local/share/linphone"
	cat >"$home/rc" <<RC
[sip]
sip_port=-1
sip_tcp_port=0
sip_tls_port=0
[proxy_0]
reg_proxy=<sip:127.0.0.1:$PORT;transport=udp>
reg_identity=sip:$user@example.org
reg_expires=3600
reg_sendregister=1
[auth_info_0]
username=$user
passwd=$pw
realm=example.org
domain=example.org
RC
	mkfifo "$home/in"
	HOME=$home linphonec -c "$home/rc" -d 6 -l "$home/log" <"$home/in" >/dev/null 2>&1 &
	local pid=$!
	exec 7>"$home/in" # hold stdin open: end of input means quit
	local rc=1
	for _ in $(seq 1 100); do
		if grep -q "LinphoneRegistrationOk" "$home/log" 2>/dev/null; then rc=0; break; fi
		grep -q "LinphoneRegistrationFailed" "$home/log" 2>/dev/null && break
		sleep 0.1
	done
	kill -TERM $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	exec 7>&-
	return $rc
}

register user3 secret || fail "linphonec could not register user3"
grep -q "user3@example.org authenticated with SHA-256" "$T/daemon.log" ||
	fail "user3 did not authenticate with SHA-256: $(grep authenticated "$T/daemon.log")"
pass "linphonec registered user3 with SHA-256"

register user1 secret || fail "linphonec could not register user1 (clear text)"
grep -q "user1@example.org authenticated with SHA-256" "$T/daemon.log" ||
	fail "user1 did not authenticate with SHA-256"
pass "linphonec registered user1 (clear-text store) with SHA-256"

# user2 has only an MD5 A1: challenged with MD5 only, which linphonec answers.
register user2 secret || fail "linphonec could not register user2 (MD5 only)"
grep -q "user2@example.org authenticated with MD5" "$T/daemon.log" ||
	fail "user2 did not authenticate with MD5"
pass "user2 (MD5 A1 only) was challenged with MD5 only and registered"

if register user3 wrong-password; then fail "a wrong password registered"; fi
grep -q 'ChallengeResponseFailed.*AccountID="user3"' "$T/security.log" ||
	fail "no ChallengeResponseFailed event for user3"
pass "a wrong password fails"
stop_daemon

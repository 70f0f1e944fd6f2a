#!/usr/bin/env bash
# linphonec (Debian's linphone-cli, the one Debian client that answers
# SHA-256) registers with available-algorithms = SHA-256 MD5, and the daemon
# verified SHA-256, not MD5. user3 has MD5 and SHA-256 A1s stored.
. "$(dirname "$0")/lib.sh"
PORT=25080

cp "$ROOT/tests/vectors/userdb" "$T/userdb"
write_conf $PORT "$T/userdb" "available-algorithms = SHA-256 MD5"
start_daemon

register() { linphone_register "$1" "$2" $PORT; }

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

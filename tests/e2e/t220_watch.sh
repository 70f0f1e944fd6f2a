#!/usr/bin/env bash
# [watch]: a real sshd (its -E log) and Asterisk's log lines (as chan_sip,
# chan_pjsip and the security log write them) feed pbxguard's bans; a
# restart never reads a line twice but reads what came while it was
# stopped; a rotated log is followed.
. "$(dirname "$0")/lib.sh"
[ -x /usr/sbin/sshd ] || { echo "SKIP: no sshd (openssh-server)"; exit 77; }
SSHP=$((20000 + RANDOM % 20000))
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -f "$T/hostkey" -N ""
/usr/sbin/sshd -D -f /dev/null -h "$T/hostkey" -p "$SSHP" -o ListenAddress=127.0.0.1 \
	-o PidFile=none -E "$T/sshd.log" &
at_exit kill $!
for _ in $(seq 1 50); do grep -q "Server listening" "$T/sshd.log" 2>/dev/null && break; sleep 0.1; done
grep -q "Server listening" "$T/sshd.log" || fail "sshd did not start: $(cat "$T/sshd.log")"
: >"$T/messages"
: >"$T/security"
make_userdb "$T/userdb" 1 w
cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org
file-path = $T/userdb
[sip]
transports = udp:127.0.0.1:$((SSHP + 1))
[bans]
nftables = no
maxretry = 3
findtime = 600
bantime = 600
[watch]
sshd = $T/sshd.log
asterisk = $T/messages $T/security
CONF
ssh_try() { # $1 = source address: one login as a user that does not exist
	ssh -n -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o ConnectTimeout=3 -o LogLevel=ERROR -b "$1" -p "$SSHP" "nosuch$RANDOM@127.0.0.1" true \
		>/dev/null 2>&1 || true
}
banned() { ctl bans list | awk '{ print $1 }' | grep -qx "$1"; }
wait_ban() { # $1 = address: banned within 5 s
	for _ in $(seq 1 50); do banned "$1" && return 0; sleep 0.1; done
	return 1
}
ast_reg() { # $1 = file, $2 = address: chan_sip's wrong password line
	printf "[%s] NOTICE[4242] chan_sip.c: Registration from '<sip:100@pbx.example>' failed for '%s:5060' - Wrong password\n" \
		"$(date '+%b %d %H:%M:%S')" "$2" >>"$1"
}
ast_sec() { # $1 = address: a security event, as res_security_log writes it
	printf '[%s] SECURITY[4242] res_security_log.c: SecurityEvent="ChallengeResponseFailed",EventTV="2026-11-22T10:00:00.000000+0000",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="1001",SessionID="0x7f",LocalAddress="IPV4/UDP/127.0.0.1/5060",RemoteAddress="IPV4/UDP/%s/5060",Challenge="1a2b",Response="x",ExpectedResponse=""\n' \
		"$(date '+%b %d %H:%M:%S')" "$1" >>"$T/security"
}

start_daemon
grep -q "watch: sshd log $T/sshd.log feeds the bans" "$T/daemon.log" || fail "watch not started"
# 1. Real sshd failures: three logins as unknown users from one address.
ssh_try 127.0.0.6
for _ in 1 2 3; do ssh_try 127.0.0.5; done
[ "$(grep -c 'Invalid user nosuch.* from 127.0.0.5' "$T/sshd.log")" -ge 3 ] || fail "sshd logged: $(cat "$T/sshd.log")"
wait_ban 127.0.0.5 || fail "three sshd failures from 127.0.0.5 did not ban it: $(grep watch "$T/daemon.log")"
banned 127.0.0.6 && fail "one failure banned 127.0.0.6"
grep -q "watch: sshd: invalid user from 127.0.0.5 (user 'nosuch" "$T/daemon.log" || fail "no watch line"
pass "a real sshd's 'Invalid user' lines (3 from 127.0.0.5) ban the address; one failure does not"

# 2. Asterisk: chan_sip lines and security events.
for _ in 1 2 3; do ast_reg "$T/messages" 127.0.0.7; done
for _ in 1 2 3; do ast_sec 127.0.0.8; done
wait_ban 127.0.0.7 || fail "chan_sip's Wrong password lines did not ban 127.0.0.7"
wait_ban 127.0.0.8 || fail "ChallengeResponseFailed events did not ban 127.0.0.8"
pass "Asterisk's 'Registration ... Wrong password' and ChallengeResponseFailed lines ban their sources"

# 3. A restart reads nothing twice, but what came while stopped.
ctl bans unban 127.0.0.5 >/dev/null
ctl bans unban 127.0.0.7 >/dev/null
ctl bans unban 127.0.0.8 >/dev/null
stop_daemon
for _ in 1 2 3; do ast_reg "$T/messages" 127.0.0.10; done
start_daemon	# a new daemon.log
wait_ban 127.0.0.10 || fail "lines written while pbxguard was stopped were not read"
sleep 1.5
for a in 127.0.0.5 127.0.0.7 127.0.0.8; do banned $a && fail "$a banned again: lines read twice"; done
after=$(grep -cE "watch: .* from 127\.0\.0\.[578]( |$)" "$T/daemon.log" || true)
[ "$after" = 0 ] || fail "$after old lines read again after the restart"
pass "after a restart the 9 old lines are not read again (no ban returns); the 3 written while stopped ban 127.0.0.10"

# 4. logrotate: rename, then a new file.
mv "$T/messages" "$T/messages.1"
ast_reg "$T/messages.1" 127.0.0.11
: >"$T/messages"
sleep 1.5
for _ in 1 2; do ast_reg "$T/messages" 127.0.0.11; done
wait_ban 127.0.0.11 || fail "lines across a rotation (1 in the old file, 2 in the new) did not ban"
stop_daemon
grep -q "watch: $T/messages: rotated, following the new file" "$T/daemon.log" || fail "rotation not said"
grep -q "watch: .* lines read, .* failures" "$T/daemon.log" || fail "no closing count"
pass "a rotated log is followed: the old file's last line and the new file's count together"

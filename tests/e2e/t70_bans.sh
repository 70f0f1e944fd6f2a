#!/usr/bin/env bash
# Brute force against the real daemon, each attacker from its own 127.x
# address: svcrack is banned after at most maxretry failures and hears
# nothing more; svwar finds nothing; a slow attack spread over many
# addresses locks the account for them but not for its owner; a legitimate
# sipp user keeps registering throughout (>= 99.9 %, measured); ignoreip is
# never banned; bans survive a restart; ctl bans ban/unban; a ban expires
# and the next one lasts twice as long.
. "$(dirname "$0")/lib.sh"
PORT=25100
SV="$E2E_DIR/sv.py"

make_userdb "$T/userdb" 100 u
make_users "$T/users.csv" 100 u
# MD5 only: svcrack and sipp answer the first challenge only.
write_conf $PORT "$T/userdb" "available-algorithms = MD5" "maxretry = 5
findtime = 60
ignoreip = 127.0.0.250 ::1
# the legitimate sipp load below is one busy host, not a flood
pike-limit = 1000
account-maxretry = 8"
start_daemon

# --- the legitimate user, all along: 500 calls x 2 registrations, 25 calls/s
sipp -sf "$E2E_DIR/scenarios/register.xml" -inf "$T/users.csv" -m 500 -r 25 -l 50 \
	-i 127.0.0.2 -p 0 -timeout 120 -nostdin -trace_stat -stf "$T/stat-legit.csv" \
	127.0.0.1:$PORT >"$T/sipp-legit.out" 2>&1 &
LEGIT=$!
sleep 1

# --- four svcracks against u5, in parallel, from four addresses
seq 1 300 | sed 's/^/guess/' >"$T/dict"
TOOLS=($LEGIT)
for i in 1 2 3 4; do
	timeout 90 "$SV" 127.0.1.$i svcrack -u u5 -d "$T/dict" --domain=example.org \
		-P $((26100 + i)) --maximumtime=3 udp://127.0.0.1:$PORT >"$T/svcrack-$i.out" 2>&1 &
	TOOLS+=($!)
done
# --- svwar from another address, again and again: each run gives up at once
# on our identical 401s (t20) and never sends a password, but its User-Agent
# is a strike each time, so a scanner that keeps coming back is banned.
( for run in 1 2 3 4 5; do
	timeout 60 "$SV" 127.0.2.1 svwar -e1-100 -m REGISTER -P 26110 --maximumtime=2 \
		udp://127.0.0.1:$PORT >>"$T/svwar.out" 2>&1
done ) &
TOOLS+=($!)
# --- a slow attack on u7 spread over eight addresses, one guess each
for i in $(seq 1 8); do
	sipp_once 127.0.5.$i u7 "guess-$i" $PORT 403 || fail "attempt from 127.0.5.$i was not a plain 403"
done
grep -q "account u7@example.org locked" "$T/daemon.log" || fail "u7 not locked after 8 failures from 8 addresses"
# Now even the right password from a new address fails, exactly like a wrong one...
sipp_once 127.0.5.9 u7 pw-u7-Secret $PORT 403 || fail "the locked account took the right password from a new address"
grep -q 'SecurityEvent="FailedACL".*AccountID="u7".*RemoteAddress="IPV4/UDP/127.0.5.9/[0-9]*",ACLName="account-lock"' \
	"$T/security.log" || fail "no FailedACL account-lock event"
# ...while its owner, at the address it registers from, is let in.
sipp_once 127.0.0.2 u7 pw-u7-Secret $PORT 200 || fail "the owner of u7 was locked out"
pass "a slow attack over 8 addresses locks u7 for new addresses (right password too), not for its owner"

wait "${TOOLS[@]}" || true # svcracks, svwar and the legitimate load
for i in 1 2 3 4; do
	grep -q "ban: 127.0.1.$i for 600 s" "$T/daemon.log" || fail "svcrack at 127.0.1.$i not banned"
	grep -q "found nothing" "$T/svcrack-$i.out" || fail "svcrack $i: $(tail -3 "$T/svcrack-$i.out")"
	n=$(grep -c "ChallengeResponseFailed.*RemoteAddress=\"IPV4/UDP/127.0.1.$i/" "$T/security.log" || true)
	[ "$n" -le 5 ] || fail "svcrack $i had $n failures answered, more than maxretry"
done
dropped=$(ctl bans list | awk '$1 == "127.0.1.1" { print $5 }')
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "svcrack's packets after the ban were not dropped ($dropped)"
pass "4 svcracks banned after <= 5 failures each; their later packets dropped unanswered ($dropped from 127.0.1.1)"

grep -q "ban: 127.0.2.1" "$T/daemon.log" || fail "svwar's User-Agent did not get it banned"
[ "$(grep -c "found nothing" "$T/svwar.out")" = 5 ] || fail "svwar: $(tail -3 "$T/svwar.out")"
if grep -E "^\| *[0-9]+ " "$T/svwar.out"; then fail "svwar found extensions"; fi
strikes=$(grep -c "127.0.2.1: scanner User-Agent" "$T/daemon.log")
pass "svwar found no extension in 5 runs; its User-Agent (a strike per request, $strikes) got it banned"

total=$(tail -1 "$T/stat-legit.csv" | awk -F';' '{print $13}')
okc=$(tail -1 "$T/stat-legit.csv" | awk -F';' '{print $16}')
regs=$(grep -c 'SuccessfulAuth.*RemoteAddress="IPV4/UDP/127.0.0.2/' "$T/security.log" || true)
[ "$total" = 500 ] || fail "legitimate sipp ran $total calls, want 500: $(tail -5 "$T/sipp-legit.out")"
awk -v ok="$okc" -v n="$total" 'BEGIN { exit !(ok / n >= 0.999) }' ||
	fail "legitimate user: $okc of $total calls succeeded during the attack"
pass "legitimate user during the attacks: $okc/$total calls, $regs authenticated registrations from 127.0.0.2"

# --- ignoreip: 20 wrong passwords, never banned, every one answered
for i in $(seq 1 20); do
	sipp_once 127.0.0.250 u9 wrong $PORT 403 || fail "ignoreip attempt $i not answered with 403"
done
! grep -q "ban: 127.0.0.250" "$T/daemon.log" || fail "an ignoreip address was banned"
pass "ignoreip 127.0.0.250: 20 wrong passwords, 20 answers, no ban"

# --- ctl
out=$(ctl bans ban 127.0.3.3 1h) || fail "ctl ban: $out"
[[ "$out" == "ok banned 127.0.3.3 for 3600s" ]] || fail "ctl ban said: $out"
ctl bans list | grep -q "^127.0.3.3 .* manual" || fail "manual ban not listed"
rc=0; out=$(ctl bans ban 127.0.0.250 2>&1) || rc=$?
[ $rc = 1 ] && [[ "$out" == *"in ignoreip"* ]] || fail "banning an ignoreip address: rc $rc, $out"
rc=0; out=$(ctl bans ban nonsense 2>&1) || rc=$?
[ $rc = 1 ] && [[ "$out" == *"not a numeric"* ]] || fail "a bad address: rc $rc, $out"
ctl bans unban 127.0.3.3 >/dev/null || fail "ctl unban"
rc=0; ctl bans unban 127.0.3.3 >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "unbanning twice succeeded"
grep -q 'SecurityEvent="Ban".*RemoteAddress="IPV4/UDP/127.0.3.3/0",BanTime="3600",Reason="manual"' "$T/security.log" ||
	fail "no Ban security event"
grep -q 'SecurityEvent="Unban".*RemoteAddress="IPV4/UDP/127.0.3.3/0",Reason="manual"' "$T/security.log" ||
	fail "no Unban security event"
[ "$(stat -c %a "$T/control.sock")" = 600 ] || fail "control socket mode $(stat -c %a "$T/control.sock")"
pass "ctl bans ban/list/unban, refusals with exit 1, Ban/Unban security events, socket 0600"

# --- restart: the bans are still there, and enforced before any parsing
ctl bans ban 2001:db8::5 1h >/dev/null
stop_daemon
[ "$(stat -c %a "$T/bans.state")" = 600 ] || fail "state file mode"
start_daemon
list=$(ctl bans list)
for a in 127.0.1.1 127.0.1.4 127.0.2.1 2001:db8::5; do
	grep -q "^$a " <<<"$list" || fail "$a lost in the restart: $list"
done
[ -z "$(WAIT=0.5 ping_from 127.0.1.1 $PORT)" ] || fail "a banned source got an answer after the restart"
out=$(WAIT=0.5 ping_from 127.0.1.1 $PORT tcp)
[[ "$out" != *SIP/2.0* ]] || fail "a banned source got a TCP answer: $out"
[[ "$(ping_from 127.0.0.2 $PORT)" == "SIP/2.0 200 OK"* ]] || fail "a good source got no answer"
pass "after a restart: $(head -1 <<<"$list" | cut -d' ' -f2) bans kept, banned sources dropped (UDP silent, TCP closed)"
stop_daemon

# --- expiry and bantime.increment, with a short bantime
write_conf $PORT "$T/userdb" "available-algorithms = MD5" "maxretry = 5
bantime = 2
bantime.maxtime = 1h"
start_daemon
for i in 1 2 3 4 5; do sipp_once 127.0.4.4 u3 wrong $PORT 403 || fail "failure $i not answered"; done
grep -q "ban: 127.0.4.4 for 2 s (failures; ban number 1)" "$T/daemon.log" || fail "first ban not 2 s"
[ -z "$(WAIT=0.5 ping_from 127.0.4.4 $PORT)" ] || fail "banned, yet answered"
for _ in $(seq 1 50); do grep -q "unban: 127.0.4.4 (expired)" "$T/daemon.log" && break; sleep 0.1; done
grep -q "unban: 127.0.4.4 (expired)" "$T/daemon.log" || fail "the ban did not expire"
[[ "$(ping_from 127.0.4.4 $PORT)" == "SIP/2.0 200 OK"* ]] || fail "not answered after the ban expired"
for i in 1 2 3 4 5; do sipp_once 127.0.4.4 u3 wrong $PORT 403 || fail "failure $i (round 2) not answered"; done
grep -q "ban: 127.0.4.4 for 4 s (failures; ban number 2)" "$T/daemon.log" || fail "the repeat ban is not 4 s"
pass "a 2 s ban expires (answered again), the repeat ban lasts 4 s"
stop_daemon

#!/usr/bin/env bash
# Kernel bans with nftables, inside network namespaces this test makes: the
# daemon in one (10.77.0.1), the attacker and a good host in another
# (10.77.0.2, 10.77.0.3), joined by a veth pair. After the ban the
# attacker's packets are counted and dropped by the kernel and the daemon
# sees none; another table in the same namespace is never touched; the
# table goes away when pbxguard stops, and a ban outlives a pbxguard that
# was killed (the kernel lifts it by its own timeout).
. "$(dirname "$0")/lib.sh"
netns_pair 10.77.0 2

# Someone else's table (fail2ban's, say) that must survive everything.
inA nft add table inet f2b-table
inA nft add chain inet f2b-table input '{ type filter hook input priority 0; }'

make_userdb "$T/userdb" 3 n
cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org
file-path = $T/userdb
available-algorithms = MD5
[bans]
nftables = yes
maxretry = 3
[sip]
transports = udp:10.77.0.1:5060 tcp:10.77.0.1:5060
CONF
start_in_A() {
	ip netns exec "$A" "$PBXGUARD" serve -c "$T/pbxguard.conf" >>"$T/daemon.log" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 1 100); do
		[ "$(grep -c "pbxguard ready" "$T/daemon.log")" -ge "$1" ] && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "daemon exited: $(tail -5 "$T/daemon.log")"
		sleep 0.05
	done
	fail "daemon not ready"
}
start_in_A 1
inA nft list table inet pbxguard >/dev/null || fail "no table inet pbxguard"
grep -q "nftables: table inet pbxguard in place" "$T/daemon.log" || fail "table not reported"

ping_B() { # $1 = source; the first reply, if any, within $WAIT s (3)
	printf 'OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP %s:5999;branch=z9hG4bK-%s\r\nFrom: <sip:p@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: n-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"$1" "$RANDOM" "$RANDOM" | inB /usr/bin/python3 "$E2E_DIR/sipclient.py" udp 10.77.0.1 5060 - --src "$1" --wait "${WAIT:-3}" --first || true
}
[[ "$(ping_B 10.77.0.2)" == "SIP/2.0 200 OK"* ]] || fail "no answer across the veth before any ban"

# Three wrong passwords from the attacker: banned, into the kernel.
printf 'SEQUENTIAL\nn1;[authentication username=n1 password=wrong]\n' >"$T/w.csv"
for i in 1 2 3; do
	inB sipp -sf "$E2E_DIR/scenarios/wrong-password.xml" -inf "$T/w.csv" -m 1 -i 10.77.0.2 -p 0 \
		-timeout 4 -timeout_error -nostdin 10.77.0.1:5060 >"$T/w$i.out" 2>&1 || fail "failure $i not answered"
done
grep -q "ban: 10.77.0.2 for 600 s" "$T/daemon.log" || fail "attacker not banned"
inA nft list set inet pbxguard banned4 | grep -q "10.77.0.2 counter packets 0 .*expires" ||
	fail "no timed element for the attacker: $(inA nft list set inet pbxguard banned4)"
for i in $(seq 1 10); do
	[ -z "$(WAIT=0.5 ping_B 10.77.0.2)" ] || fail "the banned attacker got an answer"
done
pk=$(inA nft list set inet pbxguard banned4 | sed -n 's/.*10.77.0.2 counter packets \([0-9]*\) .*/\1/p')
[ "${pk:-0}" -ge 10 ] || fail "the kernel counted ${pk:-0} packets from the attacker, want >= 10"
seen=$(inA "$PBXGUARD" ctl -c "$T/pbxguard.conf" bans list | awk '$1 == "10.77.0.2" { print $5 }')
[ "$seen" = 0 ] || fail "the daemon itself saw $seen packets from the banned source"
[[ "$(ping_B 10.77.0.3)" == "SIP/2.0 200 OK"* ]] || fail "the good host lost service"
pass "after the ban the kernel drops the attacker ($pk packets counted in the set), the daemon sees 0; the good host is answered"

# Unban through ctl takes the element out of the kernel too.
inA "$PBXGUARD" ctl -c "$T/pbxguard.conf" bans unban 10.77.0.2 >/dev/null || fail "unban"
! inA nft list set inet pbxguard banned4 | grep -q "10.77.0.2" || fail "element left after unban"
[[ "$(ping_B 10.77.0.2)" == "SIP/2.0 200 OK"* ]] || fail "not answered after the unban"
pass "ctl bans unban removes the kernel element at once"

# A clean stop removes our table, and only ours.
stop_daemon
! inA nft list table inet pbxguard >/dev/null 2>&1 || fail "table left after a clean stop"
inA nft list table inet f2b-table >/dev/null || fail "another table was touched"
pass "a clean stop removes table inet pbxguard; table inet f2b-table untouched"

# Killed pbxguard: the element's own timeout lifts the ban in the kernel.
start_in_A 2
# The ban is long enough (8 s) that a loaded CI machine still finds the
# element after the kill; the deadline below counts from the ban itself.
banned_at=$(date +%s.%N)
inA "$PBXGUARD" ctl -c "$T/pbxguard.conf" bans ban 10.77.0.2 8 >/dev/null || fail "ctl ban"
[ -z "$(WAIT=0.5 ping_B 10.77.0.2)" ] || fail "manually banned, yet answered"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
inA nft list set inet pbxguard banned4 | grep -q "10.77.0.2" || fail "the kill took the element"
sleep "$(awk -v t="$banned_at" -v now="$(date +%s.%N)" 'BEGIN { d = t + 9 - now; print (d > 0 ? d : 0) }')"
! inA nft list set inet pbxguard banned4 | grep -q "10.77.0.2" || fail "the kernel kept the element past its timeout"
pass "with pbxguard killed, the kernel lifts the 8 s ban by itself"

# Restart: the stale control socket is cleared, and the table is replaced in
# one go with the bans of the state file.
inA "$PBXGUARD" serve --check -c "$T/pbxguard.conf" >/dev/null
start_in_A 3
[ "$(inA nft list tables | grep -c 'table inet pbxguard')" = 1 ] || fail "not exactly one table after the restart"
inA nft list table inet f2b-table >/dev/null || fail "another table was touched at start"
stop_daemon
pass "a restart after a kill replaces the table atomically (one table inet pbxguard)"

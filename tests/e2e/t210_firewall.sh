#!/usr/bin/env bash
# The firewall wizard: its ruleset passes the kernel's parser (nft -c) and
# says what it opens and why; applied inside a network namespace this test
# makes, the opened ports pass and the others don't, the allowed host
# always passes, a banned host is dropped on every port, SIP over UDP is
# rate-limited per source, a second --apply replaces rather than appends,
# and the daemon's own ban chain and someone else's table live beside it.
. "$(dirname "$0")/lib.sh"
netns_pair 10.78.0 3
inA nft add table inet f2b-table
inA nft add chain inet f2b-table input '{ type filter hook input priority 0; }'

make_userdb "$T/userdb" 1 n
cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org
file-path = $T/userdb
[bans]
nftables = yes
[sip]
transports = udp:10.78.0.1:5060 tcp:10.78.0.1:5060 udp:127.0.0.1:5070
[firewall]
allowed-hosts = 10.78.0.4/32
ssh-port = 2222
rtp-ports = 10000-10010
sip-udp-rate = 20
open = tcp:7000
CONF

# 1. The ruleset: printed, parsed by the real nft -c and by --check.
"$PBXGUARD" firewall -c "$T/pbxguard.conf" >"$T/rules.nft" 2>"$T/said" || fail "firewall render"
nft -c -f "$T/rules.nft" || fail "nft -c refuses the rendered ruleset"
inA "$PBXGUARD" firewall -c "$T/pbxguard.conf" --check 2>"$T/check" || fail "--check: $(cat "$T/check")"
grep -q "the kernel accepts the ruleset (nothing applied)" "$T/check" || fail "--check said: $(cat "$T/check")"
! inA nft list chain inet pbxguard firewall >/dev/null 2>&1 || fail "--check applied something"
for want in "opened: 5060/udp for SIP over UDP (udp:10.78.0.1:5060)" "opened: 5060/tcp for SIP over TCP" \
	"opened: 2222/tcp for SSH ([firewall] ssh-port = 2222)" "opened: 10000-10010/udp for RTP media" \
	"opened: 7000/tcp for [firewall] open" "not opened: 5070/udp, SIP over UDP (udp:127.0.0.1:5070): loopback only" \
	"rate limit: 5060/udp above 20 packets/s from one source is dropped" "always passes: 10.78.0.4/32"; do
	grep -qF "$want" "$T/said" || fail "the wizard did not say '$want': $(cat "$T/said")"
done
pass "the ruleset passes nft -c and --check (nothing applied), and says each port it opens and why"

# 2. Applied with the daemon running (its ban chain) in namespace A.
ip netns exec "$A" "$PBXGUARD" serve -c "$T/pbxguard.conf" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1 100); do grep -q "pbxguard ready" "$T/daemon.log" && break; sleep 0.05; done
grep -q "pbxguard ready" "$T/daemon.log" || fail "daemon not ready"
# Listeners: 7000 is opened by the wizard, 7777 is not.
for p in 7000 7777; do
	ip netns exec "$A" /usr/bin/python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('10.78.0.1', $p)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()" >/dev/null 2>&1 &
	at_exit kill $!	# ip netns exec execs python: $! is the listener
done
sleep 0.3
connect() { # $1 = source, $2 = port: exit 0 when the TCP handshake completes
	inB /usr/bin/python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(1.0); s.bind(('$1', 0))
try:
    s.connect(('10.78.0.1', $2))
except OSError:
    sys.exit(1)"
}
ping_B() {
	printf 'OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP %s:5999;branch=z9hG4bK-%s\r\nFrom: <sip:p@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: f-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' \
		"$1" "$RANDOM" "$RANDOM" | inB /usr/bin/python3 "$E2E_DIR/sipclient.py" udp 10.78.0.1 5060 - --src "$1" --wait "${WAIT:-3}" --first || true
}
connect 10.78.0.3 7777 || fail "7777 unreachable before the firewall: the test proves nothing"
inA "$PBXGUARD" firewall -c "$T/pbxguard.conf" --apply 2>"$T/apply" || fail "--apply: $(cat "$T/apply")"
connect 10.78.0.3 7000 || fail "the opened port 7000 is closed"
! connect 10.78.0.3 7777 || fail "the port nobody opened (7777) passes"
connect 10.78.0.4 7777 || fail "the allowed host does not pass to 7777"
[[ "$(ping_B 10.78.0.3)" == "SIP/2.0 200 OK"* ]] || fail "SIP over UDP does not pass"
pass "applied: 7000/tcp and SIP pass, 7777/tcp (not opened) is dropped, the allowed host reaches 7777"

# 3. A ban drops the host on every port, not only pbxguard's.
inA "$PBXGUARD" ctl -c "$T/pbxguard.conf" bans ban 10.78.0.2 600 >/dev/null || fail "ctl ban"
connect 10.78.0.2 7000 && fail "the banned host reaches 7000"
connect 10.78.0.3 7000 || fail "a good host lost 7000"
pk=$(inA nft list chain inet pbxguard firewall | sed -n 's/.*ip saddr @banned4 counter packets \([0-9]*\) .*/\1/p')
[ "${pk:-0}" -ge 1 ] || fail "the firewall's ban rule counted no packet"
pass "a pbxguard ban drops the host on every port ($pk packets at the firewall's ban rule)"

# 4. SIP over UDP above the rate from one source is dropped by the kernel.
inB /usr/bin/python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.78.0.3", 0))
for i in range(300):
    s.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ("10.78.0.1", 5060))
PY
fl=$(inA nft list chain inet pbxguard firewall | sed -n 's/.*siprate4 .* counter packets \([0-9]*\) .*SIP flood.*/\1/p')
[ "${fl:-0}" -ge 200 ] || fail "the SIP flood rule dropped ${fl:-0} of 300 packets, want >= 200"
pass "300 SIP/UDP packets at once from one source: $fl dropped by the kernel's rate limit (20/s, burst 40)"

# 5. A second --apply replaces the chain; other tables and the daemon's chain stay.
inA "$PBXGUARD" firewall -c "$T/pbxguard.conf" --apply 2>"$T/apply2" || fail "second --apply: $(cat "$T/apply2")"
[ "$(inA nft list chain inet pbxguard firewall | grep -c 'SIP flood')" = 2 ] || fail "rules appended, not replaced"
inA nft list chain inet pbxguard input >/dev/null || fail "the daemon's ban chain was touched"
inA nft list table inet f2b-table >/dev/null || fail "another table was touched"
inA nft list set inet pbxguard banned4 | grep -q 10.78.0.2 || fail "the apply emptied the ban set"
stop_daemon
inA nft list chain inet pbxguard firewall >/dev/null || fail "stopping the daemon took the firewall"
! inA nft list chain inet pbxguard input >/dev/null 2>&1 || fail "the daemon's chain outlived its stop"
pass "--apply again replaces (not appends), keeps the bans; the daemon's stop removes only its own chain"

#!/usr/bin/env bash
# Two pbxguard nodes on two loopback addresses, one Redis, one sipp PBX:
# a nonce node A issued is answered at node B (and its count, once used, is
# refused at either node); a call from the PBX through B reaches a phone
# registered on A, set up and torn down through both nodes; with Redis
# stopped a shared nonce is answered stale (never 200, never 403), each node
# still authenticates with its own nonces, and calls still reach phones
# whose registration the node already knew.
. "$(dirname "$0")/lib.sh"
RPORT=26250 PORT=25250 PBX=25259
A=127.0.0.11 B=127.0.0.12

start_redis $RPORT

make_userdb "$T/userdb" 3 u
make_users "$T/users.csv" 3 u
for n in a b; do
	[ $n = a ] && at=$A || at=$B
	node_conf $n redis://127.0.0.1:$RPORT/4 "transports = udp:$at:$PORT
upstream = sip:127.0.0.1:$PBX
[cluster]
nodes = $A $B"
done
htpasswd -bcB "$T/passwords" admin 'Cluster-admin-pw' 2>/dev/null
printf '[http]\nlisten = https:%s:25253\nAuthUserFile = %s\n' $B "$T/passwords" >>"$T/b.conf"
metrics() { curl -sk -u admin:Cluster-admin-pw -o "$T/metrics.out" "https://$B:25253/metrics"; }
metric() { metrics; awk -v m="$1" '$1 == m { print $2 }' "$T/metrics.out"; }

start_nodes
nodes_say "state: redis 127.0.0.1:$RPORT/4 connected; bans, nonces and registrations are shared"

# --- a nonce from A answered at B --------------------------------------------
one_user() { sed -n "1p;$(( $1 + 1 ))p" "$T/users.csv" >"$T/one.csv"; }
one_user 1
sipp -sf "$E2E_DIR/scenarios/register-cross.xml" -inf "$T/one.csv" -m 1 -i 127.0.0.21 -p 25271 \
	-set b_host $B -set b_port $PORT -timeout 5 -timeout_error -nostdin -trace_msg \
	-message_file "$T/cross.msg" $A:$PORT >"$T/cross.out" 2>&1 ||
	fail "nonce from A answered at B: $(grep -iE 'unexpected|timeout|error' "$T/cross.out" | head -3)"
nonce=$(grep -m1 -o 'nonce="[^"]*"' "$T/cross.msg")
auth=$(grep -m1 '^Authorization: ' "$T/cross.msg")
[ -n "$nonce" ] && grep -q "$nonce" <<<"$auth" || fail "B's 200 was not for A's nonce: $auth"
grep -q "UDP from 127.0.0.21:25271: u1@example.org authenticated with MD5" "$T/b.log" ||
	fail "B did not log u1's authentication"
grep -q "127.0.0.21:25271: u1@example.org authenticated" "$T/a.log" &&
	fail "A authenticated a request it never saw"
pass "a nonce issued by A (401 from $A) is answered at B (200)"

# The same answer in a new request (a replay: another CSeq and branch; the
# digest does not cover them) is refused at both nodes: its count was taken.
replay() { # $1 node address, $2 cseq
	printf 'REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.66:5999;branch=z9hG4bK-replay%s\r\nFrom: <sip:u1@example.org>;tag=r%s\r\nTo: <sip:u1@example.org>\r\nCall-ID: replay-%s@127.0.0.66\r\nCSeq: %s REGISTER\r\nContact: <sip:u1@127.0.0.66:5999>\r\n%s\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n' \
		"$2" "$2" "$2" "$2" "$auth" |
		/usr/bin/python3 "$E2E_DIR/sipclient.py" udp "$1" $PORT - --src 127.0.0.66 --wait 3 --first || true
}
for node in $A $B; do
	r=$(replay $node 7$RANDOM)
	grep -q '^SIP/2.0 401 ' <<<"$r" && grep -q 'stale=true' <<<"$r" ||
		fail "a replayed nonce count at $node got: $(head -1 <<<"$r")"
done
[ "$(metric pbxguard_state_nonce_checks_total)" -ge 2 ] ||
	fail "B counted no shared nonce checks: $(grep nonce "$T/metrics.out")"
pass "its count replayed in a new request: 401 stale=true at A and at B (the count is shared)"

# --- a call from the PBX through B to a phone registered on A -----------------
one_user 2
sipp -sf "$E2E_DIR/scenarios/register-once.xml" -inf "$T/one.csv" -m 1 -i 127.0.0.22 -p 25272 \
	-timeout 5 -timeout_error -nostdin $A:$PORT >"$T/reg.out" 2>&1 || fail "u2 did not register at A"
# Published at once (the whole hash is read again only every 5 s).
t0=$(date +%s%N)
while [ "$(metric pbxguard_state_remote_aors)" != 1 ]; do
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1500 ] ||
		fail "B does not know u2 is on A after 1.5 s: $(grep remote "$T/metrics.out")"
	sleep 0.05
done
redis-cli -p $RPORT -n 4 hget pbxguard:regs u2@example.org | grep -q " $A:$PORT " ||
	fail "no registration of u2 on A in redis: $(redis-cli -p $RPORT -n 4 hgetall pbxguard:regs)"
call_b() { # $1 user, $2 phone address:port; the phone's trace in $T/phone.msg
	sipp -sf "$E2E_DIR/scenarios/uas-rr.xml" -i "${2%:*}" -p "${2#*:}" -m 1 -nostdin -timeout 15 \
		-timeout_error -trace_msg -message_file "$T/phone.msg" >"$T/phone.out" 2>&1 &
	local ph=$!
	sleep 0.3
	sipp -sf "$E2E_DIR/scenarios/uac-rr.xml" -s "$1" -i 127.0.0.1 -p $PBX -m 1 -nostdin \
		-timeout 15 -timeout_error -trace_msg -message_file "$T/pbx.msg" $B:$PORT \
		>"$T/pbx.out" 2>&1 || { kill $ph 2>/dev/null; fail "the PBX's call through B failed: $(tail -3 "$T/pbx.out")"; }
	wait $ph || fail "the phone did not complete the call"
}
rm -f "$T/phone.msg" "$T/pbx.msg"
call_b u2 127.0.0.22:25272
inv=$(awk '/^INVITE /{p=1} p&&/^----/{exit} p' "$T/phone.msg")
grep -q '^INVITE sip:u2@127.0.0.22:25272' <<<"$inv" || fail "not sent to u2's binding: $inv"
grep -q "^Record-Route: <sip:$A:$PORT;lr>" <<<"$inv" && grep -q "^Record-Route: <sip:$B:$PORT;lr>" <<<"$inv" ||
	fail "both nodes must stay in the path: $inv"
[ "$(grep -c "^Via: SIP/2.0/UDP $A:$PORT;\|^Via: SIP/2.0/UDP $B:$PORT;" <<<"$inv")" = 2 ] ||
	fail "the INVITE did not pass B then A: $inv"
grep -q '^BYE ' "$T/phone.msg" || fail "the PBX's BYE did not reach the phone"
[ "$(metric pbxguard_sip_to_node_total)" -ge 1 ] || fail "B counted nothing sent to a node"
pass "a call from the PBX through B reaches u2, registered on A: INVITE, 200, ACK and BYE via B and A"

# A phone registered nowhere: 480 (the account exists), from B itself.
rm -f "$T/pbx.msg"
sipp -sf "$E2E_DIR/scenarios/uac-rr.xml" -s u3 -i 127.0.0.1 -p $PBX -m 1 -nostdin -timeout 5 \
	-timeout_error -trace_msg -message_file "$T/pbx.msg" $B:$PORT >"$T/pbx.out" 2>&1 &&
	fail "a call to unregistered u3 completed"
grep -q '^SIP/2.0 480 ' "$T/pbx.msg" || fail "unregistered u3: want 480, got $(grep '^SIP/2.0' "$T/pbx.msg" | head -3)"
pass "a call to a phone registered nowhere: 480 from B"

# Stale word on the channel: B hears u3 is on A, A hears u3 is on B (two
# node ids of the past). B passes the call to A, and A, which has no binding,
# answers 480 rather than pass a node's request on to another node (which
# would bounce it back to B: 482 Loop Detected).
until=$(( $(date +%s) + 600 ))
redis-cli -p $RPORT publish pbxguard:4:bans "reg 00000000000000aa $A:$PORT $until 1 u3@example.org" >/dev/null
redis-cli -p $RPORT publish pbxguard:4:bans "reg 00000000000000bb $B:$PORT $until 1 u3@example.org" >/dev/null
for _ in $(seq 1 20); do [ "$(metric pbxguard_state_remote_aors)" = 2 ] && break; sleep 0.05; done
[ "$(metric pbxguard_state_remote_aors)" = 2 ] || fail "B did not take the word on u3"
sent=$(metric pbxguard_sip_to_node_total)
rm -f "$T/pbx.msg"
sipp -sf "$E2E_DIR/scenarios/uac-rr.xml" -s u3 -i 127.0.0.1 -p $PBX -m 1 -nostdin -timeout 5 \
	-timeout_error -trace_msg -message_file "$T/pbx.msg" $B:$PORT >"$T/pbx.out" 2>&1 &&
	fail "a call to u3, registered nowhere, completed"
[ "$(metric pbxguard_sip_to_node_total)" = $((sent + 1)) ] || fail "B did not pass the call to A"
grep -q '^SIP/2.0 480 ' "$T/pbx.msg" ||
	fail "A must answer 480, not pass it on: got $(grep '^SIP/2.0' "$T/pbx.msg" | head -3)"
pass "a node's request for a phone not registered there: 480, never passed on to a third node"

# --- Redis stops ---------------------------------------------------------------
stop_redis
for n in a b; do
	for _ in $(seq 1 50); do grep -q "unreachable" "$T/$n.log" && break; sleep 0.1; done
	grep -q "unreachable.*own bans, nonces and registrations" "$T/$n.log" || fail "node $n did not notice"
done
r=$(replay $B 8$RANDOM)
grep -q '^SIP/2.0 401 ' <<<"$r" && grep -q 'stale=true' <<<"$r" ||
	fail "a shared nonce at B without redis got: $(head -1 <<<"$r")"
one_user 3
sipp -sf "$E2E_DIR/scenarios/register-once.xml" -inf "$T/one.csv" -m 1 -i 127.0.0.23 -p 25273 \
	-timeout 5 -timeout_error -nostdin $B:$PORT >"$T/reg3.out" 2>&1 ||
	fail "u3 could not register at B without redis"
pass "redis down: a shared nonce is answered stale at B, and B's own nonces still authenticate u3"
call_b u2 127.0.0.22:25272
pass "redis down: B still routes the PBX's call to u2 on A (a registration it already knew)"

stop_nodes
pass "both nodes stopped cleanly"

#!/usr/bin/env bash
# Two pbxguard nodes, one Redis (state = redis://): a source that fails its
# passwords on node A is dropped by node B within a second; manual bans and
# unbans travel too; with Redis stopped both nodes keep working on their own
# bans and say so, and a ban made during the outage reaches the other node
# once Redis is back.
. "$(dirname "$0")/lib.sh"
RPORT=26240 PA=25241 PB=25242

start_redis $RPORT

make_userdb "$T/userdb" 3 u
node_conf a redis://127.0.0.1:$RPORT/2 "transports = udp:127.0.0.1:$PA" "maxretry = 3"
node_conf b redis://127.0.0.1:$RPORT/2 "transports = udp:127.0.0.1:$PB" "maxretry = 3"
# Node A has the admin page: what it says of the shared state.
htpasswd -bcB "$T/passwords" admin 'Cluster-admin-pw' 2>/dev/null
cat >>"$T/a.conf" <<CONF
[http]
listen = https:127.0.0.1:25243
AuthUserFile = $T/passwords
CONF
# Whole answers into a file first: grep -q stopping early would make curl fail
# on a closed pipe, and pipefail would count that.
web() { curl -sk -u admin:Cluster-admin-pw -o "$T/web.out" "https://127.0.0.1:25243$1"; cat "$T/web.out"; }
seen() { web "$1" >/dev/null; grep -q -- "$2" "$T/web.out"; }
start_nodes
nodes_say "state: redis 127.0.0.1:$RPORT/2 connected; bans, nonces and registrations are shared"
seen /metrics '^pbxguard_state_up 1$' || fail "metrics: $(grep state_ "$T/web.out")"
seen /pbxguard/api/state '"service":"state","address":"127.0.0.1:'$RPORT'/2","kind":"Redis (shared bans, nonces, registrations)","state":"up"' ||
	fail "api/state: $(head -c 600 "$T/web.out")"
pass "both nodes connected to redis; A's metrics and admin page say it is up"

bansof() { "$PBXGUARD" ctl -c "$T/$1.conf" bans list; }
ping_from 127.0.0.66 $PB | grep -q "^SIP/2.0 200" || fail "B does not answer 127.0.0.66 before any ban"

# Three wrong passwords at A: A bans, and B must drop the source within a second.
for i in 1 2 3; do
	sipp_once 127.0.0.66 u1 wrong $PA 403 || fail "wrong password $i at A not refused"
done
start=$(date +%s%N)
for _ in $(seq 1 100); do bansof a | grep -q "^127.0.0.66 " && break; sleep 0.01; done
bansof a | grep -q "^127.0.0.66 .* failures" || fail "A did not ban 127.0.0.66: $(bansof a)"
t0=$(date +%s%N)
while ! bansof b | grep -q "^127.0.0.66 .* shared"; do
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ] || fail "B has no ban of 127.0.0.66 a second after A's: $(bansof b)"
	sleep 0.01
done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ -z "$(WAIT=0.5 ping_from 127.0.0.66 $PB)" ] || fail "B still answers 127.0.0.66"
ping_from 127.0.0.67 $PB | grep -q "^SIP/2.0 200" || fail "B does not answer a clean source"
pass "a ban made on A (3 wrong passwords) drops 127.0.0.66 on B after $ms ms; others still answered"

# Manual ban on B, unban on A: both travel.
ctl_b() { "$PBXGUARD" ctl -c "$T/b.conf" "$@"; }
ctl_b bans ban 127.0.0.70 1h >/dev/null
for _ in $(seq 1 100); do bansof a | grep -q "^127.0.0.70 " && break; sleep 0.01; done
bansof a | grep -q "^127.0.0.70 .* shared" || fail "A did not get B's manual ban"
"$PBXGUARD" ctl -c "$T/a.conf" bans unban 127.0.0.70 >/dev/null
for _ in $(seq 1 100); do bansof b | grep -q "^127.0.0.70 " || break; sleep 0.01; done
bansof b | grep -q "^127.0.0.70 " && fail "B kept 127.0.0.70 after A's unban"
pass "a manual ban on B reaches A; A's unban reaches B"

# Redis stops: both nodes say so, keep answering and keep their own bans.
stop_redis
for n in a b; do
	for _ in $(seq 1 50); do grep -q "unreachable" "$T/$n.log" && break; sleep 0.1; done
	grep -q "state: redis 127.0.0.1:$RPORT/2 unreachable" "$T/$n.log" ||
		fail "node $n did not notice redis going away"
done
ping_from 127.0.0.68 $PA | grep -q "^SIP/2.0 200" || fail "A stopped answering without redis"
seen /metrics '^pbxguard_state_up 0$' || fail "metrics while redis is down: $(grep state_ "$T/web.out")"
seen /metrics '^pbxguard_state_outages_total 1$' || fail "outage not counted"
seen /pbxguard/api/state '"state":"unreachable: this node' || fail "api/state while redis is down"
[ -z "$(WAIT=0.5 ping_from 127.0.0.66 $PB)" ] || fail "B let 127.0.0.66 in without redis"
ctl_b bans ban 127.0.0.71 1h >/dev/null
bansof a | grep -q "^127.0.0.71 " && fail "A has a ban it cannot have heard of"
pass "redis down: both nodes log it (A's metrics and page too), answer, keep their bans"
start_redis $RPORT
for _ in $(seq 1 100); do bansof a | grep -q "^127.0.0.71 " && break; sleep 0.1; done
bansof a | grep -q "^127.0.0.71 .* shared" || fail "B's ban from the outage did not reach A: $(bansof a)"
grep -q "state: 1 ban of this node shared\|state: [0-9]* bans of this node shared" "$T/b.log" ||
	fail "B did not say it shared its bans again"
pass "redis back: the ban B made meanwhile reaches A"

stop_nodes
pass "both nodes stopped cleanly"

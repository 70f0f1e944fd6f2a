#!/usr/bin/env bash
# Shared state through Redis Sentinel (state = redis-sentinel://...#master):
# a Redis master, its replica and a sentinel started here. Two nodes find the
# master by asking (the first sentinel listed is not there: the next one is
# asked), share a ban; the sentinel fails the master over to the replica and
# both nodes follow it, and a ban made after the failover still travels.
. "$(dirname "$0")/lib.sh"
MPORT=26245 RPORT=26246 SPORT=26247 PA=25246 PB=25247
command -v redis-server >/dev/null || { echo "skip: no redis-server"; exit 77; }

redis_at() { # $1 port, then redis-server arguments
	local port=$1
	shift
	redis-server "$@" >"$T/redis-$port.log" 2>&1 &
	at_exit "kill -TERM $!"
	for _ in $(seq 1 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "redis on $port did not start: $(tail -3 "$T/redis-$port.log")"
}
mkdir -p "$T/m" "$T/r" "$T/s"
redis_at $MPORT --port $MPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$T/m"
redis_at $RPORT --port $RPORT --bind 127.0.0.1 --save '' --appendonly no --dir "$T/r" \
	--replicaof 127.0.0.1 $MPORT
cat >"$T/s/sentinel.conf" <<CONF
port $SPORT
bind 127.0.0.1
dir $T/s
sentinel monitor pbxm 127.0.0.1 $MPORT 1
sentinel down-after-milliseconds pbxm 1000
sentinel failover-timeout pbxm 5000
CONF
redis_at $SPORT "$T/s/sentinel.conf" --sentinel
# The sentinel must know the replica before it can fail over to it.
for _ in $(seq 1 100); do
	redis-cli -p $SPORT SENTINEL replicas pbxm 2>/dev/null | grep -q "^127.0.0.1:$RPORT$" && break
	sleep 0.1
done
redis-cli -p $SPORT SENTINEL replicas pbxm | grep -q "^127.0.0.1:$RPORT$" ||
	fail "the sentinel does not see the replica: $(redis-cli -p $SPORT SENTINEL replicas pbxm)"

make_userdb "$T/userdb" 1 u
STATE="redis-sentinel://127.0.0.1:26299,127.0.0.1:$SPORT/2#pbxm"
node_conf a "$STATE" "transports = udp:127.0.0.1:$PA"
node_conf b "$STATE" "transports = udp:127.0.0.1:$PB"
"$PBXGUARD" serve --check -c "$T/a.conf" >"$T/check.out" 2>&1 || fail "--check: $(cat "$T/check.out")"
start_nodes
nodes_say "state: redis 127.0.0.1:$MPORT/2 (sentinel master pbxm) connected"
grep -q "sentinel 127.0.0.1:26299: no answer" "$T/a.log" ||
	fail "A did not try the first sentinel listed: $(grep state "$T/a.log")"
grep -q "state: sentinel 127.0.0.1:$SPORT: master pbxm is 127.0.0.1:$MPORT" "$T/a.log" ||
	fail "A does not say which sentinel answered: $(grep state "$T/a.log")"
pass "both nodes asked the sentinels (the first one listed is down, the second answered) and reached master pbxm at $MPORT"

bansof() { "$PBXGUARD" ctl -c "$T/$1.conf" bans list; }
shared_within() { # $1 node, $2 address: within a second
	local t0
	t0=$(date +%s%N)
	while ! bansof "$1" | grep -q "^$2 .* shared"; do
		[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 1000 ] || return 1
		sleep 0.01
	done
}
"$PBXGUARD" ctl -c "$T/a.conf" bans ban 127.0.0.70 600 >/dev/null || fail "ctl ban on A"
shared_within b 127.0.0.70 || fail "B has no ban of 127.0.0.70 a second after A's: $(bansof b)"
pass "a ban made on A reaches B through the master the sentinel named"

# The sentinel moves the master to the replica: both nodes follow.
redis-cli -p $SPORT SENTINEL failover pbxm >/dev/null || fail "SENTINEL failover"
for _ in $(seq 1 100); do
	[ "$(redis-cli -p $SPORT SENTINEL get-master-addr-by-name pbxm | tail -1)" = $RPORT ] && break
	sleep 0.1
done
[ "$(redis-cli -p $SPORT SENTINEL get-master-addr-by-name pbxm | tail -1)" = $RPORT ] || fail "the failover did not happen"
nodes_say "state: redis 127.0.0.1:$RPORT/2 (sentinel master pbxm) connected"
for n in a b; do
	grep -q "state: sentinel 127.0.0.1:$SPORT: master pbxm is now 127.0.0.1:$RPORT (was 127.0.0.1:$MPORT)" "$T/$n.log" ||
		fail "node $n does not log the move: $(grep state "$T/$n.log")"
done
[ -n "$(redis-cli -p $RPORT -n 2 ZSCORE pbxguard:bans 127.0.0.70)" ] || fail "the new master lacks A's ban"
"$PBXGUARD" ctl -c "$T/b.conf" bans ban 127.0.0.71 600 >/dev/null || fail "ctl ban on B"
shared_within a 127.0.0.71 || fail "A has no ban of 127.0.0.71 a second after B's, after the failover: $(bansof a)"
ping_from 127.0.0.72 $PA | grep -q "^SIP/2.0 200" || fail "A does not answer a clean source after the failover"
pass "after SENTINEL failover both nodes follow the master to $RPORT (logged); the old ban is there, a new one made on B reaches A"
stop_nodes
pass "both nodes stopped cleanly"

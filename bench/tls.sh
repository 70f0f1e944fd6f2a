#!/usr/bin/env bash
# SIP over TLS: what it costs the daemon, against plain TCP in the same run.
#   1. authenticated registrations over one reused connection: sipp -t t1
#      straight to the TCP listener, then through stunnel4 to the TLS one
#      (Debian's sipp has no TLS): reg/s and daemon CPU per 1000, and ratios;
#   2. handshakes: openssl s_time with a full handshake per connection, then
#      with resumed sessions: connections/s and daemon CPU per handshake.
# Shared, noisy machine: read the ratios of one run.
#
# usage: bench/tls.sh PBXGUARD_BINARY [CALLS] [SECS]
set -euo pipefail
PBX=$(realpath "${1:?pbxguard binary}")
CALLS=${2:-20000}
SECS=${3:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"

bench_users "$T"
bench_conf "tcp:127.0.0.1:27090 tls:127.0.0.1:27091"
cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid =
[sip]
client = yes
accept = 127.0.0.1:27092
connect = 127.0.0.1:27091
CONF


"$PBX" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
PID=$!
PIDS+=($PID)
sleep 1
stunnel "$T/stunnel.conf" >"$T/stunnel.log" 2>&1 &
PIDS+=($!)
sleep 0.5

reg() { # $1 = name, $2 = port -> "reg/s cpu-per-1000"
	local c0 c1 start end ok
	c0=$(cpu_of $PID)
	start=$(date +%s.%N)
	sipp -sf "$ROOT/tests/e2e/scenarios/register-once.xml" -inf "$T/users.csv" -m "$CALLS" \
		-r 20000 -rp 1000 -l 500 -t t1 -i 127.0.0.1 -p 0 -timeout 120 -nostdin -trace_stat \
		-stf "$T/stat-$1.csv" 127.0.0.1:"$2" >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	c1=$(cpu_of $PID)
	ok=$(tail -1 "$T/stat-$1.csv" | awk -F';' '{print $16}')
	echo "$(echo "scale=1; $ok / ($end - $start)" | bc) $(echo "scale=4; ($c1 - $c0) * 1000 / $ok" | bc)"
}

echo "bench: $CALLS authenticated registrations over one connection, TCP vs TLS (sipp; TLS via stunnel4)"
for round in 1 2; do
	read -r tcp_rate tcp_cpu <<<"$(reg tcp 27090)"
	read -r tls_rate tls_cpu <<<"$(reg tls 27092)"
	printf '  round %d: TCP %8s reg/s, %s CPU s/1000 | TLS %8s reg/s, %s CPU s/1000 | TLS/TCP: %sx reg/s, %sx CPU\n' \
		$round "$tcp_rate" "$tcp_cpu" "$tls_rate" "$tls_cpu" \
		"$(echo "scale=2; $tls_rate / $tcp_rate" | bc)" "$(echo "scale=2; $tls_cpu / $tcp_cpu" | bc)"
done

hs() { # $1 = -new or -reuse, $2 = -tls1_2 or -tls1_3 -> "conn/s cpu-ms-per-conn"
	local c0 c1 n
	c0=$(cpu_of $PID)
	n=$(openssl s_time -connect 127.0.0.1:27091 "$1" "$2" -time "$SECS" 2>/dev/null |
		sed -n 's/^\([0-9]*\) connections in .*/\1/p' | tail -1)
	c1=$(cpu_of $PID)
	echo "$(echo "scale=1; $n / $SECS" | bc) $(echo "scale=3; ($c1 - $c0) * 1000 / $n" | bc)"
}
# s_time -reuse resumes only TLS 1.2 sessions (a TLS 1.3 ticket arrives after
# its handshake), so the comparison is made on TLS 1.2; TLS 1.3 full too.
read -r new3_rate new3_cpu <<<"$(hs -new -tls1_3)"
read -r new_rate new_cpu <<<"$(hs -new -tls1_2)"
read -r re_rate re_cpu <<<"$(hs -reuse -tls1_2)"
echo "  TLS 1.3 full handshakes:  $new3_rate conn/s, daemon $new3_cpu ms CPU each"
echo "  TLS 1.2 full handshakes:  $new_rate conn/s, daemon $new_cpu ms CPU each"
echo "  TLS 1.2 resumed sessions: $re_rate conn/s, daemon $re_cpu ms CPU each"
echo "ratio: a full TLS 1.2 handshake costs the daemon $(echo "scale=1; $new_cpu / $re_cpu" | bc)x a resumed one"

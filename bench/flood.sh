#!/usr/bin/env bash
# A flood from a banned source: what it costs the daemon, and what it
# leaves of the legitimate registration rate. In one run, against the same
# daemon (userspace bans, nftables off, so the daemon itself drops):
#   1. legitimate sipp registrations alone (reg/s, daemon CPU per 1000),
#   2. the flood alone: sipp sending REGISTERs from a banned address as fast
#      as it can for FLOOD_SECS (packets/s sent, daemon CPU %),
#   3. both at once (reg/s with the flood, and its ratio to step 1),
#   4. the same flood aimed at a port nobody listens on, with the legitimate
#      load: what sharing 2 cores with the flooding sipp costs by itself,
#      whatever the daemon does.
# The machine is shared and noisy (2 cores for sipp x2 and the daemon):
# read the ratios of this run, not the absolutes.
#
# usage: bench/flood.sh PBXGUARD_BINARY [CALLS] [FLOOD_SECS]
set -euo pipefail
PBX=$(realpath "${1:?pbxguard binary}")
CALLS=${2:-20000}
FLOOD_SECS=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"

bench_users "$T"
bench_conf "udp:127.0.0.1:27080"


legit() { # $1 = tag -> "seconds successful"
	local start end ok
	start=$(date +%s.%N)
	sipp -sf "$ROOT/tests/e2e/scenarios/register-once.xml" -inf "$T/users.csv" -m "$CALLS" \
		-r 20000 -rp 1000 -l 1000 -i 127.0.0.2 -p 0 -timeout 120 -nostdin -trace_stat \
		-stf "$T/stat-$1.csv" 127.0.0.1:27080 >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	ok=$(tail -1 "$T/stat-$1.csv" | awk -F';' '{print $16}')
	echo "$(echo "$end - $start" | bc) $ok"
}

flood() { # $1 = seconds [$2 = port]; sipp as fast as it goes from the banned 127.0.0.66, no retransmissions
	timeout "$1" sipp -sf "$ROOT/tests/e2e/scenarios/flood.xml" -m 100000000 -r 1000000 \
		-rp 1000 -nr -i 127.0.0.66 -p 0 -nostdin -trace_stat -fd 1 -stf "$T/stat-flood.csv" \
		127.0.0.1:"${2:-27080}" >/dev/null 2>&1 || true
}

"$PBX" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
PID=$!
PIDS+=($PID)
sleep 1
"$PBX" ctl -c "$T/pbxguard.conf" bans ban 127.0.0.66 1h >/dev/null

echo "bench: flood from a banned source vs $CALLS legitimate registrations (sipp, loopback)"
c0=$(cpu_of $PID)
r=$(legit legit-alone)
c1=$(cpu_of $PID)
secs=${r% *} ok=${r#* }
rate_alone=$(echo "scale=1; $ok / $secs" | bc)
printf '  legitimate alone:      %6s registrations in %6.2f s = %8s reg/s, %s daemon CPU s per 1000\n' \
	"$ok" "$secs" "$rate_alone" "$(echo "scale=3; ($c1 - $c0) * 1000 / $ok" | bc)"

c0=$(cpu_of $PID)
flood "$FLOOD_SECS"
c1=$(cpu_of $PID)
sent=$(tail -1 "$T/stat-flood.csv" | awk -F';' '{print $13}')
dropped=$("$PBX" ctl -c "$T/pbxguard.conf" bans list | awk '$1 == "127.0.0.66" { print $5 }')
cpu_pct=$(echo "scale=1; ($c1 - $c0) * 100 / $FLOOD_SECS" | bc)
# sipp's own count lags (its stat file is written each second); the daemon's
# drop counter is what reached it.
printf '  flood alone:           %s s: sipp counted >= %s sent, the daemon dropped %s (%s/s) at %s %% CPU\n' \
	"$FLOOD_SECS" "$sent" "$dropped" "$((dropped / FLOOD_SECS))" "$cpu_pct"
if [ "$dropped" -gt 0 ]; then
	echo "  daemon CPU per dropped packet: $(echo "scale=3; ($c1 - $c0) * 1000000000 / $dropped" | bc) ns"
fi

legit_during_flood() { # $1 = tag, $2 = port the flood hits -> reg/s
	local fl r
	flood $((FLOOD_SECS * 6)) "$2" &
	fl=$!
	PIDS+=($fl)
	sleep 1
	r=$(legit "$1")
	kill "$fl" 2>/dev/null || true
	wait "$fl" 2>/dev/null || true
	echo "scale=1; ${r#* } / ${r% *}" | bc
}
rate_flood=$(legit_during_flood legit-underflood 27080)
echo "  legitimate under the flood:                    $rate_flood reg/s"
rate_else=$(legit_during_flood legit-elsewhere 27099)
echo "  legitimate while the flood hits a closed port: $rate_else reg/s"
echo "ratio: legitimate reg/s under the flood / alone = $(echo "scale=2; $rate_flood / $rate_alone" | bc)x"
echo "ratio: under the flood / with the same flood at a closed port = $(echo "scale=2; $rate_flood / $rate_else" | bc)x"
echo "pbxguard peak RSS: $(awk '/VmHWM/{print $2}' "/proc/$PID/status") kB"

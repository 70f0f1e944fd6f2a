#!/usr/bin/env bash
# Calls per second through the proxy, and proxy CPU seconds per 1,000 calls,
# for pbxguard and for Kamailio 5.6 set up the same way (proxy_authorize
# against db_text with stored HA1, record_route, tm's t_relay to the PBX),
# driven by the same sipp phones toward the same kind of sipp PBX in the
# same run. A call: INVITE, 407, ACK, INVITE with credentials, 100, 180, 200,
# ACK, BYE, 200 — 10 messages through the proxy each way counted once.
# The machine is shared and noisy: read the ratios, not the absolutes.
#
# usage: bench/calls.sh PBXGUARD_BINARY [CALLS] [RATE]
set -euo pipefail
PBX=$(realpath "${1:?pbxguard binary}")
CALLS=${2:-5000}
RATE=${3:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
need_kamailio
bench_users "$T"

bench_conf "udp:127.0.0.1:27060"
printf 'upstream = sip:127.0.0.1:27081\n' >>"$T/pbxguard.conf"

kamailio_cfg rr
cat >>"$T/kamailio.cfg" <<CFG
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
	if (has_totag()) {
		if (loose_route()) { t_relay(); exit; }
		if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
		sl_send_reply("404", "Not Here");
		exit;
	}
	t_check_trans();
	if (!proxy_authorize("\$fd", "subscriber")) { proxy_challenge("\$fd", "1"); exit; }
	consume_credentials();
	remove_hf("Route");
	record_route();
	\$du = "sip:127.0.0.1:27082";
	t_relay();
}
CFG

# A sipp PBX per proxy, answering every call (uas-rr.xml echoes Record-Route).
pbx() {
	sipp -sf "$ROOT/tests/e2e/scenarios/uas-rr.xml" -i 127.0.0.1 -p "$1" -nostdin \
		-bg >/dev/null 2>&1 || true
	PIDS+=($(pgrep -f "sipp -sf .*uas-rr.xml -i 127.0.0.1 -p $1"))
}

run_sipp() { # $1 = port -> prints "seconds successful"
	local start end ok
	start=$(date +%s.%N)
	sipp -sf "$ROOT/bench/scenarios/call-auth.xml" -inf "$T/users.csv" -s 600 -m "$CALLS" \
		-r "$RATE" -l 2000 -i 127.0.0.1 -p 0 -timeout 120 -nostdin -trace_stat \
		-stf "$T/stat-$1.csv" -trace_err -error_file "$T/err-$1.log" 127.0.0.1:"$1" >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	ok=$(tail -1 "$T/stat-$1.csv" | awk -F';' '{print $16}')
	echo "$(echo "$end - $start" | bc) $ok"
}

pbx 27081
pbx 27082
bench_start "$PBX" -m 512

echo "bench: $CALLS authenticated calls at up to $RATE calls/s, sipp phones -> proxy -> sipp PBX on loopback"
# shellcheck disable=SC2086
bench_compare calls 27060 $PBX_PID 27070 $KAM_PIDS

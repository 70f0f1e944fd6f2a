#!/usr/bin/env bash
# Authenticated REGISTERs per second, and server CPU seconds per 1,000
# registrations, for pbxguard and for Kamailio 5.6 (auth_db over db_text,
# stored HA1, usrloc in memory) driven by the same sipp scenario in the same
# run. The machine is shared and noisy: read the ratios, not the absolutes.
#
# usage: bench/register.sh PBXGUARD_BINARY [CALLS] [USERS]
set -euo pipefail
PBX=$(realpath "${1:?pbxguard binary}")
CALLS=${2:-20000}
USERS=${3:-500}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/lib.sh"
SCEN="$ROOT/tests/e2e/scenarios/register-once.xml"

need_kamailio
bench_users "$T" "$USERS"

bench_conf "udp:127.0.0.1:27060"

kamailio_cfg usrloc registrar
cat >>"$T/kamailio.cfg" <<CFG
modparam("usrloc", "db_mode", 0)
request_route {
	if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
	if (is_method("REGISTER")) {
		if (!auth_check("\$fd", "subscriber", "1")) {
			auth_challenge("\$fd", "1");
			exit;
		}
		consume_credentials();
		if (!save("location")) sl_reply_error();
		exit;
	}
	sl_send_reply("404", "Not Here");
}
CFG

run_sipp() { # $1 = port -> prints "seconds successful"
	local start end
	start=$(date +%s.%N)
	sipp -sf "$SCEN" -inf "$T/users.csv" -m "$CALLS" -r 20000 -rp 1000 -l 1000 \
		-i 127.0.0.1 -p 0 -timeout 120 -nostdin -trace_stat -stf "$T/stat-$1.csv" \
		127.0.0.1:"$1" >/dev/null 2>&1 || true
	end=$(date +%s.%N)
	local ok
	ok=$(tail -1 "$T/stat-$1.csv" | awk -F';' '{print $16}')
	echo "$(echo "$end - $start" | bc) $ok"
}

bench_start "$PBX"

echo "bench: $CALLS registrations (REGISTER, 401, REGISTER, 200), $USERS users, sipp on loopback"
# shellcheck disable=SC2086
bench_compare registrations 27060 $PBX_PID 27070 $KAM_PIDS

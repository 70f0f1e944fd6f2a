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

cat >"$T/kamailio.cfg" <<CFG
#!KAMAILIO
debug=0
log_stderror=yes
children=2
listen=udp:127.0.0.1:27070
mpath="$KAMAILIO_MODULES"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "rr.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("auth_db", "db_url", "text://$T/dbtext")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
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

measure() { # $1 = name, $2 = port, rest = server pids
	local name=$1 port=$2 c0 c1 r secs ok rate cpu
	shift 2
	c0=$(cpu_of "$@")
	r=$(run_sipp "$port")
	c1=$(cpu_of "$@")
	secs=${r% *}
	ok=${r#* }
	[ "${ok:-0}" -gt 0 ] || { echo "bench: no call completed through $name" >&2; exit 1; }
	rate=$(echo "scale=1; $ok / $secs" | bc)
	cpu=$(echo "scale=4; ($c1 - $c0) * 1000 / $ok" | bc)
	printf '%-10s %6s of %s calls in %6.2f s: %7s calls/s, %s CPU s per 1000 calls\n' \
		"$name" "$ok" "$CALLS" "$secs" "$rate" "$cpu"
	echo "$rate $cpu" >"$T/result-$name"
}

pbx 27081
pbx 27082
"$PBX" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
PIDS+=($!)
PBX_PID=$!
kamailio -f "$T/kamailio.cfg" -m 512 -DD -E -P "$T/kam.pid" -Y "$T" >"$T/kamailio.log" 2>&1 &
PIDS+=($!)
sleep 1.5
KAM_PIDS=$(pgrep -f "kamailio -f $T/kamailio.cfg" | tr '\n' ' ')

echo "bench: $CALLS authenticated calls at up to $RATE calls/s, sipp phones -> proxy -> sipp PBX on loopback"
for round in 1 2; do
	measure "pbxguard" 27060 $PBX_PID
	mv "$T/result-pbxguard" "$T/pbx-$round"
	# shellcheck disable=SC2086
	measure "kamailio" 27070 $KAM_PIDS
	mv "$T/result-kamailio" "$T/kam-$round"
done
python3 - "$T" <<'PY'
import sys
t = sys.argv[1]
def load(p): return [tuple(map(float, open("%s/%s-%d" % (t, p, r)).read().split())) for r in (1, 2)]
pb, ka = load("pbx"), load("kam")
rate = sum(a[0] / b[0] for a, b in zip(pb, ka)) / 2
cpu = sum(a[1] / b[1] for a, b in zip(pb, ka)) / 2
print("ratio pbxguard/kamailio: %.2fx calls per second, %.2fx CPU per call" % (rate, cpu))
PY
rss=$(awk '/VmHWM/{print $2}' "/proc/$PBX_PID/status")
echo "pbxguard peak RSS: ${rss} kB"

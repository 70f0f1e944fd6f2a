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
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("usrloc", "db_mode", 0)
modparam("auth_db", "db_url", "text://$T/dbtext")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
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

measure() { # $1 = name, $2 = port, rest = server pids
	local name=$1 port=$2
	shift 2
	local c0 c1 r secs ok
	c0=$(cpu_of "$@")
	r=$(run_sipp "$port")
	c1=$(cpu_of "$@")
	secs=${r% *}
	ok=${r#* }
	local rate cpu
	rate=$(echo "scale=1; $ok / $secs" | bc)
	cpu=$(echo "scale=4; ($c1 - $c0) * 1000 / $ok" | bc)
	printf '%-10s %7s registrations in %6.2f s: %8s reg/s, %s CPU s per 1000\n' \
		"$name" "$ok" "$secs" "$rate" "$cpu"
	echo "$rate $cpu" >"$T/result-$name"
}

"$PBX" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
PIDS+=($!)
PBX_PID=$!
kamailio -f "$T/kamailio.cfg" -DD -E -P "$T/kam.pid" -Y "$T" >"$T/kamailio.log" 2>&1 &
PIDS+=($!)
sleep 1.5
KAM_PIDS=$(pgrep -f "kamailio -f $T/kamailio.cfg" | tr '\n' ' ')

echo "bench: $CALLS registrations (REGISTER, 401, REGISTER, 200), $USERS users, sipp on loopback"
# Alternate the two servers twice so slow phases of the machine hit both.
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
print("ratio pbxguard/kamailio: %.2fx registrations per second, %.2fx CPU per registration" % (rate, cpu))
PY
rss=$(awk '/VmHWM/{print $2}' "/proc/$PBX_PID/status")
echo "pbxguard peak RSS: ${rss} kB"

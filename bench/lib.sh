# Shared by the benchmarks: a scratch directory, the daemon's configuration,
# users, a CPU clock per process. Source it after setting ROOT.

# T: a scratch directory; PIDS: processes killed at exit (BENCH_KEEP keeps T).
T=$(mktemp -d /tmp/pbxguard-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null
[ -n "${BENCH_KEEP:-}" ] || rm -rf "$T"' EXIT

# $T/pbxguard.conf with the listeners $1: MD5, $T/userdb, quiet logs, no
# kernel bans, and no flood limit (one sipp host sending thousands of
# requests a second is the load, not an attack).
bench_conf() {
	cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
log-level = warning
[module::Authentication]
auth-domains = example.org
available-algorithms = MD5
file-path = $T/userdb
[bans]
pike-limit = 0
nftables = no
[sip]
transports = $1
CONF
}

# Accounts b1..bN@example.org (N = $2, default 500): $1/userdb (MD5 A1),
# $1/users.csv for sipp, and Kamailio's db_text subscriber table with the
# same A1 in $1/dbtext.
bench_users() {
	python3 - "$1" "${2:-500}" <<'PY'
import hashlib, os, sys
t, n = sys.argv[1], int(sys.argv[2])
os.makedirs(t + "/dbtext", exist_ok=True)
with open(t + "/userdb", "w") as u, open(t + "/users.csv", "w") as c, \
     open(t + "/dbtext/subscriber", "w") as k:
    u.write("version:1\n")
    c.write("SEQUENTIAL\n")
    k.write("id(int,auto) username(string) domain(string) password(string,null) ha1(string) ha1b(string,null)\n")
    for i in range(1, n + 1):
        user, pw = "b%d" % i, "Bench-pw-%d" % i
        ha1 = hashlib.md5(("%s:example.org:%s" % (user, pw)).encode()).hexdigest()
        u.write("%s@example.org md5:%s ;\n" % (user, ha1))
        c.write("%s;[authentication username=%s password=%s]\n" % (user, user, pw))
        k.write("%d:%s:example.org::%s:\n" % (i, user, ha1))
open(t + "/dbtext/version", "w").write("table_name(string) table_version(int)\nsubscriber:7\n")
PY
}

# Kamailio, the comparison server (installed once, never left running).
need_kamailio() {
	command -v kamailio >/dev/null && return 0
	echo "bench: installing kamailio (comparison server)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio >/dev/null
	systemctl disable --now kamailio >/dev/null 2>&1 || true
}
KAMAILIO_MODULES=/usr/lib/x86_64-linux-gnu/kamailio/modules/

# The start of $T/kamailio.cfg both comparisons share: UDP on 127.0.0.1:27070,
# two workers, digest authentication from the db_text table of bench_users
# (stored HA1), plus the modules named in $@. The script appends its route.
kamailio_cfg() {
	{
		printf '#!KAMAILIO\ndebug=0\nlog_stderror=yes\nchildren=2\n'
		printf 'listen=udp:127.0.0.1:27070\nmpath="%s"\n' "$KAMAILIO_MODULES"
		for m in sl tm pv maxfwd textops siputils db_text auth auth_db "$@"; do
			printf 'loadmodule "%s.so"\n' "$m"
		done
		printf 'modparam("auth_db", "db_url", "text://%s/dbtext")\n' "$T"
		printf 'modparam("auth_db", "calculate_ha1", 0)\n'
		printf 'modparam("auth_db", "password_column", "ha1")\n'
		printf 'modparam("auth_db", "load_credentials", "")\n'
	} >"$T/kamailio.cfg"
}

# utime + stime of the given pids together, in seconds.
cpu_of() {
	local sum=0 f
	for p in "$@"; do
		read -r -a f <"/proc/$p/stat"
		sum=$((sum + f[13] + f[14]))
	done
	echo "scale=3; $sum / $(getconf CLK_TCK)" | bc
}

# One sipp run against a server, timed and costed: bench_measure NAME PORT NOUN
# PIDS... calls the script's run_sipp PORT (which prints "seconds successful")
# and prints NOUN per second and the PIDS' CPU seconds per 1000 NOUN.
bench_measure() {
	local name=$1 port=$2 noun=$3 c0 c1 r secs ok rate cpu
	shift 3
	c0=$(cpu_of "$@")
	r=$(run_sipp "$port")
	c1=$(cpu_of "$@")
	secs=${r% *}
	ok=${r#* }
	[ "${ok:-0}" -gt 0 ] || { echo "bench: nothing succeeded against $name" >&2; exit 1; }
	rate=$(echo "scale=1; $ok / $secs" | bc)
	cpu=$(echo "scale=4; ($c1 - $c0) * 1000 / $ok" | bc)
	printf '%-10s %7s %s in %6.2f s: %8s per s, %s CPU s per 1000\n' \
		"$name" "$ok" "$noun" "$secs" "$rate" "$cpu"
	echo "$rate $cpu" >"$T/result-$name"
}

# pbxguard (port $2, pid $3) against Kamailio (port $4, pids $5...), twice
# each, alternating so that slow phases of the machine hit both; prints the
# mean ratios. $1: what is counted ("calls", "registrations").
bench_compare() {
	local noun=$1 pport=$2 ppid=$3 kport=$4
	shift 4
	for round in 1 2; do
		bench_measure pbxguard "$pport" "$noun" "$ppid"
		mv "$T/result-pbxguard" "$T/pbx-$round"
		bench_measure kamailio "$kport" "$noun" "$@"
		mv "$T/result-kamailio" "$T/kam-$round"
	done
	python3 - "$T" "$noun" <<'PY'
import sys
t, noun = sys.argv[1], sys.argv[2]
def load(p): return [tuple(map(float, open("%s/%s-%d" % (t, p, r)).read().split())) for r in (1, 2)]
pb, ka = load("pbx"), load("kam")
rate = sum(a[0] / b[0] for a, b in zip(pb, ka)) / 2
cpu = sum(a[1] / b[1] for a, b in zip(pb, ka)) / 2
print("ratio pbxguard/kamailio: %.2fx %s per second, %.2fx CPU per %s" % (rate, noun, cpu, noun[:-1]))
PY
	echo "pbxguard peak RSS: $(awk '/VmHWM/{print $2}' "/proc/$ppid/status") kB"
}

# Starts pbxguard (binary $1, $T/pbxguard.conf) and Kamailio ($T/kamailio.cfg,
# further options $2...): sets PBX_PID and KAM_PIDS (every Kamailio process).
bench_start() {
	"$1" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
	PIDS+=($!)
	PBX_PID=$!
	shift
	kamailio -f "$T/kamailio.cfg" "$@" -DD -E -P "$T/kam.pid" -Y "$T" >"$T/kamailio.log" 2>&1 &
	PIDS+=($!)
	sleep 1.5
	KAM_PIDS=$(pgrep -f "kamailio -f $T/kamailio.cfg" | tr '\n' ' ')
}

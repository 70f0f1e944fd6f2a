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

# 500 accounts b1..b500@example.org: $1/userdb (MD5 A1) and $1/users.csv for sipp.
bench_users() {
	python3 - "$1" <<'PY'
import hashlib, sys
t = sys.argv[1]
with open(t + "/userdb", "w") as u, open(t + "/users.csv", "w") as c:
    u.write("version:1\n")
    c.write("SEQUENTIAL\n")
    for i in range(1, 501):
        user, pw = "b%d" % i, "Bench-pw-%d" % i
        ha1 = hashlib.md5(("%s:example.org:%s" % (user, pw)).encode()).hexdigest()
        u.write("%s@example.org md5:%s ;\n" % (user, ha1))
        c.write("%s;[authentication username=%s password=%s]\n" % (user, user, pw))
PY
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

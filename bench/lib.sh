# Shared by the benchmarks: users, a CPU clock per process.

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

# utime + stime of pid $1, in seconds.
cpu_of() {
	local f
	read -r -a f <"/proc/$1/stat"
	echo "scale=3; (${f[13]} + ${f[14]}) / $(getconf CLK_TCK)" | bc
}

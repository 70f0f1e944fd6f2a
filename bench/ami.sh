#!/usr/bin/env bash
# AMI: pbxguard's cost per action it answers itself, per action it relays to
# Asterisk's AMI, and per event it fans out, against the same actions sent
# straight to the upstream in the same run (tests/e2e/ami.py stands in for
# Asterisk; it is the slower party, so the relay ratio is an upper bound on
# what pbxguard adds). Usage: bench/ami.sh PBXGUARD [ACTIONS]
set -euo pipefail
BIN=$(readlink -f "${1:?pbxguard binary}")
N=${2:-100000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/pbxguard-bench-ami.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"' EXIT
P=16038 U=16138

printf 'version:1\n' >"$T/userdb"
printf '[bench]\nsecret = bench-Secret-1\nread = all\nwrite = all\n' >"$T/manager.conf"
chmod 600 "$T/manager.conf"
cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T
log-level = notice
[module::Authentication]
file-path = $T/userdb
[bans]
nftables = no
; 100 sessions from one address in a second is the bench, not a flood
ignoreip = 127.0.0.1
[manager]
port = $P
users = $T/manager.conf
allowplaintextlogin = yes
sslclienthellotimeout = 50
max-sessions = 512
authlimit = 512
upstream = tcp:127.0.0.1:$U
upstream-username = svc
upstream-secret = svc-Secret-1
CONF
/usr/bin/python3 "$ROOT/tests/e2e/ami.py" upstream $U "$T/upstream.log" svc svc-Secret-1 &
PIDS+=($!)
UP_PID=$!
sleep 0.3
"$BIN" serve -c "$T/pbxguard.conf" >"$T/pbxguard.log" 2>&1 &
PIDS+=($!)
PBX_PID=$!
for _ in $(seq 1 50); do grep -q "actions listed" "$T/pbxguard.log" 2>/dev/null && break; sleep 0.1; done
grep -q "actions listed" "$T/pbxguard.log" || { cat "$T/pbxguard.log"; exit 1; }
: >"$T/upstream.log" # the upstream logs each action: keep it from growing the disk

PYTHONPATH="$ROOT/tests/e2e" /usr/bin/python3 - "$P" "$U" "$N" "$PBX_PID" "$UP_PID" <<'PY'
import sys, time
from ami import Client
port, up, n, pbx, uppid = map(int, sys.argv[1:6])
HZ = 100

def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ

def run(c, action, count, batch=200):
    t0, c0, u0 = time.time(), cpu(pbx), cpu(uppid)
    got = 0
    while got < count:
        k = min(batch, count - got)
        c.send(("Action: %s\r\nActionID: b\r\n\r\n" % action) * k)
        for _ in range(k):
            m = c.read_msg(30)
            assert m and m.startswith("Response: Success"), m
        got += k
    return time.time() - t0, cpu(pbx) - c0, cpu(uppid) - u0

direct = Client(up)
assert "accepted" in direct.login_md5("svc", "svc-Secret-1")
direct.read_msg()
through = Client(port)
assert "accepted" in through.action("Action: Login\nUsername: bench\nSecret: bench-Secret-1\nEvents: off")

results = {}
results["direct"] = run(direct, "CoreStatus", n)
results["relayed"] = run(through, "CoreStatus", n)
results["local"] = run(through, "Ping", n)
print("%-9s %7s actions  %9s  %14s" % ("", "", "per s", "pbxguard CPU"))
for k in ("direct", "relayed", "local"):
    secs, c, u = results[k]
    print("%-9s %7d actions  %7.0f/s  %9.1f us each" % (k, n, n / secs, c * 1e6 / n))
print("relayed/direct actions per s: %.2f" % ((n / results["relayed"][0]) / (n / results["direct"][0])))

# Fan-out: one UserEvent makes three upstream events (call, agent, user);
# 100 sessions with read = all each get all three.
readers = []
for i in range(100):
    c = Client(port)
    assert "accepted" in c.action("Action: Login\nUsername: bench\nSecret: bench-Secret-1")
    c.read_msg()
    readers.append(c)
rounds = 200
c0, t0 = cpu(pbx), time.time()
for r in range(rounds):
    through.send("Action: UserEvent\r\nUserEvent: e%d\r\n\r\n" % r)
    assert through.read_msg(10).startswith("Response: Success")
for c in readers:
    got = 0
    while got < 3 * rounds:
        m = c.read_msg(30)
        assert m, got
        got += m.startswith("Event:")
delivered = 3 * rounds * len(readers)
print("fan-out   %7d events delivered to 100 sessions in %.2f s: %.2f us pbxguard CPU each" %
      (delivered, time.time() - t0, (cpu(pbx) - c0) * 1e6 / delivered))
PY
echo "pbxguard peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$PBX_PID/status)"
kill -TERM "$PBX_PID"
wait "$PBX_PID" 2>/dev/null || true

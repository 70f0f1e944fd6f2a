#!/usr/bin/env bash
# The AMI in front of Asterisk's: actions relayed with their ActionIDs, events
# filtered by each user's read classes, dangerous actions refused before they
# reach it (its log proves it), and a lost upstream reported and retried.
. "$(dirname "$0")/lib.sh"

P=15138 U=15238
printf 'version:1\n' >"$T/userdb"
cat >"$T/manager.conf" <<'USERS'
[ops]
secret = ops-Secret-1
read = call,system
write = all

[admin]
secret = admin-Secret-1
read = all
write = all,config,command

[viewer]
secret = viewer-Secret-1
read = user
write = user
USERS
chmod 600 "$T/manager.conf"
write_conf 15160 "$T/userdb"
cat >>"$T/pbxguard.conf" <<CONF
[manager]
port = $P
users = $T/manager.conf
allowplaintextlogin = yes
sslclienthellotimeout = 100
upstream = tcp:127.0.0.1:$U
upstream-username = pbxguard
upstream-secret = svc-Secret-9
CONF

start_upstream() {
	/usr/bin/python3 "$E2E_DIR/ami.py" upstream $U "$T/upstream.log" pbxguard svc-Secret-9 \
		>>"$T/upstream.out" 2>&1 &
	UP_PID=$!
	disown $UP_PID # killed on purpose below: no job-control noise
	at_exit "kill $UP_PID"
	sleep 0.3
}
wait_log() { # $1 pattern, $2 count
	for _ in $(seq 1 100); do
		[ "$(count "$1" "$T/daemon.log")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	fail "never logged: $1"
}

start_upstream
start_daemon
wait_log "AMI upstream 127.0.0.1:$U: logged in as pbxguard, 12 actions listed, version 7.0.3"
grep -q "^Challenge " "$T/upstream.log" || fail "the service login did not use Challenge/MD5"
grep -q "^Login .*Key: [0-9a-f]\{32\}" "$T/upstream.log" || fail "the service login sent no MD5 key"
grep -q "Secret:" "$T/upstream.log" && fail "the service secret crossed in clear"
pass "pbxguard logs in to the upstream with Challenge/MD5 and reads its ListCommands"

PYTHONPATH="$E2E_DIR" /usr/bin/python3 - "$P" "$T/upstream.log" <<'PY' || fail "relay"
import sys, time
from ami import Client, header
port, uplog = int(sys.argv[1]), sys.argv[2]
def upstream_saw(action):
    return any(l.split(" ", 1)[0].lower() == action.lower() for l in open(uplog))

ops = Client(port)
assert ops.greeting == "Asterisk Call Manager/7.0.3\r\n", repr(ops.greeting)  # the upstream's version
assert "Authentication accepted" in ops.action("Action: Login\nUsername: ops\nSecret: ops-Secret-1")
ops.read_msg()  # FullyBooted

# A list action: response and its events come back with the client's ActionID.
r = ops.action("Action: Status\nActionID: my-42")
assert r == "Response: Success\r\nActionID: my-42\r\nEventList: start\r\nMessage: Channel status will follow\r\n\r\n", repr(r)
ev = ops.read_msg()
assert ev == "Event: Status\r\nPrivilege: Call\r\nActionID: my-42\r\nChannel: PJSIP/100-1\r\n\r\n", repr(ev)
ev = ops.read_msg()
assert header(ev, "ActionID") == "my-42" and header(ev, "EventList") == "Complete", repr(ev)
# No ActionID from the client: none comes back.
r = ops.action("Action: CoreStatus")
assert r == "Response: Success\r\nMessage: CoreStatus done upstream\r\n\r\n", repr(r)

# Dangerous actions: write = all is not enough; the upstream never sees them.
for act in ("Action: Command\nCommand: core show channels",
            "Action: Originate\nChannel: PJSIP/100\nApplication: System\nData: touch /tmp/owned",
            "Action: Originate\nChannel: PJSIP/100\nApplication: NoOp\nData: ${SHELL(id)}",
            "Action: GetConfig\nFilename: manager.conf"):
    r = ops.action(act + "\nActionID: d")
    assert r == "Response: Error\r\nActionID: d\r\nMessage: Permission denied\r\n\r\n", (act, r)
time.sleep(0.3)
assert not upstream_saw("Command") and not upstream_saw("GetConfig") and not upstream_saw("Originate")
# A harmless Originate goes through.
r = ops.action("Action: Originate\nChannel: PJSIP/100\nApplication: Playback\nData: hello-world\nActionID: o")
assert r == "Response: Success\r\nActionID: o\r\nMessage: Originate done upstream\r\n\r\n", repr(r)

# ListCommands: pbxguard's own and the upstream's, without what ops may not run.
r = ops.action("Action: ListCommands")
assert "Ping: Keepalive command. (Priv: <none>)\r\n" in r and "Hangup: Hangup channel." in r, r
assert "Command:" not in r and "GetConfig:" not in r and "Bans:" in r, r
assert "PBXGuardStatus:" in r and "\r\nStatus: List channel status." in r, r

# The upstream's class rule: viewer (write = user) may not Hangup; it never gets there.
viewer = Client(port)
assert "Authentication accepted" in viewer.action("Action: Login\nUsername: viewer\nSecret: viewer-Secret-1")
r = viewer.action("Action: Hangup\nChannel: PJSIP/100-1")
assert r == "Response: Error\r\nMessage: Permission denied\r\n\r\n", repr(r)
time.sleep(0.2)
assert not upstream_saw("Hangup")

# The admin names command and config: both go through.
admin = Client(port)
assert "Authentication accepted" in admin.action("Action: Login\nUsername: admin\nSecret: admin-Secret-1")
admin.read_msg()  # FullyBooted
r = admin.action("Action: Command\nCommand: core show version\nActionID: c")
assert r == "Response: Success\r\nActionID: c\r\nMessage: Command done upstream\r\n\r\n", repr(r)
r = admin.action("Action: GetConfig\nFilename: sip.conf")
assert "GetConfig done upstream" in r, r

# Events by read classes: ops (call,system) gets the call event only,
# viewer (user) the user event only, admin (all) all three.
r = viewer.action("Action: UserEvent\nUserEvent: ev1\nActionID: ue-7")
assert "Event Sent" in r, r
got = {}
for name, c in (("ops", ops), ("viewer", viewer), ("admin", admin)):
    _, seen = c.until(lambda m: False, 1.0)
    got[name] = sorted(header(m, "Event") for m in seen if header(m, "Event"))
assert got["ops"] == ["Newchannel"], got
assert got["viewer"] == ["UserEvent"], got
assert got["admin"] == ["AgentCalled", "Newchannel", "UserEvent"], got
# Another session's UserEvent reaches admin with its ActionID as the sender wrote it.
viewer.send("Action: UserEvent\r\nUserEvent: ev2\r\nActionID: ue-8\r\n\r\n")
ev, seen = admin.until(lambda m: m.startswith("Event: UserEvent"), 3)
assert ev and header(ev, "ActionID") == "ue-8", seen
PY
pass "actions relayed with ActionIDs intact; Command, Originate(System/SHELL), GetConfig and an out-of-class Hangup refused and never relayed; events filtered by read classes"

# Losing the upstream: reported to clients, answered, retried.
PYTHONPATH="$E2E_DIR" /usr/bin/python3 - "$P" "$UP_PID" "$E2E_DIR" "$T" "$U" <<'PY' || fail "upstream loss"
import os, signal, subprocess, sys, time
from ami import Client, header
port, pid, e2e, tdir, up = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ops = Client(port)
assert "Authentication accepted" in ops.action("Action: Login\nUsername: ops\nSecret: ops-Secret-1")
os.kill(pid, signal.SIGKILL)
ev, seen = ops.until(lambda m: m.startswith("Event: PBXGuardUpstreamDown"), 5)
assert ev and header(ev, "Privilege") == "system,all", seen
r = ops.action("Action: CoreStatus\nActionID: z")
assert r == "Response: Error\r\nActionID: z\r\nMessage: Asterisk is not reachable through pbxguard now; try again later\r\n\r\n", repr(r)
r = ops.action("Action: Ping")  # pbxguard's own still answer
assert r.startswith("Response: Success\r\nPing: Pong"), r
new = subprocess.Popen(["/usr/bin/python3", e2e + "/ami.py", "upstream", str(up), tdir + "/upstream.log",
                        "pbxguard", "svc-Secret-9"])
try:
    ev, seen = ops.until(lambda m: m.startswith("Event: PBXGuardUpstreamUp"), 40)
    assert ev, seen
    r = ops.action("Action: CoreStatus\nActionID: z2")
    assert r == "Response: Success\r\nActionID: z2\r\nMessage: CoreStatus done upstream\r\n\r\n", repr(r)
finally:
    new.kill()
PY
grep -q "AMI upstream 127.0.0.1:$U: connection closed by Asterisk; trying again" "$T/daemon.log" ||
	fail "the loss is not logged"
pass "a lost upstream is reported (PBXGuardUpstreamDown), actions get an error meanwhile, and it comes back (PBXGuardUpstreamUp)"
stop_daemon

# Asterisk's AMI over TLS (its tlsbindaddr): stunnel in server mode in front of
# the stand-in, with a certificate for 127.0.0.1 that upstream-cafile verifies.
start_upstream
UT=15338
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=asterisk \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/ast.key" -out "$T/ast.pem" 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/other.key" -out "$T/other.pem" 2>/dev/null
cat >"$T/ast-stunnel.conf" <<CONF
foreground = yes
pid =
[ami-tls]
accept = 127.0.0.1:$UT
connect = 127.0.0.1:$U
cert = $T/ast.pem
key = $T/ast.key
CONF
stunnel "$T/ast-stunnel.conf" >"$T/ast-stunnel.log" 2>&1 &
at_exit "kill $!"
sleep 0.5
tls_upstream() { # $1: the CA file pbxguard trusts
	sed -i -e "s|^upstream = .*|upstream = tls:127.0.0.1:$UT|" -e '/^upstream-cafile/d' \
		"$T/pbxguard.conf"
	echo "upstream-cafile = $1" >>"$T/pbxguard.conf"
}
tls_upstream "$T/other.pem"
start_daemon
wait_log "AMI upstream 127.0.0.1:$UT: TLS: .*certificate verify failed"
pass "an upstream whose certificate upstream-cafile does not verify is refused (and retried)"
stop_daemon
tls_upstream "$T/ast.pem"
start_daemon
wait_log "AMI upstream 127.0.0.1:$UT: logged in as pbxguard"
PYTHONPATH="$E2E_DIR" /usr/bin/python3 - "$P" <<'PY' || fail "relay over TLS"
import sys
from ami import Client
ops = Client(int(sys.argv[1]))
assert ops.greeting == "Asterisk Call Manager/7.0.3\r\n", repr(ops.greeting)
assert "Authentication accepted" in ops.action("Action: Login\nUsername: ops\nSecret: ops-Secret-1")
ops.read_msg()
r = ops.action("Action: CoreStatus\nActionID: t")
assert r == "Response: Success\r\nActionID: t\r\nMessage: CoreStatus done upstream\r\n\r\n", repr(r)
PY
pass "the relay to Asterisk's AMI over TLS, its certificate verified"
stop_daemon

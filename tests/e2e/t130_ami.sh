#!/usr/bin/env bash
# The AMI front door (seed 002): TLS and plain text on one port, the TLS-only
# port, Challenge/MD5, the seed's stunnel client, a real npm AMI client,
# Asterisk's limits and answers, and bad MD5 keys ending in a ban.
. "$(dirname "$0")/lib.sh"

P=15038 P2=15039
printf 'version:1\n' >"$T/userdb"
cat >"$T/manager.conf" <<'USERS'
; an Asterisk manager.conf: [general] belongs to Asterisk and is skipped
[general]
enabled = yes
port = 5038

[joebob]
secret = yoyodyne11
read = system,call
write = system,call

[watcher]
secret = w4tch-Secret
read = security
write = system
allowmultiplelogin = no
USERS
chmod 600 "$T/manager.conf"

ami_conf() { # $1: extra [manager] lines
	write_conf 15060 "$T/userdb" "" "maxretry = 3"
	cat >>"$T/pbxguard.conf" <<CONF
[manager]
port = $P
users = $T/manager.conf
sslclienthellotimeout = 300
tlsenable = yes
tlsbindaddr = 127.0.0.1:$P2
authtimeout = 3
authlimit = 4
$1
CONF
}

ami_py() { PYTHONPATH="$E2E_DIR" /usr/bin/python3 - "$@"; }

# ---- 1. the defaults: TLS or plain, MD5 or TLS for secrets ----------------
ami_conf ""
[ ! -e "$T/tls/cert.pem" ] || fail "a certificate before the first start"
start_daemon
[ -s "$T/tls/cert.pem" ] || fail "no certificate made"
grep -q "made a self-signed" "$T/daemon.log" || fail "the made certificate is not logged"
grep -q "AMI: listening on 127.0.0.1:$P (TLS or plain text)" "$T/daemon.log" || fail "no AMI listener"
pass "the AMI listens on $P (TLS or plain) and $P2 (TLS only), with a certificate it made"

ami_py "$P" <<'PY' || fail "plain TCP session"
import sys, time
from ami import Client, header
port = int(sys.argv[1])
t0 = time.time()
c = Client(port)
waited = time.time() - t0
# The greeting, alone, after the wait for a TLS hello (sslclienthellotimeout 300 ms).
assert c.greeting == "Asterisk Call Manager/9.0.0\r\n", repr(c.greeting)
assert 0.25 <= waited < 2, waited
assert c.read_msg(0.3) is None, "something after the greeting"
# Before login: Permission denied, ActionID second.
r = c.action("Action: Ping\nActionID: 17")
assert r == "Response: Error\r\nActionID: 17\r\nMessage: Permission denied\r\n\r\n", repr(r)
# A line over 1024 bytes: Asterisk's message, and the session goes on.
r = c.action("Action: Login\nX-Long: " + "a" * 1100 + "\nActionID: long")
assert r == "Response: Error\r\nActionID: long\r\nMessage: Failed to parse message: line too long\r\n\r\n", repr(r)
# (the ActionID first: like Asterisk, lines past the limit are dropped)
r = c.action("ActionID: many\n" + "\n".join("H%d: v" % i for i in range(40)))
assert r == "Response: Error\r\nActionID: many\r\nMessage: Too many lines in message or allocation failure\r\n\r\n", repr(r)
# The seed's Challenge/MD5 login, bare LF line endings too.
c.send("Action: Challenge\nAuthType: MD5\nActionID: ch\n\n")
r = c.read_msg()
assert r.startswith("Response: Success\r\nActionID: ch\r\nChallenge: "), repr(r)
assert len(header(r, "Challenge")) >= 9 and header(r, "Challenge").isdigit()
r = c.login_md5("joebob", "yoyodyne11", action_id="L1")
assert r == "Response: Success\r\nActionID: L1\r\nMessage: Authentication accepted\r\n\r\n", repr(r)
r = c.read_msg()
assert r.startswith("Event: FullyBooted\r\nPrivilege: system,all\r\n"), repr(r)
r = c.action("action: ping\nactionid: p1")
assert r.startswith("Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: "), repr(r)
r = c.action("Action: Logoff")
assert r == "Response: Goodbye\r\nMessage: Thanks for all the fish.\r\n\r\n", repr(r)
assert c.closed(2)
PY
pass "plain TCP: greeting after the hello wait, Permission denied before login, line too long, too many lines, MD5 login, Ping, Logoff"

ami_py "$P" <<'PY' || fail "plain-text secret over TCP"
import sys, time
from ami import Client
c = Client(int(sys.argv[1]))
t0 = time.time()
r = c.action("Action: Login\nUsername: joebob\nSecret: yoyodyne11\nActionID: x")
took = time.time() - t0
assert r == "Response: Error\r\nActionID: x\r\nMessage: Authentication failed\r\n\r\n", repr(r)
assert took >= 0.9, took
assert c.closed(2)
PY
grep -q "a plain-text Secret over an unencrypted connection" "$T/daemon.log" || fail "refusal not explained"
pass "a right secret in clear over TCP is refused after 1 s (allowplaintextlogin = no)"

ami_py "$P" "$P2" "$T/tls/cert.pem" <<'PY' || fail "TLS sessions"
import sys
from ami import Client
port, port2, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for p in (port, port2):
    c = Client(p, tls=(ca, []))
    assert c.greeting == "Asterisk Call Manager/9.0.0\r\n", (p, repr(c.greeting))
    r = c.action("Action: Login\nUsername: joebob\nSecret: yoyodyne11")
    assert r == "Response: Success\r\nMessage: Authentication accepted\r\n\r\n", (p, repr(r))
    c.close()
# The TLS-only port says nothing in clear.
c = Client(port2, wait_greeting=False)
c.send("Action: Login\r\n\r\n")
assert c.closed(5) and b"Asterisk" not in c.raw, c.raw
PY
grep -q "Manager 'joebob' logged on from 127.0.0.1:[0-9]* (TLS)" "$T/daemon.log" || fail "no TLS logon line"
pass "openssl s_client: TLS on the shared port and on the TLS-only port, a plain secret accepted over TLS"

# The seed's stunnel client: accept 127.0.0.1:5111, connect to pbxguard.
cat >"$T/seed-stunnel.conf" <<CONF
client = yes
foreground = yes
pid =
[asterisk]
accept = 127.0.0.1:5111
connect = 127.0.0.1:$P
CONF
stunnel "$T/seed-stunnel.conf" >"$T/seed-stunnel.log" 2>&1 &
at_exit "kill $!"
sleep 0.5
ami_py <<'PY' || fail "the seed's stunnel session"
from ami import Client
c = Client(5111)
assert c.greeting.startswith("Asterisk Call Manager/"), repr(c.greeting)
c.send("Action: Login\r\nUsername: joebob\r\nSecret: yoyodyne11\r\n\r\n")
r = c.read_msg()
assert r == "Response: Success\r\nMessage: Authentication accepted\r\n\r\n", repr(r)
PY
pass "the seed's stunnel client (127.0.0.1:5111) logs in as the seed shows"

# Security events to read = security users; bad MD5 keys end in a ban.
ami_py "$P" "$P2" "$T/tls/cert.pem" <<'PY' || fail "bad keys and the ban"
import sys, time
from ami import Client, header
port, port2, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
w = Client(port2, tls=(ca, []))
assert "Authentication accepted" in w.action("Action: Login\nUsername: watcher\nSecret: w4tch-Secret")
# A second login of watcher (allowmultiplelogin = no): refused after its secret was right.
w2 = Client(port2, tls=(ca, []))
r = w2.action("Action: Login\nUsername: watcher\nSecret: w4tch-Secret")
assert r == "Response: Error\r\nMessage: Login Already In Use\r\n\r\n", repr(r)
assert w2.closed(2)
for i in range(3):
    c = Client(port, src="127.0.0.9")
    r = c.login_md5("joebob", "not-the-secret")
    assert r == "Response: Error\r\nMessage: Authentication failed\r\n\r\n", repr(r)
    assert c.closed(2)
# Banned: the connection is closed before any greeting.
c = Client(port, src="127.0.0.9", wait_greeting=False)
assert c.closed(3) and c.raw == b"", c.raw
ev, seen = w.until(lambda m: m.startswith("Event: Ban\r\n"), 5)
assert ev, seen
assert header(ev, "Privilege") == "security,all"
assert "/127.0.0.9/" in header(ev, "RemoteAddress")
fails = [m for m in seen if m.startswith("Event: ChallengeResponseFailed\r\n")]
assert len(fails) == 3, seen
assert header(fails[0], "Service") == "AMI" and header(fails[0], "AccountID") == "joebob"
# The guard's own actions: Bans lists it, Unban lifts it.
r = w.action("Action: Bans\nActionID: b")
assert r == "Response: Success\r\nActionID: b\r\nEventList: start\r\nMessage: Ban list will follow\r\n\r\n", repr(r)
ev, seen = w.until(lambda m: m.startswith("Event: BanListComplete"), 5)
assert any(header(m, "Address") == "127.0.0.9" for m in seen), seen
assert header(ev, "ListItems") == "1", ev
w.send("Action: Unban\r\nAddress: 127.0.0.9\r\n\r\n")
r, seen = w.until(lambda m: m.startswith("Response:"), 5)
assert r == "Response: Success\r\nMessage: Address unbanned\r\n\r\n", repr(r)
assert any(m.startswith("Event: Unban\r\n") for m in seen), seen
c = Client(port, src="127.0.0.9")
assert c.greeting.startswith("Asterisk Call Manager/")
PY
[ "$(grep -c 'SecurityEvent="ChallengeResponseFailed".*Service="AMI"' "$T/security.log")" = 3 ] ||
	fail "security.log: not 3 ChallengeResponseFailed"
grep -q "ban: 127.0.0.9" "$T/daemon.log" || fail "no ban logged"
pass "3 bad MD5 keys from 127.0.0.9 ban it (part 2); events reach read = security as AMI events; Bans and Unban work"

ami_py "$P" <<'PY' || fail "authlimit and authtimeout"
import sys, time
from ami import Client
port = int(sys.argv[1])
t0 = time.time()
idle = [Client(port) for _ in range(4)]
assert all(c.greeting for c in idle)
extra = Client(port, wait_greeting=False)
assert extra.closed(1) and extra.raw == b"", extra.raw  # over authlimit 4: closed before the greeting
assert idle[0].closed(6)  # authtimeout 3 s after its connect
assert 2.9 <= time.time() - t0 < 5, time.time() - t0
PY
grep -q "too many sessions not logged in, authlimit (4)" "$T/daemon.log" || fail "authlimit not logged"
grep -q "failed to authenticate in 3 seconds" "$T/daemon.log" || fail "authtimeout not logged"
pass "authlimit closes the 5th unauthenticated session before the greeting; authtimeout closes idle ones"
stop_daemon

# ---- 2. plain text refused: a silent client is closed after the wait ------
ami_conf "acceptunencryptedconnection = no"
start_daemon
ami_py "$P" "$T/tls/cert.pem" <<'PY' || fail "acceptunencryptedconnection = no"
import sys
from ami import Client
port, ca = int(sys.argv[1]), sys.argv[2]
c = Client(port, wait_greeting=False)
assert c.closed(3) and c.raw == b"", c.raw
c = Client(port, tls=(ca, []))
assert c.greeting == "Asterisk Call Manager/9.0.0\r\n"
PY
grep -q 'SecurityEvent="InvalidTransport".*AttemptedTransport="TCP"' "$T/security.log" ||
	fail "no InvalidTransport event"
pass "acceptunencryptedconnection = no: a silent client gets no plain greeting, an InvalidTransport event; TLS still works"
stop_daemon

# ---- 3. allowplaintextlogin: a real npm AMI client ------------------------
ami_conf "allowplaintextlogin = yes"
start_daemon
NODE_DIR=$(sh "$ROOT/scripts/node-deps.sh") || fail "npm modules"
cat >"$T/npm-client.js" <<JS
const AMI = require('asterisk-manager');
const ami = new AMI($P, '127.0.0.1', 'joebob', 'yoyodyne11', true);
const fail = (why) => { console.log('FAIL ' + why); process.exit(1); };
setTimeout(() => fail('timeout'), 8000);
ami.on('error', (e) => fail('error ' + e));
ami.action({ action: 'ping' }, (err, res) => {
  if (err) fail(JSON.stringify(err));
  console.log('PING ' + res.response + ' ' + res.ping);
  process.exit(0);
});
JS
out=$(NODE_PATH="$NODE_DIR/node_modules" node "$T/npm-client.js") || fail "asterisk-manager: $out"
[ "$out" = "PING Success Pong" ] || fail "asterisk-manager said: $out"
grep -q "Manager 'joebob' logged on from 127.0.0.1" "$T/daemon.log" || fail "no logon line for the npm client"
pass "npm asterisk-manager 0.2 logs in with a plain secret (allowplaintextlogin = yes) and pings"
stop_daemon

#!/usr/bin/env bash
# Bad input gets a clear error and loses nothing: configuration (--check),
# a corrupt userdb at start and on reload, malformed and oversized packets
# over UDP and TCP. The daemon keeps serving throughout.
. "$(dirname "$0")/lib.sh"
PORT=25090
SC="$E2E_DIR/sipclient.py"

# --- serve --check ------------------------------------------------------
cat >"$T/bad.conf" <<'CONF'
[module::Authentication]
nonce-expires = forever
available-algorithms = MD5 SHA-1
[sip]
transports = udp:127.0.0.1:5060 tls:127.0.0.1:5061;require-peer-certificate=yes
[bans]
maxretry = lots
CONF
rc=0
"$PBXGUARD" serve --check -c "$T/bad.conf" >"$T/check.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "--check on a bad file exited $rc"
for want in "bad.conf:2: nonce-expires" "bad.conf:3: available-algorithms: unknown algorithm 'SHA-1'" \
	"bad.conf:5: transports: 'tls:127.0.0.1:5061;require-peer-certificate=yes': unsupported parameter" "bad.conf:7: maxretry: expected a whole number"; do
	grep -qF "$want" "$T/check.out" || fail "--check did not say '$want': $(cat "$T/check.out")"
done
pass "--check lists every error with file and line ($(wc -l <"$T/check.out") lines)"

cp "$ROOT/tests/vectors/userdb" "$T/userdb"
write_conf $PORT "$T/userdb"
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 || fail "--check on a good file: $(cat "$T/check.out")"
pass "--check accepts a good file"

# --- a corrupt userdb: refused at start, with file, line and column ---------
printf 'version:1\nuser1@example.org clrtxt:secret ;\nuser2@example.org md5:zz ;\n' >"$T/userdb"
rc=0
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/check.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "userdb:3:23: md5 needs 32 hex digits" "$T/check.out" ||
	fail "--check missed the userdb error: $(cat "$T/check.out")"
rc=0
timeout 10 "$PBXGUARD" serve -c "$T/pbxguard.conf" >"$T/start.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "daemon started on a corrupt userdb (exit $rc)"
grep -q "userdb:3:23: md5 needs 32 hex digits" "$T/start.out" || fail "no file:line:col: $(cat "$T/start.out")"
pass "a corrupt userdb stops the start with file:line:column"

# --- reload keeps the previous good copy ------------------------------------
cp "$ROOT/tests/vectors/userdb" "$T/userdb"
start_daemon
printf 'version:1\nuser1@example.org clrtxt:secret\n' >"$T/userdb.new"
mv "$T/userdb.new" "$T/userdb"
for _ in $(seq 1 60); do grep -q "keeping the previous 3 accounts" "$T/daemon.log" && break; sleep 0.1; done
grep -q "keeping the previous 3 accounts" "$T/daemon.log" || fail "bad reload not reported"
grep -q "userdb:2:.*missing ';'" "$T/daemon.log" || fail "bad reload without file:line"
linphone_register user3 secret $PORT || fail "user3 lost after a bad reload"
pass "a bad reload keeps the previous 3 accounts (user3 still registers)"

# --- malformed and oversized packets ------------------------------------------
req() { # $1 = extra headers; a REGISTER with them
	printf 'REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-x\r\nFrom: <sip:user1@example.org>;tag=1\r\nTo: <sip:user1@example.org>\r\nCall-ID: bad-1\r\nCSeq: 1 REGISTER\r\n%b\r\n' "$1"
}
req 'Content-Length: 500\r\n' >"$T/p1"
out=$("$SC" udp 127.0.0.1 $PORT "$T/p1")
[[ "$out" == "SIP/2.0 400 Bad Request (Content-Length larger than the datagram)"* ]] || fail "p1: $out"
req 'Authorization: Digest username="user1", realm="example.org", nonce="x", uri="sip:x", response="zz", algorithm=MD5\r\nContent-Length: 0\r\n' >"$T/p2"
out=$("$SC" udp 127.0.0.1 $PORT "$T/p2")
[[ "$out" == "SIP/2.0 400 Bad Request (malformed digest response)"* ]] || fail "p2: $out"
head -c 3000 /dev/urandom >"$T/p3"
out=$("$SC" udp 127.0.0.1 $PORT "$T/p3" --wait 0.5)
[ -z "$out" ] || fail "random bytes got an answer: $out"
{ req "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)\r\nContent-Length: 0\r\n"; } >"$T/p4"
out=$("$SC" tcp 127.0.0.1 $PORT "$T/p4")
[[ "$out" == *"<closed>"* || "$out" == *"<reset>"* ]] || fail "oversized TCP message: connection left open: ${out:0:200}"
printf 'OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK-y\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: k1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n\r\n\r\nOPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TCP h:1;branch=z9hG4bK-z\r\nFrom: <sip:a@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: k2\r\nCSeq: 2 OPTIONS\r\nl: 0\r\n\r\n' >"$T/p5"
out=$("$SC" tcp 127.0.0.1 $PORT "$T/p5")
[ "$(grep -c '^SIP/2.0 200 OK' <<<"$out")" = 2 ] || fail "pipelined TCP + keep-alive: $out"
req 'Content-Length: abc\r\n' | sed 's/UDP/TCP/' >"$T/p6"
out=$("$SC" tcp 127.0.0.1 $PORT "$T/p6")
[[ "$out" == "SIP/2.0 400 Bad Request (bad Content-Length)"*"<closed>"* ]] || fail "p6: $out"
grep -q 'SecurityEvent="RequestBadFormat".*RemoteAddress="IPV4/UDP/127.0.0.1/[0-9]*",RequestType="REGISTER",RequestParams="Content-Length larger than the datagram"' "$T/security.log" ||
	fail "no RequestBadFormat event for the bad Content-Length"
grep -q 'SecurityEvent="RequestBadFormat".*AccountID="user1".*RequestType="Authorization",RequestParams="malformed digest response"' "$T/security.log" ||
	fail "no RequestBadFormat event for the malformed Authorization"
pass "malformed input: 400 with the reason, a RequestBadFormat event; garbage ignored; oversized and unframed TCP closed"

# Flood of junk from another host, then a normal request still works; the
# daemon is intact (the flooding host itself is banned by the pike limit).
for i in $(seq 1 200); do head -c $((RANDOM % 1500 + 1)) /dev/urandom; done >"$T/junk"
python3 - "$T/junk" $PORT <<'PY'
import socket, sys
data = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.9", 0))
for i in range(0, len(data), 700):
    s.sendto(data[i:i + 700], ("127.0.0.1", int(sys.argv[2])))
PY
linphone_register user1 secret $PORT || fail "no service after the junk flood"
grep -q "ban: 127.0.0.9 for 120 s (flood" "$T/daemon.log" || fail "the junk flood was not banned"
pass "after a junk flood (its source banned for flooding) the daemon still registers users"
stop_daemon

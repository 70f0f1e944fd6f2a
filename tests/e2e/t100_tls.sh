#!/usr/bin/env bash
# SIP over TLS. Debian's sipp is built without OpenSSL ("To use a TLS
# transport you must compile SIPp with OpenSSL"), so sipp speaks TCP to a
# local stunnel4 that speaks TLS to pbxguard, verifying our certificate.
# First start makes a self-signed certificate, the second reuses it byte for
# byte; a loose key or a key of another certificate stops the start; old
# protocols and weak suites are refused (openssl s_client, sslscan — both
# first shown able to see a weak server); resumption, handshake and
# header-read deadlines.
. "$(dirname "$0")/lib.sh"
PORT=25120 TLSPORT=25121 STPORT=25122 WEAKPORT=25123

make_userdb "$T/userdb" 20 t
make_users "$T/users.csv" 20 t
write_conf $PORT "$T/userdb" "available-algorithms = MD5" "pike-limit = 0"
cat >>"$T/pbxguard.conf" <<CONF
transports = tcp:127.0.0.1:$PORT tls:127.0.0.1:$TLSPORT
tls-handshake-timeout = 2
header-timeout = 2
CONF
start_daemon
grep -q "TLS: no certificate was configured at $T/tls/cert.pem: made a self-signed ECDSA P-256" "$T/daemon.log" ||
	fail "no self-signed certificate made: $(head -3 "$T/daemon.log")"
[ "$(stat -c %a "$T/tls/key.pem")" = 600 ] || fail "key mode $(stat -c %a "$T/tls/key.pem")"
openssl x509 -in "$T/tls/cert.pem" -noout -ext subjectAltName | grep -q "DNS:localhost, .*DNS:example.org, IP Address:127.0.0.1" ||
	fail "SAN: $(openssl x509 -in "$T/tls/cert.pem" -noout -ext subjectAltName)"
sum1=$(sha256sum "$T/tls/cert.pem" "$T/tls/key.pem")
pass "first start made a self-signed ECDSA P-256 certificate (SAN localhost, example.org, 127.0.0.1), key 0600"

# --- sipp over stunnel, which checks our certificate and host name
start_stunnel $STPORT $TLSPORT
sipp -sf "$E2E_DIR/scenarios/register.xml" -inf "$T/users.csv" -m 20 -r 20 -t t1 -i 127.0.0.1 -p 0 \
	-timeout 30 -timeout_error -nostdin -trace_stat -stf "$T/stat.csv" 127.0.0.1:$STPORT >"$T/sipp.out" 2>&1 ||
	fail "sipp over TLS: $(tail -5 "$T/sipp.out") $(tail -5 "$T/stunnel.log")"
[ "$(tail -1 "$T/stat.csv" | awk -F';' '{print $16}')" = 20 ] || fail "not 20 registrations over TLS"
n=$(grep -c "TLS from 127.0.0.1:[0-9]*: t[0-9]*@example.org authenticated with MD5" "$T/daemon.log")
[ "$n" = 40 ] || fail "$n TLS authentications logged, want 40"
grep -q 'SuccessfulAuth.*LocalAddress="IPV4/TLS/127.0.0.1/'$TLSPORT'"' "$T/security.log" || fail "no TLS security events"
pass "sipp (through stunnel, certificate and host name verified) registered 20 users twice over TLS"

# --- protocols and suites; first prove the client can see a weak server
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/weak.key" -out "$T/weak.crt" -subj /CN=weak -days 1 2>/dev/null
openssl s_server -accept 127.0.0.1:$WEAKPORT -cert "$T/weak.crt" -key "$T/weak.key" -cipher 'ALL:@SECLEVEL=0' \
	-tls1_1 -quiet </dev/null >/dev/null 2>&1 &
WEAK=$!
at_exit "kill $WEAK"
sleep 0.5
s_client() { echo | timeout 5 openssl s_client -connect "127.0.0.1:$1" "${@:2}" 2>&1 || true; }
s_client $WEAKPORT -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' | grep -q "Protocol *: TLSv1.1" ||
	fail "control: s_client cannot do TLS 1.1 even with a weak server"
s_client $TLSPORT -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' | grep -q "alert protocol version" || fail "TLS 1.1 not refused"
s_client $TLSPORT -tls1 -cipher 'DEFAULT:@SECLEVEL=0' | grep -q "alert protocol version" || fail "TLS 1.0 not refused"
out=$(s_client $TLSPORT -tls1_2 -cipher 'AES128-SHA:AES256-SHA256:ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0')
grep -q "Cipher is (NONE)\|handshake failure\|no shared cipher" <<<"$out" || fail "a CBC / non-FS suite was accepted: $(grep Cipher <<<"$out")"
s_client $TLSPORT -tls1_3 | grep -q "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" || fail "TLS 1.3 not accepted"
s_client $TLSPORT -tls1_2 | grep -q "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES256-GCM-SHA384" || fail "TLS 1.2 AEAD not accepted"
pass "s_client: TLS 1.0/1.1 and CBC/non-forward-secret suites refused (the client can do 1.1: shown), 1.2 AEAD and 1.3 accepted"

sslscan --no-colour 127.0.0.1:$WEAKPORT >"$T/sslscan-weak.out" 2>&1 || true
grep -q "TLSv1.1 *enabled" "$T/sslscan-weak.out" || fail "control: sslscan does not see a weak server's TLS 1.1"
kill $WEAK 2>/dev/null || true
sslscan --no-colour 127.0.0.1:$TLSPORT >"$T/sslscan.out" 2>&1 || fail "sslscan failed"
for p in SSLv2 SSLv3 TLSv1.0 TLSv1.1; do grep -q "^$p *disabled" "$T/sslscan.out" || fail "sslscan: $p not disabled"; done
grep -q "^Session renegotiation not supported" "$T/sslscan.out" || fail "sslscan: renegotiation"
acc=$(grep -c "^\(Preferred\|Accepted\)" "$T/sslscan.out")
bad=$(grep "^\(Preferred\|Accepted\)" "$T/sslscan.out" | grep -cv "GCM\|CHACHA20" || true)
[ "$acc" -ge 4 ] && [ "$bad" = 0 ] || fail "sslscan: $bad weak of $acc accepted suites: $(grep Accepted "$T/sslscan.out")"
pass "sslscan (shown to see TLS 1.1 on a weak server): SSLv2/3, TLS 1.0/1.1 disabled, no renegotiation, $acc suites all AEAD"

# --- resumption
s_client $TLSPORT -tls1_2 -sess_out "$T/sess" >/dev/null
s_client $TLSPORT -tls1_2 -sess_in "$T/sess" | grep -q "^Reused, TLSv1.2" || fail "session not resumed"
pass "TLS 1.2 sessions are resumed"

# --- deadlines: a silent TLS client, and a message that never ends (TCP and TLS)
start=$(date +%s.%N)
python3 - $TLSPORT <<'PY' || fail "a silent client was not closed"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(6)
assert s.recv(1) == b""
PY
el=$(echo "$(date +%s.%N) - $start" | bc)
awk -v e="$el" 'BEGIN { exit !(e >= 1.5 && e < 5) }' || fail "handshake deadline after $el s, want about 2"
start=$(date +%s.%N)
python3 - $PORT <<'PY' || fail "a never-ending message was not cut"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"REGISTER sip:example.org SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-1\r\n")
s.settimeout(1)
for i in range(8):  # a header line a second: never idle, never complete
    try:
        try:
            if s.recv(1) == b"":
                sys.exit(0)
        except socket.timeout:
            pass
        s.sendall(b"X-Slow: %d\r\n" % i)
    except (ConnectionResetError, BrokenPipeError):
        sys.exit(0)  # closed by the daemon
sys.exit(1)
PY
el=$(echo "$(date +%s.%N) - $start" | bc)
grep -q "a message was not complete within 2 s: closed" "$T/daemon.log" || fail "header-read deadline not logged"
# The deadline is per message: a busy pipelined client that always has the
# next message half sent (for 4 s, twice the deadline) keeps its connection.
python3 - $PORT <<'PY' || fail "a pipelined client making progress was cut"
import socket, sys, time
msg = (b"OPTIONS sip:example.org SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK-%d\r\n"
       b"From: <sip:a@example.org>;tag=1\r\nTo: <sip:example.org>\r\nCall-ID: pipe-%d\r\n"
       b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
half = len(msg % (0, 0)) // 2
s.sendall((msg % (0, 0))[:half])
got = b""
for i in range(8):
    time.sleep(0.5)
    s.sendall((msg % (i, i))[half:] + (msg % (i + 1, i + 1))[:half])
    got += s.recv(65536)
sys.exit(0 if got.count(b"SIP/2.0 200 OK") >= 7 else 1)
PY
pass "a silent TLS client is closed at the 2 s handshake deadline; a trickled message at the 2 s header-read deadline ($el s), a pipelined one making progress is not"

# --- at most tls-max-handshakes (8) handshakes in progress per source
python3 - $TLSPORT <<'PY' || fail "the handshake cap did not hold"
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(1.0)
t = time.time()
try:
    gone = s.recv(1) == b""
except ConnectionResetError:
    gone = True
except socket.timeout:
    gone = False
sys.exit(0 if gone and time.time() - t < 0.9 else 1)
PY
pass "a 9th concurrent handshake from one source is closed at once (tls-max-handshakes = 8)"

# --- restart: the same certificate, byte for byte; a loose key stops the start
stop_daemon
start_daemon
[ "$(sha256sum "$T/tls/cert.pem" "$T/tls/key.pem")" = "$sum1" ] || fail "the certificate or key changed on restart"
! grep -q "made a self-signed" "$T/daemon.log" || fail "a second certificate was made"
stop_daemon
chmod 644 "$T/tls/key.pem"
rc=0
timeout 10 "$PBXGUARD" serve -c "$T/pbxguard.conf" >"$T/loose.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "tlsprivatekey $T/tls/key.pem is readable by group or others (mode 644): run chmod 600" "$T/loose.out" ||
	fail "a 0644 key did not stop the start (rc $rc): $(cat "$T/loose.out")"
chmod 600 "$T/tls/key.pem"
cp "$T/weak.key" "$T/other.key" && chmod 600 "$T/other.key"
sed -i "s|^tls-handshake-timeout|tlsprivatekey = $T/other.key\ntls-handshake-timeout|" "$T/pbxguard.conf"
rc=0
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >"$T/mismatch.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "do not belong together" "$T/mismatch.out" || fail "a mismatched key passed --check: $(cat "$T/mismatch.out")"
[ "$(sha256sum "$T/tls/cert.pem" "$T/tls/key.pem")" = "$sum1" ] || fail "the certificate was touched"
pass "restart reuses the certificate byte for byte; a 0644 key and a key of another certificate stop pbxguard with the fix"

# --- a certificate about to expire is announced; tlskeytype = rsa makes RSA
"$PBXGUARD" cert server --cn localhost --days 10 "$T/soon.pem" "$T/soon.key" >/dev/null
sed -i "s|^tlsprivatekey = .*|tlsprivatekey = $T/soon.key\ntlscertfile = $T/soon.pem|" "$T/pbxguard.conf"
start_daemon
grep -q "TLS: the certificate $T/soon.pem expires in 9 days: replace it soon" "$T/daemon.log" ||
	grep -q "TLS: the certificate $T/soon.pem expires in 10 days" "$T/daemon.log" || fail "no expiry warning"
stop_daemon
sed -i "s|^tlsprivatekey = .*|tlsprivatekey = $T/rsa/key.pem|; s|^tlscertfile = .*|tlscertfile = $T/rsa/cert.pem\ntlskeytype = rsa|" "$T/pbxguard.conf"
start_daemon
openssl x509 -in "$T/rsa/cert.pem" -noout -text | grep -q "Public-Key: (3072 bit)" || fail "tlskeytype = rsa did not make RSA 3072"
s_client $TLSPORT -tls1_2 | grep -q "Cipher is ECDHE-RSA-AES256-GCM-SHA384" || fail "RSA certificate not served"
stop_daemon
pass "a certificate 10 days from expiry is announced at start; tlskeytype = rsa makes and serves an RSA 3072 one"

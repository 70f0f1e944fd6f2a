#!/usr/bin/env bash
# TLS client-certificate authentication with Flexisip's rules, certificates
# made in the run by `pbxguard cert`, presented by stunnel4 (the TLS client)
# for sipp and a raw SIP peer: 1. the From URI, 2. (not REGISTER) a
# trusted-client-certificates URI, 3. the From domain, 4. (not REGISTER,
# trust-domain-certificates) the Request-URI's domain; the required-subject
# regex; otherwise digest, or "403 Bad tls client certificate".
. "$(dirname "$0")/lib.sh"
TLSPORT=25131

"$PBXGUARD" cert ca "$T/pki" >/dev/null || fail "cert ca"
for u in c1 c2; do
	"$PBXGUARD" cert client --ca "$T/pki" "sip:$u@example.org" "$T/$u" >/dev/null || fail "cert client $u"
done
"$PBXGUARD" cert client --ca "$T/pki" sip:gateway@trusted.example "$T/gw" >/dev/null
"$PBXGUARD" cert server --ca "$T/pki" --cn example.org "$T/dom.pem" "$T/dom.key" >/dev/null
"$PBXGUARD" cert server --ca "$T/pki" --cn target.example "$T/tgt.pem" "$T/tgt.key" >/dev/null
"$PBXGUARD" cert ca "$T/other-ca" >/dev/null
"$PBXGUARD" cert client --ca "$T/other-ca" sip:c1@example.org "$T/rogue" >/dev/null
openssl verify -CAfile "$T/pki/ca.pem" "$T/c1.pem" >/dev/null || fail "c1 does not verify with openssl"
openssl x509 -in "$T/c1.pem" -noout -ext subjectAltName | grep -q "URI:sip:c1@example.org" || fail "no SIP URI SAN"
pass "pbxguard cert made a CA and client certificates that openssl verifies (SAN URI:sip:c1@example.org)"

make_userdb "$T/userdb" 3 c
conf() { # $1 = extra [module::Authentication] lines
	write_conf 25130 "$T/userdb" "available-algorithms = MD5
$1" "pike-limit = 0"
	cat >>"$T/pbxguard.conf" <<CONF
transports = tls:127.0.0.1:$TLSPORT;require-peer-certificate=1
tlscafile = $T/pki/ca.pem
CONF
}
# One stunnel per identity: local plain TCP port -> TLS with that certificate.
port=25140
declare -A TUN
for id in c1 c2 gw dom tgt rogue; do
	crt=$T/$id.pem key=$T/$id.key
	cat >"$T/st-$id.conf" <<CONF
foreground = yes
pid =
[t]
client = yes
accept = 127.0.0.1:$port
connect = 127.0.0.1:$TLSPORT
cert = $crt
key = $key
CONF
	stunnel "$T/st-$id.conf" >"$T/st-$id.log" 2>&1 &
	at_exit "kill $!"
	TUN[$id]=$port
	port=$((port + 1))
done
sleep 0.5

# A request through identity $1's tunnel; $2 = method, $3 = From user,
# $4 = Request-URI host. Prints the status line.
req() {
	printf '%s sip:%s SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-%s\r\nFrom: <sip:%s@example.org>;tag=1\r\nTo: <sip:%s@example.org>\r\nCall-ID: %s-%s\r\nCSeq: 1 %s\r\nContact: <sip:%s@127.0.0.1:5999;transport=tls>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n' \
		"$2" "$4" "$RANDOM" "$3" "$3" "$1" "$RANDOM" "$2" "$3" |
		/usr/bin/python3 "$E2E_DIR/sipclient.py" tcp 127.0.0.1 "${TUN[$1]}" - --wait 5 --first | tr -d '\r'
}

conf "trusted-client-certificates = sip:gateway@trusted.example
trust-domain-certificates = true"
start_daemon

# Rule 1, with a real registering client: sipp through c1's tunnel, no digest at all.
printf 'SEQUENTIAL\nc1;\n' >"$T/c1.csv"
sipp -sf "$E2E_DIR/scenarios/register-cert.xml" -inf "$T/c1.csv" -m 1 -t t1 -i 127.0.0.1 -p 0 \
	-timeout 10 -timeout_error -nostdin 127.0.0.1:${TUN[c1]} >"$T/sipp-c1.out" 2>&1 ||
	fail "c1 with its certificate did not register without digest: $(tail -3 "$T/sipp-c1.out")"
grep -q "TLS from 127.0.0.1:[0-9]*: c1@example.org authenticated with a client certificate (sip:c1@example.org)" \
	"$T/daemon.log" || fail "no certificate authentication logged"
grep -q 'SuccessfulAuth.*AccountID="c1".*UsingPassword="0"' "$T/security.log" || fail "no SuccessfulAuth with UsingPassword=0"
pass "rule 1: sipp registers c1 with its certificate and no digest (SuccessfulAuth UsingPassword=0)"

[[ "$(req c1 REGISTER c2 example.org)" == "SIP/2.0 401 Unauthorized" ]] || fail "c1's certificate for c2 did not fall back to digest"
pass "a certificate for another user falls back to digest (401)"

[[ "$(req gw MESSAGE c3 example.org)" == "SIP/2.0 501 "* ]] || fail "rule 2: trusted certificate not accepted for MESSAGE"
[[ "$(req gw REGISTER c3 example.org)" == "SIP/2.0 401 "* ]] || fail "rule 2 applied to REGISTER"
pass "rule 2: a trusted-client-certificates URI passes a MESSAGE (501: no upstream yet), not a REGISTER (401)"

[[ "$(req dom REGISTER c2 example.org)" == "SIP/2.0 200 OK" ]] || fail "rule 3: the domain certificate did not register c2"
pass "rule 3: a certificate for the From domain registers c2 without digest"

[[ "$(req tgt MESSAGE c3 target.example)" == "SIP/2.0 501 "* ]] || fail "rule 4: Request-URI domain not trusted"
[[ "$(req tgt REGISTER c3 target.example)" == "SIP/2.0 401 "* ]] || fail "rule 4 applied to REGISTER"
pass "rule 4: with trust-domain-certificates, a certificate for the Request-URI's domain passes a MESSAGE, not a REGISTER"

# A certificate from another CA never gets a TLS session on this listener.
out=$(req rogue REGISTER c1 example.org)
[[ "$out" != *SIP/2.0* ]] || fail "a certificate of another CA got an answer: $out"
grep -q "TLS from 127.0.0.1:[0-9]*: handshake failed" "$T/daemon.log" || fail "failed handshake not logged"
pass "require-peer-certificate: a certificate from another CA is refused at the handshake"
stop_daemon

conf "reject-wrong-client-certificates = true
tls-client-certificate-required-subject = ^sip:c1@"
start_daemon
[[ "$(req c1 REGISTER c1 example.org)" == "SIP/2.0 200 OK" ]] || fail "regex: c1 refused"
[[ "$(req c1 REGISTER c2 example.org)" == "SIP/2.0 403 Bad tls client certificate" ]] || fail "reject-wrong-client-certificates: not 403"
[[ "$(req dom REGISTER c2 example.org)" == "SIP/2.0 403 Bad tls client certificate" ]] ||
	fail "the regex let the domain certificate through"
grep -q 'FailedACL.*AccountID="c2".*ACLName="tls-client-certificate"' "$T/security.log" || fail "no FailedACL event"
pass "reject-wrong-client-certificates: 403 Bad tls client certificate (FailedACL); the required-subject regex admits only ^sip:c1@"
stop_daemon

# A certificate proves who, not from where: c1's ACL group still applies.
sed -i 's/^c1@example.org \(.*\) ;$/c1@example.org \1 acl:Only2 ;/' "$T/userdb"
grep -q "acl:Only2 ;" "$T/userdb" || fail "could not tie c1 to a group"
printf '[acl:Only2]\npermit = 127.0.0.2\n' >>"$T/pbxguard.conf"
start_daemon
[[ "$(req c1 REGISTER c1 example.org)" == "SIP/2.0 403 Forbidden" ]] || fail "c1's certificate bypassed its ACL group"
grep -q 'FailedACL.*AccountID="c1".*ACLName="Only2"' "$T/security.log" || fail "no FailedACL Only2"
pass "an account's ACL group applies to certificate logins too (403, FailedACL Only2)"
stop_daemon

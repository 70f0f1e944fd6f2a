#!/usr/bin/env bash
# The IAX2 door: Debian's iaxmodem (libiax2: MD5, no call tokens) refused
# with the log line that explains it, then registered through
# calltokenoptional; our IAX2 client with call tokens, MD5 and RSA (keys from
# pbxguard keygen and from plain openssl), wrong secrets and keys refused and
# banned; calls relayed to an upstream IAX2 endpoint with voice both ways and
# from it to a registered peer; hostile frames and floods; keys show / init.
source "$(dirname "$0")/lib.sh"

command -v iaxmodem >/dev/null || { echo "SKIP: iaxmodem is not installed (scripts/deps.sh)"; exit 77; }
PORT=16569 PBX=16570 MODEMPORT=16590
IAX="/usr/bin/python3 $E2E_DIR/iax.py"
HOSTILE="/usr/bin/python3 $E2E_DIR/iax_hostile.py"
mkdir -p "$T/keys" "$T/client"
printf 'version:1\n' >"$T/userdb"

# ---- keys -------------------------------------------------------------------
(cd "$T/keys" && "$PBXGUARD" keygen -q -n bob) >"$T/keygen.out" 2>&1 || fail "keygen: $(cat "$T/keygen.out")"
[ "$(stat -c %a "$T/keys/bob.key")" = 600 ] || fail "bob.key is not 0600"
head -1 "$T/keys/bob.pub" | grep -q "BEGIN PUBLIC KEY" || fail "bob.pub is not an SPKI public key"
openssl pkey -in "$T/keys/bob.key" -noout -text | grep -q "(1024 bit" || fail "bob.key is not 1024-bit"
cp "$T/keys/bob.key" "$T/client/bob.key"
openssl genrsa -out "$T/client/carol.key" 1024 2>/dev/null
openssl rsa -in "$T/client/carol.key" -pubout -out "$T/keys/carol.pub" 2>/dev/null
echo 'door-Passphrase-1' >"$T/pass"
"$PBXGUARD" keygen -d "$T/keys" --passphrase-file "$T/pass" door >"$T/door.out" 2>&1 || fail "keygen door"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$T/keys/door.key" || fail "door.key is not passphrase-protected"
grep -q "Asterisk's res_crypto signs and verifies with no other size" "$T/door.out" || fail "no key-size warning"
! "$PBXGUARD" keygen -q -n -d "$T/keys" bob 2>"$T/again.err" || fail "keygen replaced an existing key"
grep -q "exists: not replaced" "$T/again.err" || fail "no refusal message: $(cat "$T/again.err")"
cp "$T/keys/bob.key" "$T/keys/loose.key"
chmod 644 "$T/keys/loose.key"
pass "keygen: a 1024-bit pair (key 0600, SPKI pub), a passphrase-protected one, no overwrite; carol's from plain openssl"

cat >"$T/iax.conf" <<'EOF'
[general]
bindport = 4569
[phones](!)
type = friend
host = dynamic
context = from-phones
[alice](phones)
secret = old-One-1\;alice-Secret-1
[bob](phones)
auth = rsa
inkeys = bob
[carol](phones)
auth = rsa
inkeys = nosuch:carol
[modem1]
type = peer
secret = modem-Secret-1
host = dynamic
EOF
chmod 600 "$T/iax.conf"

conf() { # $1 = more [iax2] lines
	cat >"$T/pbxguard.conf" <<EOF
[global]
statedir = $T
[module::Authentication]
auth-domains = example.org
file-path = $T/userdb
[bans]
nftables = no
maxretry = 4
pike-limit = 100000
[iax2]
bindport = $PORT
users = $T/iax.conf
keydir = $T/keys
upstream = 127.0.0.1:$PBX
$1
EOF
}

MODEM=pbxguard-e2e-$$
cat >"/etc/iaxmodem/$MODEM" <<EOF
device $T/ttyIAX
owner root:root
mode 600
port $MODEMPORT
refresh 60
server 127.0.0.1:$PORT
peername modem1
secret modem-Secret-1
cidname e2e
cidnumber 100
codec slinear
EOF
at_exit "rm -f /etc/iaxmodem/$MODEM"
modem() { # runs iaxmodem until it says how its registration went
	stdbuf -oL iaxmodem "$MODEM" >"$T/modem.out" 2>&1 &
	local p=$!
	for _ in $(seq 1 80); do
		grep -q "Registration" "$T/modem.out" && break
		sleep 0.1
	done
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
}

# ---- the seed's "Registration Rejected" -----------------------------------------
conf "upstream-secret = trunk-Secret-1"
start_daemon
grep -q "loose.key: private key file has bad permissions (mode 644): refused; chmod 600" \
	"$T/daemon.log" || fail "a 0644 private key was not refused"
modem
grep -q "Registration failed." "$T/modem.out" || fail "iaxmodem without a token was not refused: $(cat "$T/modem.out")"
grep -q "iax2 REGREQ from 127.0.0.1:$MODEMPORT ('modem1') rejected: call token required and none was sent (clients without call-token support, such as libiax2's, send none). If this client is expected, add 127.0.0.1 to \[iax2\] calltokenoptional in $T/pbxguard.conf, or set requirecalltoken = no for 'modem1' in $T/iax.conf" \
	"$T/daemon.log" || fail "the refusal does not explain itself"
grep -q 'RequestNotAllowed.*Service="IAX2".*AccountID="modem1".*RequestType="REGREQ",RequestParams="call token required"' \
	"$T/security.log" || fail "no RequestNotAllowed event"
pass "iaxmodem (no call tokens): 'Registration failed.', and the log names the cause and both fixes"

# ---- registrations with call tokens ---------------------------------------------
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 --refresh 120)
[[ "$out" == *"REGAUTH methods=2 challenge=digits/18"* ]] || fail "alice's challenge: $out"
[[ "$out" == *"REGACK refresh=120 apparent=127.0.0.2:"* ]] || fail "alice (second secret): $out"
known=$(grep REGAUTH <<<"$out" | sed 's/ callno=.*//')
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.3 --user mallory --secret x) || true
[ "$(grep REGAUTH <<<"$out" | sed 's/ callno=.*//')" = "$known" ] || fail "an unknown name is challenged differently: $out"
[[ "$out" == *"REGREJ cause='Registration Refused' code=29"* ]] || fail "mallory: $out"
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.4 --user bob --key "$T/client/bob.key")
[[ "$out" == *"REGAUTH methods=4"*"REGACK"* ]] || fail "bob with his keygen key: $out"
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.4 --user carol --key "$T/client/carol.key")
[[ "$out" == *"REGACK"* ]] || fail "carol with her openssl key: $out"
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.5 --user bob --key "$T/client/carol.key") || true
[[ "$out" == *"REGREJ cause='Registration Refused' code=29"* ]] || fail "bob with carol's key: $out"
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 --no-token) || true
[ "$out" = "REGREJ" ] || fail "no token, not optional: $out"
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 \
	--fake-token "$(date +%s)?$(printf 'ab%.0s' $(seq 20))") || true
[ "$out" = "REGREJ" ] || fail "a token we did not make: $out"
grep -q "iax2 REGREQ from 127.0.0.2:[0-9]* ('alice') rejected: call token not made by us for this address" \
	"$T/daemon.log" || fail "the forged token is not named in the log"
grep -q 'SuccessfulAuth.*Service="IAX2".*AccountID="bob"' "$T/security.log" || fail "no SuccessfulAuth for bob"
grep -q 'InvalidAccountID.*Service="IAX2".*AccountID="mallory"' "$T/security.log" || fail "no InvalidAccountID"
grep -q 'ChallengeResponseFailed.*Service="IAX2".*AccountID="bob"' "$T/security.log" || fail "no ChallengeResponseFailed"
pass "call tokens, then md5 (second of two secrets), rsa (keygen and openssl keys); an unknown name gets the same REGAUTH; wrong key refused (REGREJ 29); a forged token refused"

for i in 1 2 3 4; do
	$IAX register 127.0.0.1:$PORT --src 127.0.0.66 --user alice --secret wrong-$i >/dev/null || true
done
out=$($IAX register 127.0.0.1:$PORT --src 127.0.0.66 --user alice --secret alice-Secret-1) || true
[ "$out" = TIMEOUT ] || fail "a banned source was answered: $out"
ctl bans list | grep -q "^127.0.0.66 " || fail "127.0.0.66 not banned: $(ctl bans list)"
$IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 >/dev/null ||
	fail "the ban of another source locked alice out"
pass "4 wrong secrets from 127.0.0.66: banned and dropped; alice still registers from 127.0.0.2"

# ---- calls through the door ---------------------------------------------------
$IAX pbx 127.0.0.1:$PBX --auth md5:trunk-Secret-1 --calls 2 >"$T/pbx.log" 2>&1 &
PBXPID=$!
at_exit "kill $PBXPID"
sleep 0.3
out=$($IAX call 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 --called 600 --voice 30)
[[ "$out" == *"AUTHREQ methods=2"*"ACCEPT"*"voice sent 30 received 30"* ]] || fail "call: $out"
out=$($HOSTILE spoof 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 --attacker 127.0.0.99)
[[ "$out" == *"voice sent 10 received 10"* ]] || fail "spoofed HANGUP/ACK/VNAK/INVAL broke the call: $out"
wait $PBXPID || fail "the PBX side failed: $(cat "$T/pbx.log")"
grep -q "NEW from 127.0.0.1:$PORT user=alice called=600 vars=PBXGUARD_USER=alice" "$T/pbx.log" ||
	fail "the PBX did not see the door's NEW: $(cat "$T/pbx.log")"
[ "$(grep -c "auth md5: ok" "$T/pbx.log")" = 2 ] || fail "the door did not answer the PBX's MD5 challenge"
grep -q "echoed 30 voice frames" "$T/pbx.log" || fail "voice did not reach the PBX"
out=$($IAX call 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret wrong --called 600) || true
[[ "$out" == *"REJECT cause='No authority found' code=50"* ]] || fail "wrong secret call: $out"
pass "alice's call relayed to the PBX (token + MD5 there), 30 voice frames each way; spoofed frames from another address change nothing"

$IAX register 127.0.0.1:$PORT --src 127.0.0.6 --user alice --secret alice-Secret-1 --stay 8 >"$T/phone.log" 2>&1 &
PHONE=$!
for _ in $(seq 1 50); do grep -q REGACK "$T/phone.log" && break; sleep 0.1; done
out=$($IAX pbx 127.0.0.1:$PBX --dial alice --door 127.0.0.1:$PORT --voice 10)
[[ "$out" == *"dial: ACCEPT"*"dial: voice sent 10 received 10"* ]] || fail "PBX to alice: $out"
out=$($IAX pbx 127.0.0.1:$PBX --dial nobody --door 127.0.0.1:$PORT) || true
[[ "$out" == *"dial: REJECT cause='Subscriber absent' code=20"* ]] || fail "PBX to nobody: $out"
# The PBX is trusted by its address, so it too must prove it with a token.
out=$($IAX pbx 127.0.0.1:$PBX --dial alice --door 127.0.0.1:$PORT --no-token) || true
[ "$out" = "dial: REJECT" ] || fail "a NEW from the PBX's address without a token: $out"
kill $PHONE 2>/dev/null || true
wait $PHONE 2>/dev/null || true
grep -q "incoming call for alice" "$T/phone.log" || fail "alice's phone saw no call"
pass "a call from the PBX reaches alice where she registered, voice both ways; an unregistered name: REJECT 20; none without a token"

out=$($HOSTILE poke 127.0.0.1:$PORT --src 127.0.0.8 --user alice)
[[ "$out" == "poke:3@1234 2->3@5000 11->12@6000 85->33@"*"(unknown=85)" ]] || fail "POKE/PING/LAGRQ/unknown: $out"
pass "POKE answered without a call, PING and LAGRQ with the asker's timestamp, an unknown command with UNSUPPORT: $out"
out=$($HOSTILE garbage 127.0.0.1:$PORT --src 127.0.0.7)
[[ "$out" == "sent 15 answered"* ]] || fail "garbage: $out"
kill -0 "$DAEMON_PID" || fail "the door died on garbage"
stop_daemon
grep -q "iax2: .* frames, [1-9][0-9]* undecodable" "$T/daemon.log" || fail "undecodable frames not counted"
pass "undecodable frames (cut headers, IEs past the end, meta, random) dropped: $out"

# ---- limits: calltokenoptional, maxcallnumbers --------------------------------------
conf "upstream-secret = trunk-Secret-1
calltokenoptional = 127.0.0.80/255.255.255.240
maxcallnumbers = 20
maxcallnumbers_nonvalidated = 30
authtimeout = 8"
start_daemon
out=$($HOSTILE flood 127.0.0.1:$PORT --src 127.0.0.81 --count 50)
[ "$out" = "authreq=20 reject(No more call numbers)=30" ] || fail "per-source limit: $out"
out=$($HOSTILE flood 127.0.0.1:$PORT --src 127.0.0.82 --src 127.0.0.83 --count 20)
[ "$out" = "authreq=10 reject(No more call numbers)=30" ] || fail "global unvalidated limit: $out"
out=$($HOSTILE flood 127.0.0.1:$PORT --src 127.0.0.120 --count 300)
[[ "$out" =~ ^reject=([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -ge 250 ] || fail "NEW without a token: $out"
[ "$(count "from 127.0.0.120:.*call token required" "$T/daemon.log")" = 1 ] ||
	fail "the flood was logged line by line"
$IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 >/dev/null ||
	fail "a client with a token was locked out by the floods"
sleep 8.5 # authtimeout: the floods' call numbers come back
stop_daemon
grep -q "0 call numbers in use" "$T/daemon.log" || fail "call numbers leaked: $(grep 'iax2: ' "$T/daemon.log" | tail -1)"
pass "floods: 20 per source, 30 for all unvalidated sources, stateless refusals without a token; a token holder still gets in; all numbers freed"

# ---- a protected outkey: keys show, keys init; iaxmodem through calltokenoptional ----
conf "outkey = door
calltokenoptional = 127.0.0.1"
start_daemon
modem
grep -q "Registration completed successfully." "$T/modem.out" || fail "iaxmodem did not register through calltokenoptional: $(cat "$T/modem.out")"
grep -q "iax2: peer 'modem1' registered from 127.0.0.1:$MODEMPORT" "$T/daemon.log" || fail "modem1 not registered"
pass "with calltokenoptional = 127.0.0.1, iaxmodem: 'Registration completed successfully.'"
"$PBXGUARD" keys -c "$T/pbxguard.conf" show >"$T/show.out" || fail "keys show"
grep -q "^Key Name           Type     Status           Sum" "$T/show.out" || fail "keys show header: $(cat "$T/show.out")"
grep -Eq "^door +PRIVATE +\[Needs Passcode\] +$(md5sum <"$T/keys/door.key" | cut -c1-32)" "$T/show.out" ||
	fail "door.key should need a passcode: $(cat "$T/show.out")"
! grep -q "^loose" "$T/show.out" || fail "the loose key is listed"
$IAX pbx 127.0.0.1:$PBX --auth "rsa:$T/keys/door.pub" --calls 2 >"$T/pbx2.log" 2>&1 &
PBXPID=$!
at_exit "kill $PBXPID"
sleep 0.3
out=$($IAX call 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1) || true
[[ "$out" == *"REJECT cause='Upstream authentication failed'"* ]] || fail "a locked outkey: $out"
grep -q "asks for authentication (methods 4) that we cannot give" "$T/daemon.log" || fail "no hint in the log"
"$PBXGUARD" keys -c "$T/pbxguard.conf" init --passphrase-file "$T/pass" || fail "keys init"
"$PBXGUARD" keys -c "$T/pbxguard.conf" show | grep -Eq "^door +PRIVATE +\[Loaded\]" || fail "door still locked"
out=$($IAX call 127.0.0.1:$PORT --src 127.0.0.2 --user alice --secret alice-Secret-1 --voice 10)
[[ "$out" == *"ACCEPT"*"voice sent 10 received 10"* ]] || fail "call with the unlocked outkey: $out"
wait $PBXPID || true
grep -q "auth rsa: ok" "$T/pbx2.log" || fail "the PBX did not verify the door's RSA signature"
pass "keys show: door [Needs Passcode] until keys init; then the PBX's RSA challenge is answered with outkey"

printf '[dave]\ntype = friend\nsecret = dave-Secret-1\nhost = dynamic\n' >>"$T/iax.conf"
kill -HUP "$DAEMON_PID"
for _ in $(seq 1 50); do grep -q "IAX2: 5 IAX2 accounts" "$T/daemon.log" && break; sleep 0.1; done
$IAX register 127.0.0.1:$PORT --src 127.0.0.2 --user dave --secret dave-Secret-1 >/dev/null || fail "dave after SIGHUP"
stop_daemon
pass "SIGHUP re-reads iax.conf: dave registers"

# serve -i: the passcode asked on the terminal (a pty from script(1)) before the start.
{ sleep 1; cat "$T/pass"; sleep 8; } | script -qec "$PBXGUARD serve -i -c $T/pbxguard.conf" /dev/null \
	>"$T/serve-i.log" 2>&1 &
SCRIPT=$!
at_exit "pkill -f 'serve -i -c $T/pbxguard.conf'; kill $SCRIPT"
for _ in $(seq 1 100); do grep -q "pbxguard ready" "$T/serve-i.log" && break; sleep 0.1; done
grep -q "Enter passcode for key 'door': " "$T/serve-i.log" || fail "serve -i asked nothing: $(cat "$T/serve-i.log")"
"$PBXGUARD" keys -c "$T/pbxguard.conf" show | grep -Eq "^door +PRIVATE +\[Loaded\]" || fail "serve -i left door locked"
pkill -TERM -f "serve -i -c $T/pbxguard.conf"
wait $SCRIPT 2>/dev/null || true
! grep -qE "AddressSanitizer|LeakSanitizer|runtime error:" "$T/serve-i.log" || fail "sanitizer report under serve -i"
pass "serve -i asks door's passcode on the terminal and starts with it unlocked"

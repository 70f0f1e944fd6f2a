#!/usr/bin/env bash
# The front door opens onto the PBX: sipp phones and a sipp PBX on both sides
# of pbxguard's proxy. Calls in both directions, CANCEL, TCP phone to UDP
# PBX, and the hostile cases: nothing unauthenticated reaches the PBX.
. "$(dirname "$0")/lib.sh"
PORT=27060 TLSPORT=27061 STPORT=27062
PBX=27080
UA="/usr/bin/python3 $E2E_DIR/sipua.py"

make_userdb "$T/userdb" 3 u
make_users "$T/users.csv" 3 u
write_conf $PORT "$T/userdb" "" "pike-limit = 0"
sed -i "s|^transports = .*|transports = udp:127.0.0.1:$PORT tcp:127.0.0.1:$PORT tls:127.0.0.1:$TLSPORT\nupstream = sip:127.0.0.1:$PBX;transport=udp|" "$T/pbxguard.conf"
start_daemon
# Debian's sipp has no TLS: a TLS phone is sipp over TCP into stunnel (t100).
start_stunnel $STPORT $TLSPORT

# A sipp PBX on 127.0.0.1:$PBX for one call of scenario $1; its messages in $2.
pbx_start() {
	sipp -sf "$E2E_DIR/scenarios/$1" -i 127.0.0.1 -p $PBX -m 1 -nostdin -timeout 15 \
		-timeout_error -trace_msg -message_file "$2" >"$2.out" 2>&1 &
	PBX_PID=$!
	sleep 0.3
}
pbx_wait() {
	wait "$PBX_PID" || fail "the sipp PBX failed ($1): $(grep -iE 'error|unexpected|timeout' "$T"/*_errors.log "$2.out" 2>/dev/null | head -5)"
}
# One call by phone $1 (users.csv line), from source $2, transport $3, scenario $4.
phone() {
	sed -n "1p;$(( $1 + 1 ))p" "$T/users.csv" >"$T/one.csv"
	sipp -sf "$E2E_DIR/scenarios/$4" -inf "$T/one.csv" -s 600 -i "$2" -p 0 -t "$3" -m 1 \
		-nostdin -timeout 15 -timeout_error -trace_msg -message_file "$T/phone-$3-$4.msg" \
		127.0.0.1:$PORT >"$T/phone.out" 2>&1 ||
		fail "sipp phone ($4 over $3) failed: $(grep -iE 'error|unexpected|timeout' "$T"/*_errors.log "$T/phone.out" 2>/dev/null | head -5)"
}
# The INVITE the PBX received (first message block of its trace).
first_invite() { awk '/^INVITE /{p=1} p&&/^----/{exit} p' "$1"; }

# --- a phone calls the PBX: 407, then INVITE 100/180/200/ACK/BYE ---------
pbx_start uas-rr.xml "$T/pbx1.msg"
phone 1 127.0.0.2 u1 call.xml
pbx_wait "UDP call" "$T/pbx1.msg"
pass "UDP phone -> PBX: REGISTER, 407, INVITE, 180, 200, ACK, BYE all through the proxy"
inv=$(first_invite "$T/pbx1.msg")
[ "$(grep -c '^INVITE ' "$T/pbx1.msg")" = 1 ] || fail "the PBX saw $(grep -c '^INVITE ' "$T/pbx1.msg") INVITEs, want 1 (only the authenticated one)"
grep -q '^P-Asserted-Identity: <sip:u1@example.org>' <<<"$inv" || fail "no P-Asserted-Identity for u1: $inv"
grep -qi '^Proxy-Authorization' <<<"$inv" && fail "our credentials reached the PBX"
grep -q "^Record-Route: <sip:127.0.0.1:$PORT;lr>" <<<"$inv" || fail "no Record-Route"
grep -q '^Max-Forwards: 69' <<<"$inv" || fail "Max-Forwards not decremented"
grep -q "^Via: SIP/2.0/UDP 127.0.0.1:$PORT;branch=z9hG4bK" <<<"$inv" || fail "our Via is not on top"
grep -q '^Via: SIP/2.0/UDP 127.0.0.2:5060;branch=.*;rport=5060;received=127.0.0.2' <<<"$inv" ||
	fail "the phone's Via lacks received/rport"
grep -q '^BYE ' "$T/pbx1.msg" || fail "the BYE did not reach the PBX"
pass "the PBX saw one INVITE: our Via and Record-Route, Max-Forwards 69, the asserted identity, no credentials"

# --- a phone on TCP reaches the PBX on UDP ---------------------------------
pbx_start uas-rr.xml "$T/pbx2.msg"
phone 2 127.0.0.3 t1 call.xml
pbx_wait "TCP call" "$T/pbx2.msg"
inv=$(first_invite "$T/pbx2.msg")
grep -q "^Record-Route: <sip:127.0.0.1:$PORT;lr>" <<<"$inv" &&
	grep -q "^Record-Route: <sip:127.0.0.1:$PORT;transport=tcp;lr>" <<<"$inv" ||
	fail "bridging needs both our interfaces in Record-Route (RFC 5658): $inv"
grep -q '^Via: SIP/2.0/TCP 127.0.0.3' <<<"$inv" || fail "the phone's TCP Via is missing"
grep -q '^BYE ' "$T/pbx2.msg" || fail "the TCP phone's BYE did not reach the UDP PBX"
pass "TCP phone -> UDP PBX and back: call set up and torn down, double Record-Route"

# --- ... and a phone on TLS -------------------------------------------------
pbx_start uas-rr.xml "$T/pbx5.msg"
sed -n "1p;4p" "$T/users.csv" >"$T/one.csv"
sipp -sf "$E2E_DIR/scenarios/call.xml" -inf "$T/one.csv" -s 600 -i 127.0.0.1 -p 0 -t t1 -m 1 \
	-nostdin -timeout 15 -timeout_error 127.0.0.1:$STPORT >"$T/phone-tls.out" 2>&1 ||
	fail "TLS phone: $(tail -5 "$T/phone-tls.out") $(tail -3 "$T/stunnel.log")"
pbx_wait "TLS call" "$T/pbx5.msg"
inv=$(first_invite "$T/pbx5.msg")
grep -q "^Record-Route: <sip:127.0.0.1:$TLSPORT;transport=tls;lr>" <<<"$inv" ||
	fail "no TLS Record-Route: $inv"
grep -q '^BYE ' "$T/pbx5.msg" || fail "the TLS phone's BYE did not reach the UDP PBX"
grep -q 'TLS from 127.0.0.1:[0-9]*: u3@example.org authenticated' "$T/daemon.log" || fail "not authenticated over TLS"
pass "TLS phone -> UDP PBX and back: call set up and torn down"

# --- CANCEL before the answer ------------------------------------------------
pbx_start uas-cancel.xml "$T/pbx3.msg"
phone 1 127.0.0.2 u1 call-cancel.xml
pbx_wait "CANCEL" "$T/pbx3.msg"
grep -q '^CANCEL ' "$T/pbx3.msg" || fail "the PBX got no CANCEL"
pass "CANCEL while ringing: 200 for the CANCEL, 487 relayed, ACKed on both sides"

# --- the PBX calls a registered phone ------------------------------------------
# u2 registers from 127.0.0.4:27090, then answers there (UDP: same flow).
sipp_once_at() {
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' "$2" "$2" "$3" >"$T/reg.csv"
	sipp -sf "$E2E_DIR/scenarios/register-once.xml" -inf "$T/reg.csv" -m 1 -i "$1" -p "$4" \
		-timeout 5 -timeout_error -nostdin 127.0.0.1:$PORT >"$T/reg.out" 2>&1
}
sipp_once_at 127.0.0.4 u2 pw-u2-Secret 27090 || fail "u2 could not register"
sipp -sf "$E2E_DIR/scenarios/uas-rr.xml" -i 127.0.0.4 -p 27090 -m 1 -nostdin -timeout 15 \
	-timeout_error -trace_msg -message_file "$T/u2.msg" >"$T/u2.out" 2>&1 &
U2=$!
sleep 0.3
sipp -sf "$E2E_DIR/scenarios/uac-rr.xml" -s u2 -i 127.0.0.1 -p $PBX -m 1 -nostdin -timeout 15 \
	-timeout_error -trace_msg -message_file "$T/pbx4.msg" 127.0.0.1:$PORT >"$T/pbx4.out" 2>&1 ||
	fail "the PBX's call to u2 failed: $(tail -5 "$T/pbx4.out")"
wait $U2 || fail "phone u2 did not complete the call"
inv=$(first_invite "$T/u2.msg")
grep -q '^INVITE sip:u2@127.0.0.4:27090' <<<"$inv" || fail "not sent to u2's binding: $inv"
pass "PBX -> registered phone: routed to its binding, call completes (ACK and BYE via our Record-Route)"

# Unknown and unregistered users.
r=$($UA request $PORT INVITE --src 127.0.0.1 --ruri sip:nobody@example.org 2>&1 || true)
[ "$r" = "status 404" ] && fail "a request from a random port of the PBX's host is trusted"
sleep 0.2
out=$(timeout 5 /usr/bin/python3 - "$PORT" "$PBX" <<'PY'
import socket, sys
port, pbx = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", pbx)); s.settimeout(2)
for i, user in enumerate(["nobody", "u3"]):
    msg = ("INVITE sip:%s@example.org SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bKx%d\r\n"
           "From: <sip:pbx@127.0.0.1>;tag=p%d\r\nTo: <sip:%s@example.org>\r\nCall-ID: pbx-%d\r\n"
           "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (user, pbx, i, i, user, i)
    s.sendto(msg.encode(), ("127.0.0.1", port))
    while True:
        r = s.recv(65536).decode()
        if not r.startswith("SIP/2.0 100"):
            break
    print(r.split("\r\n")[0])
PY
)
grep -q '^SIP/2.0 404' <<<"$(sed -n 1p <<<"$out")" || fail "unknown user: $out"
grep -q '^SIP/2.0 480' <<<"$(sed -n 2p <<<"$out")" || fail "unregistered user: $out"
pass "PBX -> unknown user: 404; -> known but unregistered user: 480"

# --- hostile cases: a recording PBX that must see none of them -----------------
: >"$T/sink.msg"
$UA sink $PBX "$T/sink.msg" --answer --secs 60 &
SINK=$!
at_exit "kill $SINK"
sleep 0.3
r=$($UA request $PORT INVITE --src 127.0.0.20)
[ "$r" = "status 407 realm=example.org" ] || fail "unauthenticated INVITE: $r, want 407"
r=$($UA request $PORT INVITE --src 127.0.0.20 --user u1 --pw wrong)
[ "$r" = "status 403" ] || fail "INVITE with a wrong password: $r, want 403"
r=$($UA request $PORT INVITE --src 127.0.0.20 --user u1 --pw pw-u1-Secret --mf 0)
[ "$r" = "status 483" ] || fail "Max-Forwards 0: $r, want 483"
r=$($UA request $PORT INVITE --src 127.0.0.20 --user u1 --pw pw-u1-Secret --extra-vias 40)
[ "$r" = "status 483" ] || fail "a stack of 41 Vias: $r, want 483"
r=$($UA request $PORT BYE --src 127.0.0.20 --ttag stray --callid no-such-call)
[ "$r" = "status 481" ] || fail "a stray in-dialog BYE: $r, want 481"
sleep 0.3
[ ! -s "$T/sink.msg" ] || fail "the PBX received something: $(head -5 "$T/sink.msg")"
pass "unauthenticated (407), wrong password (403), Max-Forwards 0 (483), 41 Vias (483), stray BYE (481): the PBX saw nothing"

# A preloaded Route toward elsewhere is dropped; the call still goes to the PBX.
$UA sink 27099 "$T/elsewhere.msg" --secs 20 &
at_exit "kill $!"
sleep 0.2
r=$($UA request $PORT OPTIONS --src 127.0.0.21 --user u1 --pw pw-u1-Secret \
	--ruri sip:600@example.org --route '<sip:127.0.0.1:27099;lr>')
[ "$r" = "status 200" ] || fail "OPTIONS with a spoofed Route: $r"
sleep 0.3
[ ! -s "$T/elsewhere.msg" ] || fail "the spoofed Route was followed"
grep -q '^OPTIONS sip:600@example.org' "$T/sink.msg" || fail "the request did not reach the PBX"
grep -q '27099' "$T/sink.msg" && fail "the spoofed Route reached the PBX"
pass "a spoofed Route is not followed and not passed on: the request goes to the PBX only"

# A call in progress; a stranger's BYE in that dialog is refused.
: >"$T/sink.msg"
$UA request $PORT INVITE --src 127.0.0.22 --user u1 --pw pw-u1-Secret --bye-after 2 >"$T/call.out" &
CALL=$!
for _ in $(seq 1 40); do grep -q '^dialog' "$T/call.out" && break; sleep 0.1; done
read -r _ cid ftag ttag _ routes < <(grep '^dialog' "$T/call.out") || fail "no dialog: $(cat "$T/call.out")"
route_args=()
IFS=, read -ra rs <<<"$routes"
for x in "${rs[@]}"; do route_args+=(--route "$x"); done
r=$($UA request $PORT BYE --src 127.0.0.23 --callid "$cid" --ftag "$ftag" --ttag "$ttag" --cseq 5 "${route_args[@]}")
[ "$r" = "status 407 realm=example.org" ] || fail "a stranger's BYE in our dialog: $r, want 407 (prove who you are)"
r=$($UA request $PORT BYE --src 127.0.0.23 --user u3 --pw pw-u3-Secret --callid "$cid" --ftag "$ftag" \
	--ttag "$ttag" --cseq 5 "${route_args[@]}")
[ "$r" = "status 403" ] || fail "another user's BYE in u1's dialog: $r, want 403"
wait $CALL
grep -q '^bye 200' "$T/call.out" || fail "the caller's own BYE: $(cat "$T/call.out")"
[ "$(grep -c '^BYE ' "$T/sink.msg")" = 1 ] || fail "the PBX saw $(grep -c '^BYE ' "$T/sink.msg") BYEs, want only the caller's"
pass "a stranger's in-dialog BYE: 407, another account's: 403; only the caller's own BYE reached the PBX"

# The PBX's own challenge goes to the phone that drew it (and is ACKed hop by hop).
kill $SINK 2>/dev/null || true
wait $SINK 2>/dev/null || true
: >"$T/sink.msg"
$UA sink $PBX "$T/sink.msg" --challenge --secs 20 &
SINK=$!
at_exit "kill $SINK"
sleep 0.3
r=$($UA request $PORT INVITE --src 127.0.0.25 --user u1 --pw pw-u1-Secret)
[ "$r" = "status 407 realm=asterisk" ] || fail "the PBX's 407: $r"
sleep 0.3
grep -q '^ACK sip:600@example.org' "$T/sink.msg" || fail "the PBX's 407 was not ACKed"
pass "the PBX's own 407 reaches the phone that drew it, and pbxguard ACKs it toward the PBX"

# A PBX that routes the call back to the front door: a loop, 482.
kill $SINK 2>/dev/null || true
wait $SINK 2>/dev/null || true
: >"$T/bounce.msg"
$UA sink $PBX "$T/bounce.msg" --bounce $PORT --secs 20 &
BOUNCE=$!
at_exit "kill $BOUNCE"
sleep 0.3
$UA request $PORT INVITE --src 127.0.0.24 --user u1 --pw pw-u1-Secret --wait 2 >/dev/null || true
sleep 0.3
grep -q '^SIP/2.0 482 Loop Detected' "$T/bounce.msg" || fail "the looped INVITE was not refused with 482: $(grep '^SIP' "$T/bounce.msg" | head)"
# Each INVITE the PBX got carries our Via once: the looped copy never left again.
twice=$(awk -v v="Via: SIP/2.0/UDP 127.0.0.1:$PORT;" '/^----/{if (n > 1) t++; n=0} index($0, v)==1{n++} END{print t+0}' "$T/bounce.msg")
[ "$twice" = 0 ] || fail "$twice looped INVITEs were forwarded again"
pass "a call routed back to us: 482 Loop Detected, not forwarded again"
kill $BOUNCE 2>/dev/null || true
wait $BOUNCE 2>/dev/null || true

stop_daemon
pass "daemon stopped cleanly (no sanitizer report)"

# --- register = forward: bound here, and the PBX sees (and answers) it too --------
sed -i "s|^upstream = .*|&\nregister = forward|" "$T/pbxguard.conf"
start_daemon
: >"$T/sink.msg"
$UA sink $PBX "$T/sink.msg" --answer --secs 20 &
at_exit "kill $!"
sleep 0.3
sipp_once_at 127.0.0.5 u3 pw-u3-Secret 27091 || fail "u3 could not register through to the PBX"
reg=$(awk '/^REGISTER /{p=1} p&&/^----/{exit} p' "$T/sink.msg")
grep -q "^Path: <sip:127.0.0.1:$PORT;lr>" <<<"$reg" || fail "no Path toward us in the forwarded REGISTER: $reg"
grep -q '^P-Asserted-Identity: <sip:u3@example.org>' <<<"$reg" || fail "no asserted identity: $reg"
grep -qi '^Authorization' <<<"$reg" && fail "our credentials reached the PBX"
grep -q '^Record-Route' <<<"$reg" && fail "a REGISTER got a Record-Route"
n=$(grep -c '^REGISTER ' "$T/sink.msg")
r=$($UA request $PORT REGISTER --src 127.0.0.5 --user u3 --pw pw-u3-Secret --ruri sip:u3@example.org --mf 0)
[ "$r" = "status 483" ] || fail "a REGISTER with Max-Forwards 0 to be forwarded: $r, want 483"
[ "$(grep -c '^REGISTER ' "$T/sink.msg")" = "$n" ] || fail "the Max-Forwards 0 REGISTER reached the PBX"
pass "register = forward: the PBX got the REGISTER with Path and the asserted identity, the phone its 200; Max-Forwards 0 gets 483"
stop_daemon

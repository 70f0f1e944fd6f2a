#!/usr/bin/env bash
# The web door (seed 000): Basic authentication over HTTPS as Apache does it,
# every hash Apache's htpasswd writes (made by Apache's own tool here, and
# the shared vectors), Require user/group, the credential cache, bans fed
# by failures and lifted from the API with a CSRF token, the redirect,
# /metrics through promtool, hostile requests, and [http] proxy.
. "$(dirname "$0")/lib.sh"

H=15443 R=15080 U=15480
B="https://127.0.0.1:$H"
printf 'version:1\n' >"$T/userdb"

web_conf() { # $1: extra [http] lines, $2: extra [bans] lines
	# Every curl is a new connection: lift the pre-authentication flood
	# limit (30 connections in 2 s), which is not what this test is about.
	write_conf 15060 "$T/userdb" "" "pike-limit = 100000
${2:-maxretry = 100}"
	cat >>"$T/pbxguard.conf" <<CONF
[http]
listen = https:127.0.0.1:$H http:127.0.0.1:$R
AuthType = Basic
AuthName = "By Invitation Only"
AuthUserFile = $T/passwords
$1
CONF
}

# code USER:PASS [PATH] [curl args]: the HTTP status only.
code() {
	local cred=$1 path=${2:-/pbxguard/} && shift $(( $# < 2 ? $# : 2 ))
	curl -sk -o /dev/null -w '%{http_code}' -u "$cred" "$@" "$B$path"
}

# ---- 1. every line of the shared vectors (Apache 2.4 and libxcrypt) ---------
grep -v '^#' "$ROOT/tests/vectors/htpasswd.txt" | cut -d'|' -f3- >"$T/passwords"
web_conf ""
start_daemon
grep -q "HTTP: listening on https://127.0.0.1:$H" "$T/daemon.log" || fail "no https listener"
grep -q "HTTP: listening on http://127.0.0.1:$R (redirects to https)" "$T/daemon.log" ||
	fail "no redirect listener"
grep -q "user 'heidi' can never log in: the hash is plain text" "$T/daemon.log" ||
	fail "the plain-text line is not flagged"

# The challenge, exactly as mod_auth_basic sends it.
curl -sk -D - -o /dev/null "$B/pbxguard/" | tr -d '\r' >"$T/h401"
head -1 "$T/h401" | grep -q '^HTTP/1.1 401 Unauthorized' || fail "no 401: $(head -1 "$T/h401")"
grep -qx 'WWW-Authenticate: Basic realm="By Invitation Only"' "$T/h401" ||
	fail "challenge: $(grep -i www-auth "$T/h401")"
for h in "Strict-Transport-Security: max-age" "X-Content-Type-Options: nosniff" \
	"X-Frame-Options: DENY" "Content-Security-Policy: default-src 'none'" "Cache-Control: no-store"; do
	grep -q "^$h" "$T/h401" || fail "missing security header $h"
done
pass "401 with WWW-Authenticate: Basic realm=\"By Invitation Only\" and the security headers"

ok=0 never=0
while IFS='|' read -r fmt pw line; do
	case "$fmt" in '#'* | '') continue ;; esac
	user=${line%%:*}
	got=$(code "$user:$pw")
	bad=$(code "$user:wrong")
	[ "$bad" = 401 ] || fail "$fmt: 'wrong' answered $bad"
	if [ "$fmt" = plaintext ] || [ "$fmt" = failure-token ]; then
		[ "$got" = 401 ] || fail "$fmt line verified ($got)"
		[ "$(code "$user:${line#*:}")" = 401 ] || fail "$fmt: the stored text itself verified"
		never=$((never + 1))
	else
		[ "$got" = 200 ] || fail "$fmt ($user) answered $got"
		ok=$((ok + 1))
	fi
done <"$ROOT/tests/vectors/htpasswd.txt"
[ $ok = 13 ] && [ $never = 2 ] || fail "vectors: $ok verified, $never refused"
pass "all 13 hash formats of the vectors verify (apr1, bcrypt 2y/2b, SHA-256/512-crypt, {SHA}, DES, MD5-crypt, yescrypt); plain text and *0 never; 'wrong' never"

# Files Apache's own htpasswd writes now, each algorithm it has.
: >"$T/apache"
for a in m B 2 5 s d; do
	htpasswd -b"$a" "$T/apache" "ap_$a" "Apache-$a-pw" 2>/dev/null
done
cp "$T/apache" "$T/passwords"
sleep 1.1 # the daemon looks at the file at most once a second
for a in m B 2 5 s d; do
	pw="Apache-$a-pw"
	[ "$a" = d ] && pw=${pw:0:8} # DES: 8 characters, as Apache warns
	[ "$(code "ap_$a:$pw")" = 200 ] || fail "a file from Apache's htpasswd -$a does not verify"
done
grep -q "HTTP: changed on disk: 6 web users" "$T/daemon.log" || fail "the changed file was not re-read"
pass "files written by Apache's htpasswd -m -B -2 -5 -s -d verify, re-read when the file changes"

# Files our tool writes: Apache's htpasswd -v verifies each.
: >"$T/ours"
for a in m B 2 5 s d; do
	"$PBXGUARD" htpasswd -b"$a" "$T/ours" "our_$a" "Ours-$a-pw" 2>/dev/null ||
		fail "pbxguard htpasswd -$a"
	htpasswd -vb "$T/ours" "our_$a" "Ours-$a-pw" 2>/dev/null || fail "Apache cannot verify our -$a"
	"$PBXGUARD" htpasswd -vb "$T/apache" "ap_$a" "Apache-$a-pw" 2>/dev/null ||
		fail "we cannot verify Apache's -$a"
done
"$PBXGUARD" htpasswd -b "$T/ours" default "Default-pw" 2>/dev/null
grep -q '^default:\$2y\$10\$' "$T/ours" || fail "the default hash is not bcrypt cost 10"
htpasswd -vb "$T/ours" default "Default-pw" 2>/dev/null || fail "Apache cannot verify our default"
pass "Apache's htpasswd -v verifies every hash our tool writes (bcrypt cost 10 by default), and ours verifies Apache's"

# ---- 2. the redirect, /metrics, hostile requests -----------------------------
curl -s -D - -o /dev/null "http://127.0.0.1:$R/pbxguard/?x=1" | tr -d '\r' >"$T/h301"
grep -q '^HTTP/1.1 301' "$T/h301" || fail "plain http: $(head -1 "$T/h301")"
grep -qxF "Location: https://127.0.0.1:$H/pbxguard/?x=1" "$T/h301" ||
	fail "redirect: $(grep Location "$T/h301")"
curl -s -D - -o /dev/null -H 'Host: evil"<x>' "http://127.0.0.1:$R/a<b>" | tr -d '\r' >"$T/h301b"
grep -qxF "Location: https://127.0.0.1:$H/" "$T/h301b" ||
	fail "an unsafe Host or path was reflected: $(grep Location "$T/h301b")"
pass "http:// answers 301 to https:// (the path kept, nothing unsafe reflected)"

curl -sk -u ap_m:Apache-m-pw "$B/metrics" >"$T/metrics"
promtool check metrics <"$T/metrics" || fail "promtool rejects /metrics"
grep -q '^pbxguard_auth_total{service="HTTP",outcome="failed"} [1-9]' "$T/metrics" ||
	fail "failures not counted: $(grep auth_total "$T/metrics")"
[ "$(code nobody:x /metrics)" = 401 ] || fail "/metrics without credentials"
pass "/metrics passes promtool check metrics, behind the same authentication"

raw() { # bytes on a TLS connection; the first line of the answer
	printf "$@" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$H" 2>/dev/null | head -1 | tr -d '\r'
}
[ "$(raw 'GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)")" = "HTTP/1.1 431 Request Header Fields Too Large" ] ||
	fail "an oversized header is not 431"
[ "$(raw 'GARBAGE\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "garbage is not 400"
[ "$(raw 'GET / HTTP/2.0\r\nHost: x\r\n\r\n')" = "HTTP/1.1 505 HTTP Version Not Supported" ] || fail "HTTP/2.0 over 1.x"
[ "$(raw 'GET / HTTP/1.1\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "no Host"
[ "$(raw 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] ||
	fail "Content-Length with Transfer-Encoding (request smuggling) accepted"
[ "$(raw 'GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] || fail "obsolete folding"
[ "$(raw 'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!\r\n\r\n')" = "HTTP/1.1 400 Bad Request" ] ||
	fail "undecodable Basic credentials"
[ "$(code ap_m:Apache-m-pw '/pbxguard/<script>alert(1)</script>')" = 404 ] || fail "unknown page"
curl -sk -u ap_m:Apache-m-pw "$B/pbxguard/%3Cscript%3E" | grep -q script && fail "input reflected in a 404"
[ "$(code ap_m:Apache-m-pw /pbxguard/api/state)" = 200 ] || fail "the daemon did not survive"
pass "431, 400 (garbage, no Host, CL+TE, folding, bad base64), 505, 404 without reflection; the daemon lives on"
stop_daemon

# ---- 3. Require user / group; the cache; bans and the unban API --------------
cp "$T/apache" "$T/passwords"
"$PBXGUARD" htpasswd -b "$T/passwords" rbowen "mypassword" 2>/dev/null
"$PBXGUARD" htpasswd -b "$T/passwords" sungo "sungo-Pass1" 2>/dev/null
printf 'admins: ap_B carol\n# ops\nops: ap_5\n' >"$T/groups"
web_conf "AuthGroupFile = $T/groups
Require = user rbowen sungo
Require = group admins" "maxretry = 3
findtime = 600
bantime = 600"
start_daemon
[ "$(code rbowen:mypassword)" = 200 ] || fail "Require user: rbowen"
[ "$(code sungo:sungo-Pass1)" = 200 ] || fail "Require user: sungo"
[ "$(code ap_B:Apache-B-pw)" = 200 ] || fail "Require group admins: ap_B"
for i in 1 2 3 4; do
	[ "$(code ap_5:Apache-5-pw)" = 401 ] || fail "a user Require leaves out got in"
done
grep -q 'RequestNotAllowed.*Service="HTTP".*AccountID="ap_5"' "$T/security.log" ||
	fail "no RequestNotAllowed event for the user Require leaves out"
! grep -q "ban: 127.0.0.1" "$T/daemon.log" || fail "a right password that Require refuses was a strike"
pass "Require user rbowen sungo / group admins: in; a valid user outside them: 401 four times, an event, no strike"

# The cache: one bcrypt login, then hits; a changed file forgets it.
logins=$(count 'SuccessfulAuth.*AccountID="ap_B"' "$T/security.log")
for i in $(seq 1 10); do code ap_B:Apache-B-pw >/dev/null; done
curl -sk -u ap_B:Apache-B-pw "$B/metrics" >"$T/metrics"
hits=$(sed -n 's/^pbxguard_http_auth_cache_lookups_total{result="hit"} //p' "$T/metrics")
[ "${hits:-0}" -ge 10 ] || fail "cache hits: ${hits:-none}"
[ "$(count 'SuccessfulAuth.*AccountID="ap_B"' "$T/security.log")" = "$logins" ] ||
	fail "cached requests logged as logins: $(count 'SuccessfulAuth.*AccountID="ap_B"' "$T/security.log") after $logins"
"$PBXGUARD" htpasswd -bB "$T/passwords" ap_B "Changed-pw1" 2>/dev/null
sleep 1.1
[ "$(code ap_B:Apache-B-pw)" = 401 ] || fail "the old password still works from the cache"
[ "$(code ap_B:Changed-pw1)" = 200 ] || fail "the new password"
pass "cache: 10 more requests, ${hits} hits, no more SuccessfulAuth events; a changed file flushes it (old password 401 at once)"

# Bans: three wrong passwords from 127.0.0.77, then nothing gets through.
for i in 1 2 3; do
	[ "$(code rbowen:guess$i / --interface 127.0.0.77)" = 401 ] || fail "guess $i"
done
grep -q 'InvalidPassword.*Service="HTTP".*AccountID="rbowen".*RemoteAddress="IPV4/TLS/127.0.0.77/' \
	"$T/security.log" || fail "no InvalidPassword event"
grep -q "ban: 127.0.0.77" "$T/daemon.log" || fail "no ban after 3 failures"
[ "$(code rbowen:mypassword / --interface 127.0.0.77)" = 000 ] || fail "the banned source still connects"
[ "$(code rbowen:mypassword)" = 200 ] || fail "another source is refused too"
pass "three wrong passwords from 127.0.0.77: InvalidPassword events, banned (even with the right password), others unaffected"

# The unban action: refused without the CSRF token or from another origin.
curl -sk -u sungo:sungo-Pass1 "$B/pbxguard/api/state" >"$T/state.json"
tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T/state.json")
grep -q '"address":"127.0.0.77"' "$T/state.json" || fail "the ban is not in the state"
post() { curl -sk -o "$T/post.json" -w '%{http_code}' -u sungo:sungo-Pass1 -d "address=127.0.0.77" "$@" "$B/pbxguard/api/unban"; }
[ "$(post)" = 403 ] || fail "unban without a token"
[ "$(post -H "X-CSRF-Token: 0000$tok")" = 403 ] || fail "unban with a wrong token"
[ "$(post -H "X-CSRF-Token: $tok" -H "Origin: https://evil.example")" = 403 ] || fail "unban from another origin"
[ "$(post -H "X-CSRF-Token: $tok" -H "Sec-Fetch-Site: cross-site")" = 403 ] || fail "unban cross-site"
grep -q "ban: 127.0.0.77" "$T/daemon.log" && ! grep -q "unban: 127.0.0.77" "$T/daemon.log" || fail "unbanned by a refused request"
[ "$(curl -sk -o /dev/null -w '%{http_code}' -X GET -u sungo:sungo-Pass1 "$B/pbxguard/api/unban")" = 405 ] || fail "GET on an action"
[ "$(post -H "X-CSRF-Token: $tok" -H "Origin: https://127.0.0.1:$H")" = 200 ] || fail "unban with the token: $(cat "$T/post.json")"
grep -q "unban: 127.0.0.77" "$T/daemon.log" || fail "no unban"
grep -q 'SecurityEvent="Unban".*127.0.0.77' "$T/security.log" || fail "no Unban security event"
[ "$(code rbowen:mypassword / --interface 127.0.0.77)" = 302 ] || fail "still banned after the unban"
pass "unban from the API: 403 without the token, with a wrong one, from another origin or site; 200 with it, and the address is back"
stop_daemon

# ---- 4. [http] proxy: the PBX's own GUI behind the door ----------------------
cat >"$T/gui.py" <<'PY'
import http.server, json, sys
log = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self): self.answer()
    def do_POST(self): self.answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))
    def answer(self, body=b""):
        log.write(json.dumps({"path": self.path, "headers": dict(self.headers), "body": body.decode()}) + "\n")
        log.flush()
        text = ("FreePBX GUI page %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("X-Gui", "yes")
        self.end_headers()
        self.wfile.write(text)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
/usr/bin/python3 "$T/gui.py" "$U" "$T/gui.log" &
GUI_PID=$!
at_exit "kill $GUI_PID"
web_conf "proxy = http://127.0.0.1:$U/admin/"
start_daemon
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$U/" >/dev/null 2>&1 && break; sleep 0.1; done
: >"$T/gui.log"
[ "$(code x:y /config.php)" = 401 ] || fail "the GUI reachable without credentials"
[ -s "$T/gui.log" ] && fail "an unauthenticated request reached the GUI"
curl -sk -D "$T/hp" -u rbowen:mypassword -H 'X-Forwarded-For: 6.6.6.6' "$B/config.php?display=extensions" >"$T/page"
grep -q '^FreePBX GUI page /admin/config.php?display=extensions$' "$T/page" || fail "proxied page: $(cat "$T/page")"
grep -q '^X-Gui: yes' "$T/hp" && grep -q '^Strict-Transport-Security' "$T/hp" || fail "proxied headers"
python3 - "$T/gui.log" <<'PY' || fail "what the GUI saw"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])][-1]
h = {k.lower(): v for k, v in r["headers"].items()}
assert "authorization" not in h, "our credentials reached the PBX"
assert h["x-forwarded-for"] == "127.0.0.1", h["x-forwarded-for"]
assert h["x-forwarded-proto"] == "https"
assert h["x-forwarded-user"] == "rbowen"
PY
curl -sk -u rbowen:mypassword -d 'a=1&b=2' "$B/save.php" | grep -q 'page /admin/save.php' || fail "POST"
tail -1 "$T/gui.log" | grep -q '"body": "a=1&b=2"' || fail "the POST body did not arrive"
[ "$(code rbowen:mypassword /pbxguard/)" = 200 ] || fail "our own page behind a proxy"
pass "[http] proxy: the GUI only after Basic authentication, our Authorization removed, X-Forwarded-* ours (a client's dropped), bodies carried; /pbxguard/ stays ours"
kill "$GUI_PID" 2>/dev/null || true
sleep 0.3
[ "$(code rbowen:mypassword /x)" = 502 ] || fail "a GUI that is down is not 502"
pass "a GUI that is down: 502"
stop_daemon

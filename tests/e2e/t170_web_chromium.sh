#!/usr/bin/env bash
# Headless Chromium on the admin page (tests/e2e/node/dashboard.js): the
# browser's Basic login, the dashboard with the failure chart, an unban by
# clicking; the screenshot is kept beside the binary (artifacts/).
. "$(dirname "$0")/lib.sh"

H=15543
NODE_DIR=$(sh "$ROOT/scripts/node-deps.sh") || fail "cannot install the npm modules"
shots="$(dirname "$PBXGUARD")/artifacts"
mkdir -p "$shots"
printf 'version:1\n' >"$T/userdb"
write_conf 15060 "$T/userdb" "" "maxretry = 3
pike-limit = 100000"
cat >>"$T/pbxguard.conf" <<CONF
[http]
listen = https:127.0.0.1:$H
AuthName = "pbxguard admin"
AuthUserFile = $T/passwords
CONF
"$PBXGUARD" htpasswd -cb "$T/passwords" admin "Dashboard-Pass1" 2>/dev/null
start_daemon

# Failures for the chart and a ban to lift: 127.0.0.88 guesses three times.
for i in 1 2 3; do
	curl -sk -o /dev/null --interface 127.0.0.88 -u "admin:guess$i" "https://127.0.0.1:$H/pbxguard/"
done
grep -q "ban: 127.0.0.88" "$T/daemon.log" || fail "no ban to lift"

node "$NODE_DIR/dashboard.js" "https://127.0.0.1:$H" admin "Dashboard-Pass1" 127.0.0.88 \
	"$shots/dashboard.png" >"$T/chromium.out" 2>&1 || fail "chromium: $(cat "$T/chromium.out")"
[ -s "$shots/dashboard.png" ] || fail "no screenshot"
head -c 8 "$shots/dashboard.png" | od -An -tx1 | grep -q '89 50 4e 47' || fail "the screenshot is not a PNG"
grep -q "unban: 127.0.0.88" "$T/daemon.log" || fail "the click did not unban"
grep -q "HTTP: user admin unbanned 127.0.0.88 from the admin page" "$T/daemon.log" || fail "unban not logged"
pass "Chromium: 401 without or with wrong credentials; logged in, the dashboard drew 60 chart bars with failures, a certificate, and clicking Unban lifted 127.0.0.88 with no console (CSP) error: $(cat "$T/chromium.out")"
pass "screenshot: $shots/dashboard.png ($(stat -c %s "$shots/dashboard.png") bytes)"
stop_daemon

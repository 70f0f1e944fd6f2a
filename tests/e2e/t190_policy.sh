#!/usr/bin/env bash
# The password policy at every tool that sets a secret: userdb and
# htpasswd refuse a weak one with each reason and change nothing;
# --force-weak sets it and leaves a line in the override log, which the
# audit reports; `policy check` speaks for scripts, under NIST's defaults
# and under the seed's rules (8 characters, upper, lower, digit, special).
. "$(dirname "$0")/lib.sh"
unset PBXGUARD_CONFIG	# this test is about the policy itself
cat >"$T/nist.conf" <<CONF
[global]
statedir = $T/state
[sip]
transports = udp:127.0.0.1:15990
[http]
listen = https:127.0.0.1:15991
CONF
cat >"$T/seed.conf" <<CONF
[global]
statedir = $T/state
[sip]
transports = udp:127.0.0.1:15990
[password-policy]
min-length = 8
character-classes = upper lower digit special
min-zxcvbn-score = 2
CONF

# 1. userdb: refused with its reasons, nothing written.
printf 'version:1\n' >"$T/userdb"
cp "$T/userdb" "$T/userdb.before"
rc=0; printf '1001\n' | "$PBXGUARD" userdb add -c "$T/nist.conf" "$T/userdb" 1001@example.org 2>"$T/e1" || rc=$?
[ $rc = 1 ] || fail "userdb add of a weak secret: exit $rc"
for r in "equals the extension" "too short: 4 characters, at least 15" "only digits"; do
	grep -q -- "- $r" "$T/e1" || fail "reason '$r' not said: $(cat "$T/e1")"
done
cmp -s "$T/userdb" "$T/userdb.before" || fail "the refused secret changed the file"
printf 'tuesday lemon kettle violin\n' | "$PBXGUARD" userdb add -c "$T/nist.conf" "$T/userdb" 1001@example.org >/dev/null ||
	fail "a good passphrase was refused"
pass "userdb add: secret == extension refused with each reason, file unchanged; a long passphrase accepted"

# 2. htpasswd: the seed's admin/admin and rbowen/mypassword.
rc=0; "$PBXGUARD" htpasswd --config "$T/nist.conf" -cb "$T/passwords" admin admin 2>"$T/e2" || rc=$?
[ $rc = 8 ] || fail "htpasswd admin/admin: exit $rc"
grep -q -- "- equals the username" "$T/e2" && grep -q -- "- in the list of common passwords" "$T/e2" ||
	fail "htpasswd reasons: $(cat "$T/e2")"
[ ! -e "$T/passwords" ] || fail "a refused password created the file"
rc=0; printf 'mypassword\nmypassword\n' | "$PBXGUARD" htpasswd --config "$T/nist.conf" -c "$T/passwords" rbowen 2>"$T/e3" || rc=$?
[ $rc = 8 ] && grep -q "password refused for web user rbowen" "$T/e3" || fail "rbowen/mypassword: exit $rc $(cat "$T/e3")"
pass "htpasswd: admin/admin and the seed's rbowen/mypassword refused (exit 8) with reasons, no file made"

# 3. --force-weak: set anyway, logged, and the audit reports it.
"$PBXGUARD" htpasswd --config "$T/nist.conf" --force-weak -cb "$T/passwords" rbowen mypassword 2>"$T/e4" ||
	fail "--force-weak: $(cat "$T/e4")"
htpasswd -vb "$T/passwords" rbowen mypassword 2>/dev/null || fail "Apache's htpasswd does not verify it"
log=$T/state/policy-overrides.log
[ "$(stat -c %a "$log")" = 600 ] || fail "override log mode"
grep -q 'cmd="htpasswd" file="'"$T"'/passwords" account="web user rbowen" reasons="too short' "$log" ||
	fail "override log: $(cat "$log")"
grep -q "uid=$(id -u) user=$(id -un)" "$log" || fail "who is not in the trail"
"$PBXGUARD" audit -c "$T/nist.conf" >"$T/audit.txt" 2>&1 || true
grep -q "set with --force-weak: .*web user rbowen" "$T/audit.txt" || fail "the audit does not report the override"
pass "--force-weak sets it (Apache's htpasswd verifies), logs who, what and why (0600), and the audit reports it"

# 4. policy check: NIST defaults and the seed's rules side by side.
printf 'admin\ntuesdaylemonkettleviolin\nTz8!mqvk\n' | "$PBXGUARD" policy check -c "$T/nist.conf" --user alice >"$T/p1" || true
printf 'admin\ntuesdaylemonkettleviolin\nTz8!mqvk\n' | "$PBXGUARD" policy check -c "$T/seed.conf" --user alice >"$T/p2" || true
[ "$(sed -n 2p "$T/p1")" = ok ] && [[ "$(sed -n 3p "$T/p1")" == refused:*"too short: 8 characters, at least 15"* ]] ||
	fail "NIST: $(cat "$T/p1")"
[[ "$(sed -n 2p "$T/p2")" == refused:*"no upper-case letter; no digit; no special character"* ]] && [ "$(sed -n 3p "$T/p2")" = ok ] ||
	fail "seed: $(cat "$T/p2")"
rc=0; printf '1001\n759318\n' | "$PBXGUARD" policy check -c "$T/nist.conf" --pin --mailbox 1001 >"$T/p3" || rc=$?
[ $rc = 1 ] && [[ "$(sed -n 1p "$T/p3")" == *"equals the mailbox number"* ]] && [ "$(sed -n 2p "$T/p3")" = ok ] ||
	fail "PINs: $(cat "$T/p3")"
pass "policy check: a passphrase passes NIST but not the seed's classes, an 8-character mix the reverse; PINs"

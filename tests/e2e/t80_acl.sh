#!/usr/bin/env bash
# ACL groups: an account tied to [acl:Local] (permit 127.0.0.2 only)
# registers from 127.0.0.2 and fails from 127.0.0.3 exactly like a wrong
# password (a FailedACL event, a strike toward a ban); a listener with
# acl=Local drops every other source before parsing.
. "$(dirname "$0")/lib.sh"
PORT=25110
PORT2=25111

make_userdb "$T/userdb" 3 a
printf 'pw-office-Secret\n' | "$PBXGUARD" userdb add --acl Local "$T/userdb" office@example.org >/dev/null
grep -q '^office@example.org md5:[0-9a-f]* .* acl:Local ;$' "$T/userdb" || fail "userdb add --acl: $(tail -1 "$T/userdb")"
# passwd keeps the group
printf 'pw-office-Secret\n' | "$PBXGUARD" userdb passwd "$T/userdb" office@example.org >/dev/null
grep -q ' acl:Local ;$' "$T/userdb" || fail "userdb passwd dropped the acl"
pass "userdb add --acl writes acl:Local, passwd keeps it"

write_conf $PORT "$T/userdb" "available-algorithms = MD5" "maxretry = 3"
cat >>"$T/pbxguard.conf" <<CONF
transports = udp:127.0.0.1:$PORT udp:127.0.0.1:$PORT2;acl=Local
[acl:Local]
permit = 127.0.0.2
CONF
"$PBXGUARD" serve --check -c "$T/pbxguard.conf" >/dev/null || fail "--check: $("$PBXGUARD" serve --check -c "$T/pbxguard.conf" 2>&1)"
start_daemon

sipp_once 127.0.0.2 office pw-office-Secret $PORT 200 || fail "office did not register from 127.0.0.2"
sipp_once 127.0.0.3 office pw-office-Secret $PORT 403 || fail "office from 127.0.0.3 was not refused with 403"
grep -q 'SecurityEvent="FailedACL".*AccountID="office".*RemoteAddress="IPV4/UDP/127.0.0.3/[0-9]*",ACLName="Local"' \
	"$T/security.log" || fail "no FailedACL event naming the group"
# On the wire the refusal is the same as a wrong password's.
sipp_once 127.0.0.3 a1 wrong $PORT 403 || fail "a wrong password from 127.0.0.3 not refused"
sipp_once 127.0.0.3 a2 pw-a2-Secret $PORT 200 || fail "an account without a group was refused"
pass "office (acl:Local) registers from 127.0.0.2, is refused from 127.0.0.3 (403, FailedACL Local); others unaffected"

# FailedACL counts toward bans: two more and 127.0.0.3 (3 strikes) is banned.
sipp_once 127.0.0.3 office pw-office-Secret $PORT 403 || true
grep -q "ban: 127.0.0.3 for 600 s" "$T/daemon.log" || fail "FailedACL did not count toward a ban"
pass "FailedACL strikes count toward the ban of their source"

# The listener with acl=Local: 127.0.0.2 is answered, 127.0.0.4 hears nothing.
[[ "$(ping_from 127.0.0.2 $PORT2)" == "SIP/2.0 200 OK"* ]] || fail "permitted source not answered on the ACL listener"
[ -z "$(WAIT=0.5 ping_from 127.0.0.4 $PORT2)" ] || fail "a source outside the listener's ACL was answered"
[[ "$(ping_from 127.0.0.4 $PORT)" == "SIP/2.0 200 OK"* ]] || fail "127.0.0.4 not answered on the open listener"
pass "a listener with acl=Local drops sources outside the group before parsing"

# An account naming a group that does not exist is refused (fail closed).
sed -i 's/acl:Local ;/acl:Nowhere ;/' "$T/userdb"
sleep 2.5 # the store is re-read on the 2 s tick
sipp_once 127.0.0.2 office pw-office-Secret $PORT 403 || fail "an account with an unknown group was let in"
grep -q "acl:Nowhere names no \[acl:Nowhere\] section" "$T/daemon.log" || fail "unknown group not logged"
pass "an unknown group name refuses the account, with a log line that says why"
stop_daemon

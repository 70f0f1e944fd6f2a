#!/usr/bin/env bash
# pbxguard audit against a deliberately weak Asterisk configuration
# (tests/e2e/asterisk-weak, each problem listed in its PLANTED file) and
# against pbxguard's own stores (an htpasswd file made by Apache's own
# htpasswd, a userdb, an AMI users file): every planted problem is found;
# --fix on copies settles what has one right answer, a second audit finds
# only what needs the administrator's decision, Apache's htpasswd accepts
# the new web password; and killing the fixer at any moment never leaves
# a broken file.
. "$(dirname "$0")/lib.sh"
AST=$E2E_DIR/asterisk-weak
cp -r "$AST" "$T/ast"
rm -f "$T/ast/PLANTED"
chmod 600 "$T/ast"/*.conf
chmod 644 "$T/ast/sip.conf" "$T/ast/manager.conf"	# readable by every local user
cp -r "$T/ast" "$T/ast.orig"

# pbxguard's own stores, weak on purpose.
mkdir -p "$T/state"
htpasswd -cbB "$T/state/htpasswd" admin admin 2>/dev/null	# Apache's tool, the seed's default
printf 'tuesday lemon kettle violin\n' | "$PBXGUARD" userdb add --clrtxt "$T/state/userdb" 1001@example.org >/dev/null
sed -i 's/clrtxt:[^ ]*/clrtxt:1001/' "$T/state/userdb"	# secret == extension, as the seed warns
printf '[boss]\nsecret = changeme\nread = all\nwrite = all\n' >"$T/state/manager.conf"
chmod 600 "$T/state/manager.conf"
cat >"$T/pbxguard.conf" <<CONF
[global]
statedir = $T/state
[module::Authentication]
auth-domains = example.org
[sip]
transports = udp:127.0.0.1:15999
[manager]
bindaddr = 127.0.0.1
port = 15998
[http]
listen = https:127.0.0.1:15997
CONF
audit() { "$PBXGUARD" audit -c "$T/pbxguard.conf" --asterisk "$T/ast" "$@"; }

# 1. Every planted problem, at its place, with exit status 1.
rc=0; audit --json >"$T/a1.json" 2>"$T/a1.err" || rc=$?
[ $rc = 1 ] || fail "audit exit $rc, want 1 (serious findings): $(cat "$T/a1.err")"
/usr/bin/python3 - "$T/a1.json" "$AST/PLANTED" "$T/ast" <<'PY' || fail "planted problems missed"
import json, sys
found = json.load(open(sys.argv[1]))["findings"]
have = {(f["file"], f["line"], f["check"]) for f in found}
missing = []
for line in open(sys.argv[2]):
    if line.startswith("#") or not line.strip():
        continue
    name, ln, check, _ = line.strip().split(":")
    if (sys.argv[3] + "/" + name, int(ln), check) not in have:
        missing.append(line.strip())
for m in missing:
    print("  missed:", m)
sys.exit(1 if missing else 0)
PY
n=$(grep -vc '^#' "$AST/PLANTED")
grep -q '"what":"\[1003\] secret' "$T/a1.json" && fail "the good secret of [1003] was flagged"
audit >"$T/a1.txt" 2>&1 || true
grep -q "^CRITICAL$" "$T/a1.txt" && grep -q "^HIGH$" "$T/a1.txt" && grep -q "fix: allowguest = no" "$T/a1.txt" ||
	fail "the report for people is not grouped by severity with fixes: $(head -20 "$T/a1.txt")"
pass "all $n planted problems found at their file and line (JSON and grouped report), exit 1"

# pbxguard's own: admin/admin in htpasswd found by trying the hash, the
# userdb's secret == extension, the AMI user's classic secret.
for want in "web user admin password: equals the username" "1001@example.org password: " \
	"AMI user \[boss\] secret: "; do
	grep -q "$want" "$T/a1.txt" || fail "own store finding missing: $want"
done
pass "pbxguard's own stores: Apache-made admin/admin, a userdb secret equal to its extension, a weak AMI secret"

# 2. --fix on the copies.
rc=0; audit --fix --secrets-out "$T/new.secrets" >"$T/fix.txt" 2>&1 || rc=$?
[ $rc = 1 ] || fail "--fix exit $rc, want 1 (decisions left): $(tail "$T/fix.txt")"
[ "$(stat -c %a "$T/new.secrets")" = 600 ] || fail "secrets file mode $(stat -c %a "$T/new.secrets")"
grep -q "^# complete: " "$T/new.secrets" || fail "the secrets file was not completed"
for f in sip.conf pjsip.conf iax.conf manager.conf voicemail.conf; do
	ls "$T/ast/$f".pbxguard-*.bak >/dev/null 2>&1 || fail "no backup of $f"
	cmp -s "$T/ast/$f".pbxguard-*.bak "$T/ast.orig/$f" || fail "the backup of $f is not the original"
	[ "$(stat -c %a "$T/ast/$f".pbxguard-*.bak)" = 600 ] || fail "backup of $f not 0600"
done
[ "$(stat -c %a "$T/ast/sip.conf")" = 640 ] || fail "sip.conf mode not tightened: $(stat -c %a "$T/ast/sip.conf")"
# Only the planted lines changed (plus the lines --fix adds).
diff "$T/ast.orig/sip.conf" "$T/ast/sip.conf" >"$T/sip.diff" || true
[ "$(grep -c '^[<>]' "$T/sip.diff")" = 8 ] || fail "sip.conf diff: $(cat "$T/sip.diff")"
grep -q '^> allowguest = no' "$T/sip.diff" && grep -q '^> alwaysauthreject = yes' "$T/sip.diff" || fail "settings"
rc=0; audit --json >"$T/a2.json" 2>/dev/null || rc=$?
/usr/bin/python3 - "$T/a2.json" "$AST/PLANTED" "$T/ast" <<'PY' || fail "second audit"
import json, sys
found = json.load(open(sys.argv[1]))["findings"]
have = {(f["file"].replace(sys.argv[3] + "/", ""), f["check"]) for f in found}
left = {(l.split(":")[0], l.split(":")[2]) for l in open(sys.argv[2])
        if l.strip() and not l.startswith("#") and l.strip().endswith(":decide")}
fixable = {"weak-secret", "weak-pin", "file-mode", "allowguest", "alwaysauthreject",
           "plaintext", "requirecalltoken", "minpassword"}
bad = [f for f in found if f["check"] in fixable]
for f in bad:
    print("  still there:", f["file"], f["line"], f["what"])
ast_left = {h for h in have if not h[0].startswith("/")}
if ast_left != left:
    print("  want left:", sorted(left), "\n  got:", sorted(ast_left))
    sys.exit(1)
sys.exit(1 if bad else 0)
PY
pass "--fix: new secrets once in a 0600 file, 0600 backups of the originals, modes tightened; a second audit finds only the $(grep -c ':decide$' "$AST/PLANTED") decisions left to the administrator"

# The new web password, from the secrets file, passes Apache's own htpasswd.
pw=$(sed -n "s#^$T/state/htpasswd:[0-9]* admin: ##p" "$T/new.secrets")
[ -n "$pw" ] || fail "no new web password in the secrets file"
htpasswd -vb "$T/state/htpasswd" admin "$pw" 2>/dev/null || fail "Apache's htpasswd does not verify the new password"
htpasswd -vb "$T/state/htpasswd" admin admin 2>/dev/null && fail "admin/admin still works"
pw=$(sed -n "s#^$T/state/userdb:[0-9]* 1001: ##p" "$T/new.secrets")
printf '%s\n' "$pw" | "$PBXGUARD" userdb verify "$T/state/userdb" 1001@example.org >/dev/null ||
	fail "the new userdb secret does not verify"
pass "the new admin password verifies with Apache's htpasswd -v (admin/admin no longer does); the userdb's too"

# 3. Killed mid-way: each file is the old one or the whole new one.
/usr/bin/python3 - "$T/big" <<'PY'
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)
with open(sys.argv[1] + "/sip.conf", "w") as f:
    f.write("[general]\nallowguest = no\n")
    for i in range(4000):
        f.write("\n[%d]\ntype = friend\nhost = dynamic\nsecret = %d\n" % (10000 + i, 10000 + i))
with open(sys.argv[1] + "/voicemail.conf", "w") as f:
    f.write("[general]\nminpassword = 6\n[default]\n")
    for i in range(4000):
        f.write("%d => 1234,User %d\n" % (10000 + i, i))
PY
chmod 600 "$T/big"/*.conf
cp -r "$T/big" "$T/big.orig"
# How long a whole fix takes here, then kills spread over that time (most
# of it is making 8000 secrets; the renames come at the end).
t0=$(date +%s%N)
"$PBXGUARD" audit -c "$T/pbxguard.conf" --asterisk "$T/big" --fix --secrets-out "$T/k0.secrets" >/dev/null 2>&1 || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
old=0 new=0 i=0
for pct in 10 30 50 70 80 85 90 93 95 97 99 100 101 103 110 150; do
	i=$((i + 1))
	rm -rf "$T/big" && cp -r "$T/big.orig" "$T/big"
	"$PBXGUARD" audit -c "$T/pbxguard.conf" --asterisk "$T/big" --fix --secrets-out "$T/k$i.secrets" >/dev/null 2>&1 &
	p=$!
	sleep "$(printf '%d.%03d' $((ms * pct / 100000)) $((ms * pct / 100 % 1000)))"
	kill -9 $p 2>/dev/null || true
	wait $p 2>/dev/null || true
	for f in sip.conf voicemail.conf; do
		if cmp -s "$T/big/$f" "$T/big.orig/$f"; then
			old=$((old + 1))
			continue
		fi
		new=$((new + 1))
		[ "$(wc -l <"$T/big/$f")" = "$(wc -l <"$T/big.orig/$f")" ] || fail "kill $i: $f has lost or gained lines"
		# A rewritten file is whole: its secrets or PINs all new, all in the secrets file.
		weak=$("$PBXGUARD" audit -c "$T/pbxguard.conf" --asterisk "$T/big" --json 2>/dev/null |
			/usr/bin/python3 -c "import json,sys; print(sum(1 for f in json.load(sys.stdin)['findings'] if f['file'].endswith('/$f') and f['check'] in ('weak-secret','weak-pin')))")
		[ "$weak" = 0 ] || fail "kill $i: $f rewritten yet $weak weak entries left"
		n=$(grep -c "^$T/big/$f:" "$T/k$i.secrets")
		[ "$n" = 4000 ] || fail "kill $i: $f rewritten but the secrets file holds $n of its 4000 secrets"
	done
done
[ $((old + new)) = 32 ] || fail "count"
[ $old -gt 0 ] && [ $new -gt 0 ] || fail "old $old, new $new: the kills missed the run"
pass "the fixer (${ms} ms for 8000 secrets) killed with -9 at 16 moments across its run: each file old ($old) or wholly new ($new), never half; every new secret of a new file is in the secrets file"

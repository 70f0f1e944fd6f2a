#!/usr/bin/env bash
# pbxguard htpasswd beside Apache's htpasswd: the same exit codes and
# messages for the same commands; then what Apache does not do — -c
# refuses to wipe other users (the seed's trap), -p and failing hashes are
# errors, and a rewrite killed with -9 leaves the old file or the new one.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/apache" "$T/ours"
apache() { (cd "$T/apache" && htpasswd "$@"); }
ours() { (cd "$T/ours" && "$PBXGUARD" htpasswd "$@"); }
both() { # the same command to both: the same exit code and first line said
	local ra=0 ro=0
	apache "$@" >/dev/null 2>"$T/ea" </dev/null || ra=$?
	ours "$@" >/dev/null 2>"$T/eo" </dev/null || ro=$?
	[ "$ra" = "$ro" ] || fail "htpasswd $*: exit $ra (Apache) vs $ro (ours): $(cat "$T/eo")"
	[ -n "${RC_ONLY:-}" ] || [ "$(head -1 "$T/ea")" = "$(head -1 "$T/eo")" ] ||
		fail "htpasswd $*: Apache says '$(head -1 "$T/ea")', we say '$(head -1 "$T/eo")'"
}

both -cb f alice "S3cure!Pass"
both -b f bob "pw2"
both -b f bob "pw3"
both -vb f bob "pw3"
both -vb f bob "nope"
both -vb f nobody "x"
both -D f nobody
both -D f bob
both -b f "a:b" "x"
both -b nofile u "p"
both -nc u
both -cD f u
both -bi f u p
both -C x -nb u p
both -b f "$(head -c 300 /dev/zero | tr '\0' u)" p
# Apache says "(> 256)" of a limit that refuses 256: we say 255, same exit code.
RC_ONLY=1 both -b f x "$(head -c 300 /dev/zero | tr '\0' u)"
both -z f u
printf 'garbage line\n' | tee "$T/apache/g" >"$T/ours/g"
both -b g u p
pass "19 commands: the same exit codes (0, 1, 2, 3, 5, 6, 7) and messages as Apache's htpasswd"

# Prompts: twice without -i (a mismatch is exit 3), once with -i.
printf 'a\nb\n' | ours f pr >/dev/null 2>&1 && fail "mismatched passwords accepted"
rc=0; printf 'a\nb\n' | ours f pr >/dev/null 2>&1 || rc=$?
[ $rc = 3 ] || fail "mismatch exit $rc"
printf 'Typed-1\nTyped-1\n' | ours f pr 2>/dev/null
printf 'Stdin-1\n' | ours -i f pi 2>/dev/null
htpasswd -vb "$T/ours/f" pr Typed-1 2>/dev/null && htpasswd -vb "$T/ours/f" pi Stdin-1 2>/dev/null ||
	fail "prompted passwords"
pass "passwords asked twice (mismatch: exit 3) or read once with -i, as Apache's"

# Better than Apache: bcrypt by default, no plain text, no *0, no wipe.
grep -q '^alice:\$2y\$10\$' "$T/ours/f" || fail "default hash: $(grep alice "$T/ours/f")"
rc=0; ours -bp f pl x 2>"$T/e" || rc=$?
[ $rc = 2 ] && grep -q "plain-text password never verifies" "$T/e" || fail "-p: exit $rc"
rc=0; ours -nbB -C 3 u p >/dev/null 2>"$T/e" || rc=$?
[ $rc = 3 ] && grep -q "Unable to encode with bcrypt" "$T/e" || fail "-C 3: exit $rc"
out=$(htpasswd -nb5 -r 10 u p 2>/dev/null)
[ "$out" = "u:*0" ] || echo "  note: Apache's htpasswd -r 10 -5 printed '$out'"
out=$(ours -nb5 -r 10 u p 2>/dev/null)
case "$out" in u:\$6\$rounds=1000\$*) ;; *) fail "-5 -r 10: '$out'" ;; esac
pass "bcrypt cost 10 by default; -p refused (exit 2); a hash that fails is an error; -r 10 gives rounds=1000 where Apache stores *0"

before=$(sha256sum <"$T/ours/f")
rc=0; ours -cb f carol "c-Pass1" 2>"$T/e" || rc=$?
[ $rc = 1 ] || fail "-c over a file with users: exit $rc"
grep -q "already holds 3 other users (alice, pr, pi): -c would remove them" "$T/e" ||
	fail "-c message: $(cat "$T/e")"
[ "$(sha256sum <"$T/ours/f")" = "$before" ] || fail "-c changed the file anyway"
ours -cb --force f carol "c-Pass1" 2>/dev/null
[ "$(grep -c : "$T/ours/f")" = 1 ] || fail "--force did not start a new file"
ours -cb f carol "c-Pass2" 2>/dev/null || fail "-c over a file holding only the same user"
pass "-c over a file with other users refuses and names them (exit 1, file unchanged); --force starts anew"

# Modes: a new file is 0640, an existing one keeps its own.
[ "$(stat -c %a "$T/ours/f")" = 640 ] || fail "new file mode $(stat -c %a "$T/ours/f")"
chmod 600 "$T/ours/f"
ours -b f dave "d-Pass1" 2>/dev/null
[ "$(stat -c %a "$T/ours/f")" = 600 ] || fail "mode not kept"
pass "new files 0640, an existing file's mode kept"

# kill -9 in the middle of rewrites of a 20000-user file: every time the
# file is the old one or the new one, never a mix or a truncation.
big="$T/ours/big"
/usr/bin/python3 - "$big" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(20000):
        f.write("user%05d:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n" % i)
PY
n=20000
for i in $(seq 1 40); do
	"$PBXGUARD" htpasswd -bs "$big" "new$i" "pw$i" 2>/dev/null &
	pid=$!
	sleep "0.0$(printf %02d $((RANDOM % 45)))" # a run takes about 30 ms
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	lines=$(wc -l <"$big")
	[ "$(tail -c 1 "$big" | od -An -c | tr -d ' ')" = '\n' ] || fail "a partial last line after kill $i"
	[ "$lines" = $n ] || [ "$lines" = $((n + 1)) ] || fail "kill $i: $lines lines (had $n)"
	n=$lines
	[ "$(grep -vc '^[a-z0-9]*:{SHA}[A-Za-z0-9+/=]*$' "$big" || true)" = 0 ] ||
		fail "a damaged line after kill $i"
done
htpasswd -vb "$big" user19999 password 2>/dev/null || fail "the last old user is gone"
done_=$((n - 20000))
[ $done_ -lt 40 ] || fail "no run was interrupted: the kill came too late every time"
pass "40 rewrites of a 20000-user file, killed with -9 at random moments ($done_ finished, $((40 - done_)) cut short): always the old or the new file, whole"

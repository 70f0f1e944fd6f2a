#!/usr/bin/env bash
# pbxguard userdb: hashes match the seed's A1 definition, rewrites keep
# comments, owner and mode, a malformed file is refused and left untouched.
. "$(dirname "$0")/lib.sh"
U="$T/userdb"

printf 'version:1\n# the office\n\n' >"$U"
chmod 640 "$U"
printf 'secret\n' | "$PBXGUARD" userdb add "$U" user1@example.org >/dev/null
printf 'Two-Words pass\n' | "$PBXGUARD" userdb add --userid 1001auth "$U" alice@example.org >/dev/null
printf 'clear\n' | "$PBXGUARD" userdb add --clrtxt "$U" bob@example.org >/dev/null
[ "$(stat -c %a "$U")" = 640 ] || fail "mode not kept: $(stat -c %a "$U")"
grep -q '^# the office$' "$U" || fail "comment lost"
# The seed's definition: A1 = MD5(user:domain:password), and SHA-256 likewise.
md5=$(printf 'user1:example.org:secret' | md5sum | cut -d' ' -f1)
sha=$(printf 'user1:example.org:secret' | sha256sum | cut -d' ' -f1)
s5=$(printf 'user1:example.org:secret' | openssl dgst -sha512-256 -r | cut -d' ' -f1)
[ "$md5" = d3e352aa5b45dd0c75e503ef317b3fe7 ] || fail "md5sum disagrees with the seed"
grep -q "^user1@example.org md5:$md5 sha256:$sha sha512-256:$s5 ;$" "$U" ||
	fail "user1 line: $(grep user1 "$U")"
grep -q "^alice@example.org md5:$(printf '1001auth:example.org:Two-Words pass' | md5sum | cut -d' ' -f1) .* ; 1001auth$" "$U" ||
	fail "alice line: $(grep alice "$U")"
grep -q '^bob@example.org clrtxt:clear ;$' "$U" || fail "bob line"
! grep -q secret "$U" || fail "clear text written without --clrtxt"
pass "add writes A1 hashes (md5sum/sha256sum/openssl agree), keeps comments and mode 640"

printf 'secret\n' | "$PBXGUARD" userdb verify "$U" user1@example.org | grep -q "correct" || fail "verify right"
rc=0; printf 'nope\n' | "$PBXGUARD" userdb verify "$U" user1@example.org >/dev/null || rc=$?
[ $rc = 3 ] || fail "verify wrong exited $rc"
printf 'Two-Words pass\n' | "$PBXGUARD" userdb verify "$U" alice@example.org >/dev/null || fail "verify alice"
pass "verify: 0 for the right password, 3 for a wrong one"

rc=0; printf 'x\n' | "$PBXGUARD" userdb add "$U" user1@example.org 2>"$T/err" || rc=$?
[ $rc = 1 ] && grep -q "already exists" "$T/err" || fail "duplicate add: $rc $(cat "$T/err")"
printf 'n3w-Secret\n' | "$PBXGUARD" userdb passwd "$U" alice@example.org >/dev/null
printf 'n3w-Secret\n' | "$PBXGUARD" userdb verify "$U" alice@example.org >/dev/null || fail "passwd"
grep -q "; 1001auth$" "$U" || fail "passwd lost the auth id"
"$PBXGUARD" userdb del "$U" bob@example.org >/dev/null
! grep -q '^bob@' "$U" || fail "del"
"$PBXGUARD" userdb list "$U" >"$T/list"
[ "$(cat "$T/list")" = "user1@example.org md5 sha256 sha512-256
alice@example.org md5 sha256 sha512-256 authid=1001auth" ] || fail "list: $(cat "$T/list")"
! grep -q "[0-9a-f]\{32\}" "$T/list" || fail "list shows hashes"
pass "passwd keeps the auth id, del, list never shows hashes"

# Refuse to rewrite what cannot be parsed; the file is byte for byte unchanged.
printf 'not-a-user-line\n' >>"$U"
sum=$(sha256sum <"$U")
rc=0; printf 'pw\n' | "$PBXGUARD" userdb add "$U" carol@example.org 2>"$T/err" || rc=$?
[ $rc = 1 ] || fail "add on a malformed file exited $rc"
grep -q "userdb:6:16: missing .;. after the passwords" "$T/err" || fail "no file:line:col: $(cat "$T/err")"
grep -q "refusing to rewrite" "$T/err" || fail "no refusal message"
[ "$(sha256sum <"$U")" = "$sum" ] || fail "malformed file was modified"
pass "a malformed file is refused with file:line:col and left unchanged"

# Bad arguments and passwords.
rc=0; "$PBXGUARD" userdb add "$U" nodomain </dev/null 2>/dev/null || rc=$?
[ $rc = 2 ] || fail "bad identity exited $rc"
rc=0; printf '\n' | "$PBXGUARD" userdb add "$T/new.db" carol@example.org 2>/dev/null || rc=$?
[ $rc = 1 ] && [ ! -e "$T/new.db" ] || fail "empty password accepted"
printf 'pw-Carol-1\n' | "$PBXGUARD" userdb add "$T/new.db" carol@example.org >/dev/null
[ "$(stat -c %a "$T/new.db")" = 600 ] || fail "new file mode $(stat -c %a "$T/new.db")"
head -1 "$T/new.db" | grep -qx "version:1" || fail "new file without header"
pass "usage errors exit 2, empty passwords refused, a new file is 0600 with its header"

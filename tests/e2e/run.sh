#!/usr/bin/env bash
# Runs every tests/e2e/t*.sh and prints one closing line: "N passed, N
# failed, N skipped". A test exits 77 to skip (it prints why); a skip is
# never counted as a pass.
set -u
dir=$(cd "$(dirname "$0")" && pwd)
: "${PBXGUARD:?set PBXGUARD to the pbxguard binary}"
passed=0 failed=0 skipped=0 names=()
for t in "$dir"/t*.sh; do
	[ -n "${E2E_ONLY:-}" ] && [[ "$(basename "$t")" != *"$E2E_ONLY"* ]] && continue
	echo "== $(basename "$t")"
	start=$(date +%s)
	rc=0
	timeout 300 bash "$t" || rc=$?
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		echo "== $(basename "$t"): passed ($(( $(date +%s) - start )) s)"
	elif [ $rc = 77 ]; then
		skipped=$((skipped + 1))
		echo "== $(basename "$t"): SKIPPED"
	else
		failed=$((failed + 1))
		names+=("$(basename "$t")")
		echo "== $(basename "$t"): FAILED"
	fi
done
[ $failed -gt 0 ] && echo "failed: ${names[*]}"
echo "e2e: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $passed -gt 0 ]

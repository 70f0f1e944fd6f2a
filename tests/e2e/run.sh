#!/usr/bin/env bash
# Runs every tests/e2e/t*.sh and prints one closing line: "N passed, N failed".
set -u
dir=$(cd "$(dirname "$0")" && pwd)
: "${PBXGUARD:?set PBXGUARD to the pbxguard binary}"
passed=0 failed=0 names=()
for t in "$dir"/t*.sh; do
	[ -n "${E2E_ONLY:-}" ] && [[ "$(basename "$t")" != *"$E2E_ONLY"* ]] && continue
	echo "== $(basename "$t")"
	start=$(date +%s)
	if timeout 300 bash "$t"; then
		passed=$((passed + 1))
		echo "== $(basename "$t"): passed ($(( $(date +%s) - start )) s)"
	else
		failed=$((failed + 1))
		names+=("$(basename "$t")")
		echo "== $(basename "$t"): FAILED"
	fi
done
[ $failed -gt 0 ] && echo "failed: ${names[*]}"
echo "e2e: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]

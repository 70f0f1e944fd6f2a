#!/usr/bin/env bash
# make check's driver: unit tests, end-to-end tests, fuzzing, each in turn,
# then one closing line that adds up what each stage itself reported.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/pbxguard-check.XXXXXX)
trap 'rm -f "$log"' EXIT
passed=0 failed=0 skipped=0 rc=0

for stage in unit e2e fuzz; do
	make --no-print-directory "$stage" 2>&1 | tee "$log"
	st=${PIPESTATUS[0]}
	case $stage in
	unit) # meson's summary: "Ok: N" ... "Fail: N"
		p=$(awk '/^Ok:/{print $2}' "$log" | tail -1)
		f=$(awk '/^Fail:/{print $2}' "$log" | tail -1) ;;
	*) # "e2e: N passed, N failed[, N skipped]" / "fuzz: N passed, N failed"
		re="^$stage: \([0-9]*\) passed, \([0-9]*\) failed\(, \([0-9]*\) skipped\)\{0,1\}$"
		p=$(sed -n "s/$re/\1/p" "$log" | tail -1)
		f=$(sed -n "s/$re/\2/p" "$log" | tail -1)
		s=$(sed -n "s/$re/\4/p" "$log" | tail -1)
		skipped=$((skipped + ${s:-0})) ;;
	esac
	if [ -z "${p:-}" ]; then # the stage died before reporting
		p=0
		f=$((${f:-0} + 1))
	fi
	# A stage that failed without counting a failure still counts as one.
	[ "$st" -eq 0 ] || { rc=1; [ "${f:-0}" -gt 0 ] || f=1; }
	passed=$((passed + p))
	failed=$((failed + ${f:-0}))
done
echo "check: $passed passed, $failed failed, $skipped skipped"
[ $rc -eq 0 ] && [ $failed -eq 0 ]

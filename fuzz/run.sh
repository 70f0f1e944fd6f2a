#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time on a scratch copy of its
# corpus (the committed corpus stays small). Fails on the first crash.
set -euo pipefail
build=${1:?build dir}
secs=${2:-20}
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/pbxguard-fuzz.XXXXXX)
trap '[ -n "${FUZZ_KEEP:-}" ] || rm -rf "$work"' EXIT
rc=0 nfail=0
targets=(sipmsg authhdr userdb config banstate siptls sipproxy ami http htpasswd iax2 watch sql)
for target in "${targets[@]}"; do
	mkdir -p "$work/$target"
	corpus=$target
	[ "$target" = siptls ] && corpus=sipmsg # the same messages, over TLS
	cp fuzz/corpus/$corpus/* "$work/$target/"
	dict=()
	case $target in
	sipmsg|authhdr|siptls|sipproxy) dict=(-dict=fuzz/sip.dict) ;;
	ami) dict=(-dict=fuzz/ami.dict) ;;
	http) dict=(-dict=fuzz/http.dict) ;;
	esac
	echo "fuzz_$target: ${secs}s"
	if ! "$build/fuzz_$target" "${dict[@]}" -max_total_time="$secs" -max_len=8192 \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/" \
		"$work/$target" >"$work/$target.log" 2>&1; then
		tail -40 "$work/$target.log"
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null || true
		echo "fuzz_$target: FAILED"
		nfail=$((nfail + 1))
		rc=1
		continue
	fi
	grep -E "stat::number_of_executed_units|cov:" "$work/$target.log" | tail -2
done
echo "fuzz: $((${#targets[@]} - nfail)) passed, $nfail failed"
exit $rc

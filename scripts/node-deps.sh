#!/bin/sh
# The npm modules the end-to-end tests drive (a real AMI client, playwright-core
# for headless Chromium), pinned by
# tests/e2e/node/package-lock.json. Idempotent; prints their directory.
set -eu
dir=$(cd "$(dirname "$0")/../tests/e2e/node" && pwd)
if [ ! -f "$dir/node_modules/asterisk-manager/package.json" ] || [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
	command -v npm >/dev/null || { echo "node-deps.sh: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi
echo "$dir"

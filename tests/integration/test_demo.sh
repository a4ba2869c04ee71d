#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The two-gateway demo as a test: scripts/demo.sh --once --no-setup against
# the binaries of the build under test. It brings up four namespaces, two
# shardgate gateways joined by an ESP-only link, pings across, carries 2 MB of
# TCP across (sha256 compared), checks the link
# carried only ESP, and tears everything down; it must exit 0 and say
# "demo: PASS". Run as root.
#
#   test_demo.sh BUILD_ROOT      (meson passes its build root)
#
# Ends with "SGTEST demo: N passed, N failed" like the other suites; exits
# non-zero on failure.
set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-}

finish() {
	if [ "$1" -eq 0 ]; then
		echo "ok     demo: scripts/demo.sh --once --no-setup: exit 0 and 'demo: PASS'"
		echo "SGTEST demo: 1 passed, 0 failed"
		exit 0
	fi
	echo "FAIL   demo: scripts/demo.sh --once --no-setup: $2"
	echo "SGTEST demo: 0 passed, 1 failed"
	exit 1
}

if [ -z "$build" ] || [ ! -x "$build/app/shardgate/shardgate" ]; then
	echo "usage: $0 BUILD_ROOT (the meson build directory holding app/shardgate/shardgate)" >&2
	finish 1 "no shardgate binary under '${build}'"
fi
build=$(cd "$build" && pwd)

log=$(mktemp /tmp/sgtest-demo.XXXXXX.log)
trap 'rm -f "$log"' EXIT
echo "# demo: SG_BUILD_DIR=$build $here/scripts/demo.sh --once --no-setup"
start=$(date +%s)
# The demo tears itself down on every path (--once); its own time limits
# apply, and meson's timeout stops it as a last resort (it traps TERM).
SG_BUILD_DIR=$build "$here/scripts/demo.sh" --once --no-setup >"$log" 2>&1
rc=$?
sed 's/^/    /' "$log"
echo "# demo: status $rc after $(( $(date +%s) - start )) s"
if [ "$rc" -ne 0 ]; then
	finish 1 "exit status $rc (want 0)"
fi
if ! grep -q '^demo: PASS$' "$log"; then
	finish 1 "exit 0 but no 'demo: PASS' line in its output"
fi
finish 0

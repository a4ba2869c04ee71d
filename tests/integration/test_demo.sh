#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The two-gateway demo as a test: scripts/demo.sh --once --no-setup against
# the binaries of the build under test, with static keys and with --ike
# (charon + kernel-shardgate, IKE over the slow path). Each run brings up
# four namespaces, two shardgate gateways joined by one link, pings across,
# carries 2 MB of TCP across (sha256 compared), checks the link carried only
# ESP (and, with --ike, the gateways' own IKE and ARP), and tears everything
# down; it must exit 0 and say "demo: PASS". Run as root. The --ike run
# needs the plugin installed (scripts/setup.sh builds and installs it); it
# fails, never skips, without it.
#
#   test_demo.sh BUILD_ROOT      (meson passes its build root)
#
# Ends with "SGTEST demo: N passed, N failed" like the other suites; exits
# non-zero on failure.
set -uo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-}
passed=0
failed=0

if [ -z "$build" ] || [ ! -x "$build/app/shardgate/shardgate" ]; then
	echo "usage: $0 BUILD_ROOT (the meson build directory holding app/shardgate/shardgate)" >&2
	echo "FAIL   demo: no shardgate binary under '${build}'"
	echo "SGTEST demo: 0 passed, 1 failed"
	exit 1
fi
build=$(cd "$build" && pwd)

log=$(mktemp /tmp/sgtest-demo.XXXXXX.log)
trap 'rm -f "$log"' EXIT

# run LABEL [demo options]: one demo run, judged by its status and PASS line.
run() {
	local label=$1 rc start
	shift
	echo "# demo ($label): SG_BUILD_DIR=$build $here/scripts/demo.sh --once --no-setup $*"
	start=$(date +%s)
	# The demo tears itself down on every path (--once); its own time limits
	# apply, and meson's timeout stops it as a last resort (it traps TERM).
	SG_BUILD_DIR=$build "$here/scripts/demo.sh" --once --no-setup "$@" >"$log" 2>&1
	rc=$?
	sed 's/^/    /' "$log"
	echo "# demo ($label): status $rc after $(( $(date +%s) - start )) s"
	if [ "$rc" -ne 0 ]; then
		echo "FAIL   demo ($label): exit status $rc (want 0)"
		failed=$((failed + 1))
	elif ! grep -q '^demo: PASS$' "$log"; then
		echo "FAIL   demo ($label): exit 0 but no 'demo: PASS' line in its output"
		failed=$((failed + 1))
	else
		echo "ok     demo ($label): exit 0 and 'demo: PASS'"
		passed=$((passed + 1))
	fi
}

run "static keys" --static
run "IKEv2, charon + kernel-shardgate" --ike
if [ "$failed" -eq 0 ]; then
	# The IKE run must really have keyed the tunnel through charon.
	if grep -q 'OK: IKE_SA and CHILD_SA up' "$log" &&
			grep -q 'only ESP (and IKE, ARP)' "$log"; then
		echo "ok     demo (IKEv2): charon brought the CHILD_SA up; the link carried ESP, IKE, ARP"
		passed=$((passed + 1))
	else
		echo "FAIL   demo (IKEv2): no IKE_SA/CHILD_SA line in its output"
		failed=$((failed + 1))
	fi
fi
echo "SGTEST demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

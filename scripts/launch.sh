#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Start shardgate with the core/NUMA map that scripts/coremap.sh --write made.
#
#   scripts/launch.sh MAP_FILE [EAL options...] -- -u MASK -f RULES [options...]
#
# The map gives EAL's --lcores and the PCI allow-list, and shardgate's -p and
# --config; everything else is passed through. The map file is read as
# KEY="VALUE" lines, never executed, so a stray line cannot run a command.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${SG_BUILD_DIR:-$here/build}/app/shardgate/shardgate

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '3,9p' "$0"
	exit 2
fi
map=$1
shift
[ -r "$map" ] || { echo "launch.sh: $map: cannot read the map file" >&2; exit 2; }

lcores="" config="" portmask="" allow=""
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case "$line" in ''|'#'*) continue ;; esac
	if [[ ! "$line" =~ ^([a-z]+)=\"([^\"\`\$\\]*)\"$ ]]; then
		echo "launch.sh: $map:$lineno: expected KEY=\"VALUE\"" >&2
		exit 2
	fi
	case "${BASH_REMATCH[1]}" in
	lcores) lcores=${BASH_REMATCH[2]} ;;
	config) config=${BASH_REMATCH[2]} ;;
	portmask) portmask=${BASH_REMATCH[2]} ;;
	allow) allow=${BASH_REMATCH[2]} ;;
	*) echo "launch.sh: $map:$lineno: unknown key '${BASH_REMATCH[1]}'" >&2; exit 2 ;;
	esac
done < "$map"
for k in lcores config portmask; do
	[ -n "${!k}" ] || { echo "launch.sh: $map: no $k= line" >&2; exit 2; }
done

eal=() app=()
seen_dd=0
for a in "$@"; do
	if [ $seen_dd -eq 0 ] && [ "$a" = "--" ]; then
		seen_dd=1
		continue
	fi
	if [ $seen_dd -eq 0 ]; then eal+=("$a"); else app+=("$a"); fi
done
[ $seen_dd -eq 1 ] || { echo "launch.sh: expected -- before shardgate's own options" >&2; exit 2; }

# $allow holds "-a ADDR -a ADDR": split on blanks on purpose.
read -r -a allow_args <<< "$allow"
[ -x "$bin" ] || { echo "launch.sh: $bin is not built: run scripts/setup.sh" >&2; exit 1; }
echo "launch.sh: $bin --lcores $lcores ${allow_args[*]} ${eal[*]} -- -p $portmask --config $config ${app[*]}" >&2
exec "$bin" --lcores "$lcores" "${allow_args[@]}" "${eal[@]}" -- \
	-p "$portmask" --config "$config" "${app[@]}"

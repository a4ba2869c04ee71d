#!/usr/bin/env bash
# Debian's strongSwan (charon, swanctl, kernel-libipsec) and the source of the
# very same version, then the kernel-shardgate charon plugin built against it.
# Debian ships no strongSwan headers, so the source comes from `apt-get
# source`, with deb-src entries derived from this machine's own apt sources.
#
#   scripts/setup-strongswan.sh [BUILD_DIR]   (default build/; source in BUILD_DIR/strongswan-src)
#
# Prints the configured source tree on its last line ("source: PATH"), for
# meson's -Dstrongswan_src.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${1:-${SG_BUILD_DIR:-$here/build}}
mkdir -p "$build_dir"
build_dir=$(cd "$build_dir" && pwd)
src_root=$build_dir/strongswan-src

packages=(strongswan-charon strongswan-swanctl libcharon-extra-plugins
	libstrongswan libstrongswan-standard-plugins dpkg-dev gcc make pkg-config ethtool)

if [ "$(id -u)" -ne 0 ]; then
	echo "setup-strongswan.sh: run as root (apt-get)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done

# deb-src twins of the enabled deb entries, in a file of our own. Only files
# apt itself reads (*.list, *.sources); the hosts are the machine's, never ours.
srcfile=/etc/apt/sources.list.d/shardgate-deb-src.sources
need_update=0
if ! apt-get source --print-uris strongswan >/dev/null 2>&1; then
	tmp=$(mktemp)
	files=()
	[ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
	for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && [ "$f" != "$srcfile" ] && files+=("$f")
	done
	for f in "${files[@]}"; do
		case "$f" in
		*.list)
			# one-line style: "deb [opts] URI SUITE COMPONENTS..."
			sed -n 's/^[[:space:]]*deb[[:space:]]\+\(.*\)$/\1/p' "$f" | while read -r line; do
				opts=""
				if [[ $line == \[* ]]; then
					opts=${line%%]*}; opts=${opts#[}; line=${line#*]}
				fi
				read -r uri suite comps <<<"$line"
				case "$uri" in http:*|https:*|file:*|cdrom:*) ;; *) continue ;; esac
				printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n' \
					"$uri" "$suite" "$comps" >> "$tmp"
				for o in $opts; do
					case "$o" in signed-by=*) printf 'Signed-By: %s\n' "${o#signed-by=}" >> "$tmp" ;; esac
				done
				printf '\n' >> "$tmp"
			done ;;
		*.sources)
			# deb822 stanzas: copy those whose Types has "deb", as deb-src.
			awk 'function flush() { if (deb && !dis) printf "%s\n", st; st=""; deb=0; dis=0 }
				/^[[:space:]]*$/ { flush(); next }
				/^#/ { next }
				/^Types:/ { if ($0 ~ /[[:space:]]deb([[:space:]]|$)/) deb=1; st = st "Types: deb-src\n"; next }
				/^Enabled:[[:space:]]*no/ { dis=1 }
				{ st = st $0 "\n" }
				END { flush() }' "$f" >> "$tmp" ;;
		esac
	done
	if [ ! -s "$tmp" ]; then
		echo "setup-strongswan.sh: no deb entries in the apt sources to derive deb-src from" >&2
		rm -f "$tmp"
		exit 1
	fi
	install -m 0644 "$tmp" "$srcfile"
	rm -f "$tmp"
	echo "setup-strongswan.sh: wrote $srcfile (deb-src for this machine's sources)"
	need_update=1
fi
if [ ${#missing[@]} -gt 0 ] || [ "$need_update" -eq 1 ]; then
	apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup-strongswan.sh: installing ${missing[*]}"
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The source of exactly the installed version, so headers and ABI match.
ver=$(dpkg-query -W -f='${Version}' libstrongswan)
upver=${ver#*:}; upver=${upver%-*}
src=$src_root/strongswan-$upver
# A mirror may lack the installed revision's .dsc (security updates): then
# another Debian revision of the same upstream version, newest first, whose
# headers are the same (a revision patches .c files for its fixes).
if [ ! -f "$src/src/libcharon/daemon.h" ]; then
	got=""
	for v in "$ver" $(apt-cache showsrc strongswan | sed -n 's/^Version: //p' | sort -rV); do
		case "$v" in *:"$upver"-*|"$upver"-*) ;; *) continue ;; esac
		rm -rf "$src_root"
		mkdir -p "$src_root"
		if (cd "$src_root" && apt-get source -q --only-source "strongswan=$v") &&
				[ -f "$src/src/libcharon/daemon.h" ]; then
			got=$v
			break
		fi
	done
	if [ -z "$got" ]; then
		echo "setup-strongswan.sh: no strongSwan $upver source to be had" >&2
		exit 1
	fi
	echo "$got" > "$src_root/debian-revision"
fi
echo "setup-strongswan.sh: strongSwan $ver installed; source $(cat "$src_root/debian-revision") in $src"

# config.h for the headers: configure as Debian's debian/rules does where
# it shapes a header the plugin includes (daemon.h's charon_t has members
# only under --enable-mediation, ME), without the plugins that need more
# -dev packages (those change no header here). Only config.h is used.
if [ ! -f "$src/config.h" ]; then
	echo "setup-strongswan.sh: configuring the strongSwan source (config.h only)"
	(cd "$src" && ./configure -q --prefix=/usr --sysconfdir=/etc --libdir=/usr/lib \
		--libexecdir=/usr/lib --enable-mediation --enable-kernel-libipsec \
		--enable-swanctl --enable-gcm --disable-gmp --disable-defaults-check \
		>"$src_root/configure.log" 2>&1) || {
		echo "setup-strongswan.sh: configure failed; see $src_root/configure.log" >&2
		exit 1
	}
fi
echo "source: $src"

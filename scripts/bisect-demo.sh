#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A real bisection of a planted MIP6 regression:
#
#   scripts/bisect-demo.sh [WORKDIR [OUT]]
#
# Builds a git history from Debian's linux-source-6.12 tree: the tree, then
# the raw and UDP checksum patches of the series (the good commit), three
# harmless commits, one that brings the raw.c checksum bug back, three more
# harmless ones.  Then `mip6kit bisect -k test_mh_bu_cmsg_hao` must name the
# planted commit.  WORKDIR (default $MIP6KIT_CACHE-bisect-demo) holds the
# history; the output and timing go to OUT (default
# scripts/bisect-demo-results.txt).  Exit 0 when the planted commit is found.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${MIP6KIT_CACHE:-$HOME/.cache/mip6kit}
work=${1:-$cache-bisect-demo}
out=${2:-scripts/bisect-demo-results.txt}
mip6kit=.venv/bin/mip6kit
series=$PWD/patches/6.12/net-next  # the raw and UDP checksum patches
export GIT_AUTHOR_NAME="mip6kit demo" GIT_AUTHOR_EMAIL="demo@example.invalid"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_AUTHOR_DATE="2026-11-29T00:00:00Z" GIT_COMMITTER_DATE="2026-11-29T00:00:00Z"

"$mip6kit" -q build --base 6.12 --baseline >/dev/null   # extracts the Debian tree if needed
src=$cache/sources/linux-source-6.12
start=$(date +%s)
rm -rf "$work"
mkdir -p "$work"
rsync -a --exclude=/.git "$src/" "$work/linux/"
cd "$work/linux"
git init -q
git add -A -f .   # Debian's .gitignore ignores the whole top level
git commit -qm "Debian linux-source-6.12"
git am -q "$series"/0001-*.patch "$series"/0002-*.patch
good=$(git rev-parse HEAD)

harmless() {
	echo "mip6kit bisect demo: $1" >> Documentation/networking/ipv6.rst
	git commit -qam "docs: ipv6: $1"
}
harmless "first harmless change"
harmless "second harmless change"
harmless "third harmless change"
sed -i 's/csum = csum_ipv6_magic(saddr, &fl6->daddr,/csum = csum_ipv6_magic(\&fl6->saddr, \&fl6->daddr,/' \
	net/ipv6/raw.c
git diff --quiet && { echo "bisect-demo: the planted change did not apply" >&2; exit 1; }
git commit -qam "ipv6: raw: planted regression: sum over the packet source again"
planted=$(git rev-parse --short HEAD)
harmless "fourth harmless change"
harmless "fifth harmless change"
harmless "sixth harmless change"
made=$(( $(date +%s) - start ))
cd - >/dev/null

start=$(date +%s)
set +e
result=$("$mip6kit" bisect --tree "$work/linux" --good "$good" --bad HEAD \
	-k test_mh_bu_cmsg_hao 2>&1)
rc=$?
set -e
took=$(( $(date +%s) - start ))
found=$(sed -n 's/^first bad commit: \([0-9a-f]*\) .*/\1/p' <<<"$result")
{
	echo "# bisect demo $(date -u +%Y-%m-%dT%H:%MZ): scripts/bisect-demo.sh"
	echo "# history: Debian 6.12 + raw/udp patches (good), 3 harmless, planted $planted, 3 harmless; made in ${made} s"
	echo "\$ mip6kit bisect --tree $work/linux --good ${good:0:12} --bad HEAD -k test_mh_bu_cmsg_hao"
	grep -v '^mip6kit: \[build\]' <<<"$result"
	logfile=$(sed -n 's/^bisect log: \([^;]*\);.*/\1/p' <<<"$result")
	[ -n "$logfile" ] && awk '{ print "  " $0 }' "$logfile"   # its last line has no newline
	echo "# exit $rc after ${took} s; planted $planted, found ${found:-nothing}"
} | tee "$out"   # the latest run; earlier ones are in git history
[ "$rc" -eq 0 ] && [ -n "$found" ] && [ "${planted:0:7}" = "${found:0:7}" ]

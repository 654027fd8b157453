#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install what mip6kit needs on a Debian 12 host: the kernel sources of both
# bases, the build dependencies, qemu, udev (virtme-ng finds its virtio
# serial ports through udev rules), then a Python venv in .venv with
# mip6kit installed in editable mode.  Idempotent; safe to rerun.
# --extra adds clang and sparse for `mip6kit series check`.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(
	linux-source-6.12 linux-source-6.1 linux-config-6.12 linux-config-6.1
	build-essential bc bison flex libelf-dev libssl-dev cpio kmod rsync patch perl
	ccache qemu-system-x86 udev iproute2 python3-venv strace quilt
	tcpdump socat ethtool iptables nftables iputils-ping lcov gcc-multilib
	shellcheck yamllint
)
# --extra: what only `mip6kit series check`'s object builds need (clang and
# sparse, about 400 MB), not CI (README, Upstream checks)
if [ "${1:-}" = "--extra" ]; then
	PKGS+=(clang sparse)
elif [ $# -gt 0 ]; then
	echo "usage: scripts/setup.sh [--extra]" >&2
	exit 2
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
	python3 -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e '.[dev]'
echo "setup: done; mip6kit is .venv/bin/mip6kit"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The distro campaign: the series as Debian builds it.  For each base,
# `mip6kit run --profile distro --patched-only`: Debian's own config
# (linux-config-VERSION, cloud-amd64) with the lean fragment and the
# series' code as modules on top (vm/profiles/distro.config), bzImage and
# every module, modpost with MODVERSIONS; then the verifier on that kernel
# in a guest that loads the build dir's modules (verifier/test_modules.py
# checks each loads with no unresolved or mismatched symbol).  Appends the
# build's summary, the matrix and the times to OUT.
#
#   scripts/distro-campaign.sh [OUT [BASES]]
#   defaults: scripts/distro-campaign-results.txt, bases "6.12 6.1"
#
# Hours on 2 cores cold (about 4x the lean build's objects): not CI.  CI
# builds and verifies the modules profile (scripts/test.sh), which has the
# series' code as modules on the lean config.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/campaign-lib.sh

OUT=${1:-scripts/distro-campaign-results.txt}
BASES=${2:-6.12 6.1}
status=0

campaign_begin "distro campaign" "$OUT" scripts/distro-campaign.sh "$OUT" "'$BASES'"
for base in $BASES; do
	campaign_run "$base" --profile distro --patched-only
	log=$run/patched/build.log
	{
		echo "base $base: exit $rc, $took s, run dir $run"
		grep -E "\[(config|build)\] done in" "$run/stderr.txt" | sed 's/^/  /' || true
		if [ -f "$log" ]; then
			echo "  modules built: $(grep -c '^  LD \[M\]' "$log" || true)," \
				"MODPOST lines: $(grep -c 'MODPOST' "$log" || true)," \
				"compiler warnings: $(grep 'warning:' "$log" | grep -vc '^\.config:' || true)," \
				"config overrides: $(grep -c '^\.config:.*override' "$log" || true)"
			grep -E "^(ERROR|WARNING): modpost" "$log" | sed 's/^/  /' || true
		fi
		[ -f "$log" ] && echo "  the series' modules built:" $(grep -oE \
			"net/(xfrm/xfrm_(user|compat)|ipv6/(mip6|esp6|ah6)|key/af_key)\.ko" "$log")
		grep -E "# loaded:" "$run/stdout.txt" | head -n 1 | sed 's/^.*# /  /' || true
		sed 's/^/  /' "$run/matrix.txt" 2>/dev/null | tail -n 3 || true
		grep -E "UNEXPECTED" "$run/matrix.txt" 2>/dev/null | sed 's/^/  /' || true
		tail -n 5 "$run/stderr.txt" | sed 's/^/  stderr: /'
	} >>"$OUT"
	[ "$rc" -eq 0 ] || status=1
done
exit $status

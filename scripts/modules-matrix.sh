#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The modules matrix on each base: `mip6kit run --profile modules` (the
# lean config with the series' code as modules, vm/profiles/modules.config)
# on the tests whose verdict depends on it (scripts/modules-smoke.k: the
# module loads, rule 4 with IPV6_MIP6=m, xfrm_compat as a module, the raw
# and UDP checksums with mip6.ko): two kernel builds per base, so it is a
# campaign, not part of CI (its cold builds would take CI past its budget).  Appends each matrix and its time to OUT.
#
#   scripts/modules-matrix.sh [OUT [BASES]]
#   defaults: scripts/modules-matrix-results.txt, bases "6.12 6.1"
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/campaign-lib.sh

OUT=${1:-scripts/modules-matrix-results.txt}
BASES=${2:-6.12 6.1}
status=0

campaign_begin "modules matrix" "$OUT" scripts/modules-matrix.sh "$OUT" "'$BASES'"
for base in $BASES; do
	campaign_run "$base" --profile modules -k "$(cat scripts/modules-smoke.k)"
	{
		echo "base $base: exit $rc, $took s (builds included)"
		grep -E "\[build\] done in" "$run/stderr.txt" | sed 's/^/  /' || true
		sed 's/^/  /' "$run/matrix.txt" 2>/dev/null || tail -n 5 "$run/stderr.txt" | sed 's/^/  /'
	} >>"$OUT"
	[ "$rc" -eq 0 ] || status=1
done
exit $status

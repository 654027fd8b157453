#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The fuzz campaign: verifier/test_fuzz.py on the patched debug kernel
# (--profile debug: KASAN, UBSAN bounds, lockdep, DEBUG_NET) of each base,
# CASES cases per test (three tests: raw, UDP, XFRM NEWSA/UPDSA), one guest
# per base and seed.  A splat (verifier/splat.py) fails a test (dmesg) and
# the run (console, exit 6); so does a leak: the guest scans kmemleak twice
# after the tests and vm/leaks.py reads the reports back.  Appends each
# guest's summary to OUT.
#
#   scripts/fuzz-campaign.sh [CASES [SEEDS [OUT [BASES]]]]
#   defaults: 3400 cases (10,200 per base and seed), seed 1,
#   scripts/fuzz-campaign-results.txt, bases "6.12 6.1"
#
# CI runs the same tests with 250 cases on the lean kernel (the verifier).
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${1:-3400}
SEEDS=${2:-1}
OUT=${3:-scripts/fuzz-campaign-results.txt}
BASES=${4:-6.12 6.1}
PY=$PWD/.venv/bin/python
status=0

{
	echo "# fuzz campaign $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, TCG"
	echo "# scripts/fuzz-campaign.sh $CASES '$SEEDS' $OUT '$BASES'"
} >>"$OUT"
for base in $BASES; do
	for seed in $SEEDS; do
		run=$(mktemp -d)
		start=$(date +%s)
		rc=0
		.venv/bin/mip6kit -q boot --base "$base" --profile debug --timeout 7200 \
			--run-dir "$run" -- env MIP6KIT_FUZZ_CASES="$CASES" \
			MIP6KIT_FUZZ_SEED="$seed" "$PY" -m mip6kit.verifier.guest -k test_fuzz \
			>"$run/ktap.txt" 2>"$run/stderr.txt" || rc=$?
		leaks=0
		"$PY" -m mip6kit.leaks "$run/ktap.txt" "$run/boot/console.log" \
			>"$run/leaks.txt" || leaks=$?
		splat=0
		"$PY" -m mip6kit.verifier.splat "$run/boot/console.log" >"$run/splat.txt" || splat=$?
		case $splat in 0) console=clean ;; 1) console=splat ;; *) console="not read" ;; esac
		{
			echo "base $base seed $seed: exit $rc, $(($(date +%s) - start)) s," \
				"console $console"
			head -n 25 "$run/splat.txt" | sed 's/^/  /'
			head -n 40 "$run/leaks.txt" | sed 's/^/  /'
			grep -E "^# (xfrm )?fuzz seed|^(not )?ok |^# [0-9]+ failures" "$run/ktap.txt" |
				sed 's/^/  /'
			grep -E "^mip6kit:" "$run/stderr.txt" | sed 's/^/  /' || true
		} >>"$OUT"
		[ "$rc" = 0 ] && [ "$splat" = 0 ] && [ "$leaks" = 0 ] || status=1
	done
done
tail -n 40 "$OUT"
exit $status

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The leak check at work: the 6.12 series on the debug profile (kmemleak,
# netdev and netns refcount trackers), the verifier's tests selected by -k
# EXPR, then the guest's kmemleak scans (verifier/debugfs.py) read back by
# vm/leaks.py.  Twice: the series as it is, which must scan clean, and the
# series plus a planted leak (scripts/leak-demo/*.patch, a destructor that
# no longer frees XFRMA_HOADDR's copy), which must be caught and dated to
# the test that added the state.  Exit 0 when both hold.  The two share
# the debug build dir: the second build recompiles one file.
#
#   scripts/leak-demo.sh [EXPR] [OUT]    (about 25 min cold, 6 warm)
set -euo pipefail
cd "$(dirname "$0")/.."

EXPR=${1:-test_xfrm_hoaddr}
OUT=${2:-scripts/leak-demo-results.txt}
PY=$PWD/.venv/bin/python
series=$(mktemp -d)
trap 'rm -rf "$series"' EXIT
cp -r patches/6.12/. "$series/"
mkdir "$series/planted"
for p in scripts/leak-demo/*.patch; do
	cp "$p" "$series/planted/"
	echo "planted/$(basename "$p")" >>"$series/series"
done

{
	echo "# leak demo $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, TCG"
	echo "# scripts/leak-demo.sh '$EXPR' $OUT"
} >>"$OUT"
status=0
for what in clean planted; do
	run=$(mktemp -d)
	opts=(--base 6.12)
	[ "$what" = planted ] && opts+=(--series "$series")
	start=$(date +%s)
	rc=0
	.venv/bin/mip6kit -q boot "${opts[@]}" --profile debug --timeout 5400 --run-dir "$run" \
		-- "$PY" -m mip6kit.verifier.guest --test-timeout=600 -k "$EXPR" \
		>"$run/ktap.txt" 2>"$run/stderr.txt" || rc=$?
	lrc=0
	"$PY" -m mip6kit.leaks "$run/ktap.txt" "$run/boot/console.log" >"$run/leaks.txt" || lrc=$?
	{
		echo "$what: guest exit $rc, $(($(date +%s) - start)) s," \
			"$(grep -cE '^ok ' "$run/ktap.txt" || true) tests ok," \
			"$(grep -cE '^not ok ' "$run/ktap.txt" || true) not ok, run dir $run"
		head -n 60 "$run/leaks.txt" | sed 's/^/  /'
		grep -E "^mip6kit:" "$run/stderr.txt" | sed 's/^/  /' || true
	} >>"$OUT"
	if [ "$what" = clean ]; then
		[ "$rc" = 0 ] && [ "$lrc" = 0 ] || status=1
	else
		[ "$lrc" = 1 ] && grep -q "kmemleak, allocated during" "$run/leaks.txt" || status=1
	fi
done
echo "leak demo: $([ $status = 0 ] && echo 'clean run clean, planted leak caught' ||
	echo 'FAILED')" >>"$OUT"
tail -n 80 "$OUT"
exit $status

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The failed-MIGRATE-clone fix at work (the stable backport "xfrm: make state
# as DEAD before final put when migrate fails"): verifier/test_xfrm_faults.py
# makes each allocation of a NEWSA and of a MIGRATE fail in turn
# (/proc/thread-self/fail-nth, FAILSLAB), which only the coverage and debug
# profiles have.  Without the patch, a failed clone warns in
# __xfrm_state_destroy() and the guest's console shows the WARNING (exit 6);
# with it, both sweeps pass (exit 0).  The matrix cannot show this: a
# splat on the baseline's console stops that guest.  Output appended to OUT.
#
#   scripts/fault-demo.sh [BASE [OUT]]     (one coverage build, two boots)
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${1:-6.12}
OUT=${2:-scripts/fault-demo-results.txt}
PATCH=xfrm-make-state-as-dead-before-final-put-when-migrate-fails
PY=$PWD/.venv/bin/python
without=$(mktemp -d)
trap 'rm -rf "$without"' EXIT
cp -r "patches/$BASE/." "$without/"
grep -v "$PATCH" "patches/$BASE/series" >"$without/series"

{
	echo "# fault demo $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, TCG"
	echo "# scripts/fault-demo.sh $BASE $OUT"
} >>"$OUT"
status=0
for what in without-the-patch with-the-patch; do
	run=$(mktemp -d)
	opts=(--base "$BASE")
	[ "$what" = without-the-patch ] && opts+=(--series "$without")
	rc=0
	.venv/bin/mip6kit -q boot "${opts[@]}" --profile coverage --timeout 1800 \
		--run-dir "$run" -- "$PY" -m mip6kit.verifier.guest --test-timeout=600 \
		-k test_xfrm_faults >"$run/ktap.txt" 2>"$run/stderr.txt" || rc=$?
	{
		echo "$what: exit $rc, run dir $run"
		grep -E "^(ok|not ok) |^# (NEWSA|MIGRATE):" "$run/ktap.txt" | sed 's/^/  /' || true
		grep -m1 -E "WARNING: CPU" "$run/boot/console.log" | sed 's/^/  console: /' || true
	} >>"$OUT"
	case $what in
	without-the-patch) [ "$rc" = 6 ] || status=1 ;;
	with-the-patch) [ "$rc" = 0 ] || status=1 ;;
	esac
done
echo "fault demo: $([ $status = 0 ] && echo 'the WARNING without the patch, clean with it' ||
	echo 'FAILED')" >>"$OUT"
tail -n 30 "$OUT"
exit $status

# SPDX-License-Identifier: GPL-2.0-only
# Sourced by the campaign scripts that append to a checked-in results file.

# campaign_begin TITLE OUT COMMAND...: OUT gets the campaign's header: what,
# when, on what, at which commit, and the command that reproduces it.
campaign_begin() {
	local title=$1 out=$2
	shift 2
	{
		echo "# $title $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, TCG, $(git rev-parse --short HEAD)"
		echo "# $*"
	} >>"$out"
}

# campaign_run BASE ARGS...: `mip6kit run --base BASE ARGS...` into a new
# run dir, its stdout and stderr kept there; sets run (the dir), rc (its
# exit code) and took (seconds).
campaign_run() {
	local base=$1 start
	shift
	run=$(mktemp -d)
	start=$(date +%s)
	rc=0
	.venv/bin/mip6kit run --base "$base" --run-dir "$run" "$@" \
		>"$run/stdout.txt" 2>"$run/stderr.txt" || rc=$?
	took=$(($(date +%s) - start))
}

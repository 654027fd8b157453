#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole test suite: lint, the baseline-versus-patched matrix on both
# bases (real kernels under virtme-ng), a smoke of the upstream selftests,
# netdev's build-free per-patch checks,
# a coverage smoke, then the host tests (unit tests and the real-guest
# boot tests).  Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check .
.venv/bin/mip6kit run --base 6.12
.venv/bin/mip6kit run --base 6.1
# upstream selftests smoke on the lean kernels just built (no extra build);
# the full set is `mip6kit selftests` (selftests profile), see the README
.venv/bin/mip6kit selftests --base 6.12 --smoke --profile lean --repeat 1
# netdev's per-patch checks that need no build (README, Upstream checks);
# the object builds on x86_64/i386/clang and sparse are the campaign
# `mip6kit series check` (scripts/series-check-results.txt)
.venv/bin/mip6kit series check --base 6.12 --static-only \
	--checks kdoc,shellcheck,checkpatch,signedoff,fixes,maintainers
# coverage smoke: the coverage kernel of 6.12 (one more build), the part of
# the verifier below, and every line of the series that the checked-in
# report of that part executed must run again (README, Coverage)
.venv/bin/mip6kit coverage --base 6.12 -k "$(cat scripts/coverage-smoke.k)" \
	--compare scripts/coverage-smoke-6.12.json
.venv/bin/pytest -v vm/tests

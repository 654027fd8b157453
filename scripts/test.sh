#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The whole test suite: lint, the baseline-versus-patched matrix on both
# bases (real kernels under virtme-ng), then the host tests (unit tests and
# the real-guest boot tests).  Run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/ruff check .
.venv/bin/mip6kit run --base 6.12
.venv/bin/mip6kit run --base 6.1
.venv/bin/pytest -v vm/tests

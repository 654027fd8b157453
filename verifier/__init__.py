# SPDX-License-Identifier: GPL-2.0-only
"""In-guest verifier: pytest suites that check MIP6 behaviour of the running kernel."""

# SPDX-License-Identifier: GPL-2.0-only
"""Host side of mip6kit: kernel trees, config, build, boot and results."""

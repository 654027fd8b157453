# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit: build, boot and verify Linux kernels for Mobile IPv6 fixes."""

from pathlib import Path

__version__ = "0.1.0"


def project_root() -> Path:
    """The checkout that holds patches/ and kernel-src-overlay/.

    mip6kit is installed in editable mode from a checkout (see README), so the
    package directory (scripts/) sits directly under the project root.
    """
    return Path(__file__).resolve().parent.parent

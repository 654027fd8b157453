# SPDX-License-Identifier: GPL-2.0-only
"""mip6kit: build, boot and verify Linux kernels for Mobile IPv6 fixes.

The host side (this package, vm/ in the checkout) builds and boots kernels;
mip6kit.verifier (verifier/) runs inside the guest.  Importing this package
must stay cheap and stdlib-only: the guest imports it on the way to the
verifier."""

__version__ = "0.1.0"

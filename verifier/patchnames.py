# SPDX-License-Identifier: GPL-2.0-only
"""The series' patches, by the names the tests' @pytest.mark.patch markers
use: a patch file's name without its number and .patch (vm/series.py's
slug()).  The one place these names are written; a host test
(vm/tests/test_patchnames.py) checks that each is a patch of some series."""

RAW = "ipv6-raw-use-the-home-address-for-the-checksum"
UDP = "ipv6-udp-use-the-home-address-for-the-checksum"
EGRESS = "ipv6-make-the-oif-strict-for-packets-with-a-home-address-option"
HOA = "xfrm-add-a-home-address-to-route-optimization-states"
MIGRATE_MARK = "xfrm-migrate-select-the-policy-and-states-by-mark"
COMPAT_ALIGN = "xfrm-compat-start-each-translated-attribute-on-a-4-byte-boundary"
RULE4_MODULE = "ipv6-addrconf-prefer-the-home-address-when-mip6-is-a-module"
XFRMI_RO = "xfrm-interface-leave-route-optimization-states-to-the-final-policy-check"
# 6.12 only: fixes of regressions that 6.1 does not have
MH_TYPE = "xfrm-policy-decode-the-mobility-header-type-on-input"
MIGRATE_TYPE = "xfrm-migrate-find-type-selective-policies"

ALL = (RAW, UDP, EGRESS, HOA, MIGRATE_MARK, COMPAT_ALIGN, RULE4_MODULE, XFRMI_RO,
       MH_TYPE, MIGRATE_TYPE)

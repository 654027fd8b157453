#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A home agent lets Binding Updates that carry a Home Address option in
# with an inbound XFRM policy that selects the Mobility Header type, as
# UMIP's mip6d installs it ("proto 135 type 5 ... tmpl proto hao mode ro").
# Since the xfrm session decode moved to the flow dissector (Linux 6.7),
# fl6_mh_type is 0 on input, the selector never matches and the BU is
# dropped with XfrmInNoPols.  The mobile node here sends the BU from its
# home address through an XFRM HAO state (mip6_destopt_output), so the
# checksum is right on every kernel and only the inbound selector is
# tested.  A BRR (type 0) must still be refused.
#
# Only iproute2 and python3's stdlib.  Exit codes (kselftest): 0 pass,
# 1 fail, 4 skip.

. "$(dirname "$0")/lib.sh"
mip6_require
mip6_topology
set -e
ip -n "$MN" xfrm state add src $HOA dst $HA_ADDR proto hao spi 0 mode ro coa $COA
ip -n "$MN" xfrm policy add dir out src $HOA/128 dst $HA_ADDR/128 proto 135 \
	tmpl src $HOA dst $HA_ADDR proto hao mode ro level use
ip -n "$HA" xfrm policy add dir in src ::/0 dst ::/0 proto 135 type 5 \
	tmpl proto hao mode ro level use
set +e

# Send one MH message of type $1 from the MN; print the sender the HA's
# MH socket saw, or "dropped".
exchange() {
	ip netns exec "$HA" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
s.settimeout(3)
print("ready", flush=True)
try:
    while True:
        data, peer = s.recvfrom(2048)
        if len(data) > 2 and data[2] == int(sys.argv[1]):
            print(peer[0])
            break
except TimeoutError:
    print("dropped")
' "$1" > /tmp/xfrm_mh_type.$$ &
	rx=$!
	while ! grep -q ready /tmp/xfrm_mh_type.$$ 2>/dev/null; do sleep 0.1; done
	ip netns exec "$MN" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
# MH: payload proto 59, length 2 (24 bytes), type, checksum 0 (kernel).
s.sendto(bytes([59, 2, int(sys.argv[1]), 0, 0, 0]) + bytes(18), (sys.argv[2], 0))
' "$1" "$HA_ADDR"
	wait $rx
	tail -n 1 /tmp/xfrm_mh_type.$$
	rm -f /tmp/xfrm_mh_type.$$
}

nopols() {
	ip netns exec "$HA" awk '$1 == "XfrmInNoPols" { print $2 }' /proc/net/xfrm_stat
}

ret=0
before=$(nopols)
got=$(exchange 5)
if [ "$got" = "$HOA" ]; then
	echo "PASS: BU (type 5) accepted by the type 5 policy"
else
	echo "FAIL: BU (type 5) $got; XfrmInNoPols $before -> $(nopols)"
	ret=1
fi
got=$(exchange 0)
if [ "$got" = "dropped" ]; then
	echo "PASS: BRR (type 0) refused by the type 5 policy"
else
	echo "FAIL: BRR (type 0) accepted from $got by a type 5 policy"
	ret=1
fi
exit $ret

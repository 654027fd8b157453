#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A mobile node sends a Binding Update from its care-of address with the
# Home Address option passed as IPV6_DSTOPTS ancillary data.  A home agent
# set up here with plain `ip xfrm` (wildrecv HAO state, inbound "proto hao
# mode ro" policy) must receive it on an IPPROTO_MH raw socket from the
# home address: its kernel verifies the MH checksum over the HoA
# (RFC 6275 sections 6.1.1 and 6.3).
#
# Independent of the mip6kit verifier: only iproute2 and python3's stdlib.
# Exit codes (kselftest): 0 pass, 1 fail, 4 skip.

. "$(dirname "$0")/lib.sh"
mip6_require
mip6_topology
ip -n "$HA" xfrm policy add dir in src ::/0 dst ::/0 proto 135 \
	tmpl proto hao mode ro level use || exit 1

# The home agent: print the sender of the first Binding Update (MH type 5).
ip netns exec "$HA" python3 - "$HOA" > /tmp/hao_bu.$$ <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
s.settimeout(5)
try:
    while True:
        data, peer = s.recvfrom(2048)
        if len(data) > 2 and data[2] == 5:
            print(peer[0])
            break
except TimeoutError:
    print("timeout")
PY
rx=$!
sleep 1

# The mobile node: BU from the CoA on m0, HAO(HoA) as IPV6_DSTOPTS cmsg.
ip netns exec "$MN" python3 - "$COA" "$HOA" "$HA_ADDR" <<'PY'
import socket, struct, sys
coa, hoa, ha = sys.argv[1:4]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, 135)
# MH: proto 59, len 1 (16 bytes), type 5 BU, csum 0 (kernel fills it),
# seq 1, flags A|H, lifetime 10, PadN(2) to 8n.
bu = struct.pack("!BBBBHHHH", 59, 1, 5, 0, 0, 1, 0xC000, 10) + b"\x01\x02\x00\x00"
# Destination options: PadN(2), HAO (type 201, len 16) at 8n+6, PadN(2).
opts = bytes([0, 2, 1, 0, 201, 16]) + socket.inet_pton(socket.AF_INET6, hoa) + b"\x01\x00"
pktinfo = socket.inet_pton(socket.AF_INET6, coa) + struct.pack("@I", socket.if_nametoindex("m0"))
s.sendmsg([bu], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo),
                 (socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, opts)], 0, (ha, 0))
PY
wait $rx
got=$(cat /tmp/hao_bu.$$)
rm -f /tmp/hao_bu.$$
if [ "$got" = "$HOA" ]; then
	echo "PASS: the HA accepted the BU from the home address $HOA"
	exit 0
fi
echo "FAIL: the HA did not accept the CoA-sourced BU with a cmsg HAO ($got)"
exit 1

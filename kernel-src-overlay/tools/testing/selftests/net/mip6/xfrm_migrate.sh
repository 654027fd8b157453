#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A home agent with IPsec-protected signalling (RFC 3776, RFC 4877) moves
# the SA and policy of a mobile node's Binding Updates to the new care-of
# address with XFRM_MSG_MIGRATE.  Its policy selects the Mobility Header
# type, as UMIP's mip6d installs it ("proto 135 type 5").  Since Linux 6.12
# MIGRATE looks the policy up through a flow built from the selector, with
# the ports where an MH or ICMP type is not read, so such a policy is never
# found (ENOENT).  A UDP port policy is the control that works everywhere.
#
# Only iproute2 and python3's stdlib (iproute2 cannot send MIGRATE).
# Exit codes (kselftest): 0 pass, 1 fail, 4 skip.

. "$(dirname "$0")/lib.sh"
mip6_require
mip6_topology
NEW_COA=2001:db8:b::10
ENC="enc cbc(aes) 0x01010101010101010101010101010101"
AUTH="auth hmac(sha256) 0x0202020202020202020202020202020202020202020202020202020202020202"

# MIGRATE the inbound policy HoA -> HA with this upper protocol and
# selector source port ($1 $2) and its ESP SA from $COA to $NEW_COA; print
# the kernel's answer (0 or an errno name).
migrate() {
	ip netns exec "$HA" python3 -c '
import errno, socket, struct, sys
proto, sport = int(sys.argv[1]), int(sys.argv[2])
a = lambda s: socket.inet_pton(socket.AF_INET6, s)
hoa, ha, coa, new = (a(x) for x in sys.argv[3:7])
# struct xfrm_selector, then index and dir (struct xfrm_userpolicy_id)
sel = ha + hoa + struct.pack("!HHHH", 0, 0, sport, 0xffff)
sel += struct.pack("=HBBB3xiI", socket.AF_INET6, 128, 128, proto, 0, 0)
body = sel + struct.pack("=IB3x", 0, 0)  # index 0, XFRM_POLICY_IN
# struct xfrm_user_migrate: ESP, transport, reqid 0, both families IPv6
mig = ha + coa + ha + new + struct.pack("=BBHIHH", 50, 0, 0, 0, socket.AF_INET6,
                                        socket.AF_INET6)
attr = struct.pack("=HH", 4 + len(mig), 17) + mig  # XFRMA_MIGRATE
msg = body + attr
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 6)  # NETLINK_XFRM
s.settimeout(5)
s.send(struct.pack("=IHHII", 16 + len(msg), 33, 5, 1, 0) + msg)  # MIGRATE, REQUEST|ACK
code = -struct.unpack_from("=i", s.recv(4096), 16)[0]
print(errno.errorcode.get(code, code) if code else 0)
' "$1" "$2" "$HOA" "$HA_ADDR" "$COA" "$NEW_COA"
}

ret=0
for case in "135 5 MH type 5 (BU)" "58 128 ICMPv6 type 128" "17 7003 UDP port 7003 (control)"; do
	set -- $case
	proto=$1
	sport=$2
	shift 2
	ip -n "$HA" xfrm state flush
	ip -n "$HA" xfrm policy flush
	ip -n "$HA" xfrm state add src $COA dst $HA_ADDR proto esp spi 0x3776 \
		mode transport $ENC $AUTH || { echo "SKIP: no ESP"; exit $ksft_skip; }
	if [ "$proto" = 17 ]; then
		sel="proto 17 sport $sport"
	else
		sel="proto $proto type $sport"
	fi
	ip -n "$HA" xfrm policy add dir in src $HOA/128 dst $HA_ADDR/128 $sel \
		tmpl proto esp mode transport
	got=$(migrate "$proto" "$sport")
	src=$(ip -n "$HA" xfrm state list | awk '$1 == "src" { print $2 }')
	if [ "$got" = 0 ] && [ "$src" = "$NEW_COA" ]; then
		echo "PASS: MIGRATE of the $* policy moved its SA to $src"
	else
		echo "FAIL: MIGRATE of the $* policy: $got, SA from $src"
		ret=1
	fi
done
exit $ret

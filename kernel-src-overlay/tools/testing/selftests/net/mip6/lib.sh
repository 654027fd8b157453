# SPDX-License-Identifier: GPL-2.0
#
# Shared by the mip6 selftests: a mobile node and a home agent in two
# network namespaces joined by veth, with the addresses of RFC 3849.
#
#   netns MN                                   netns HA
#   lo  HoA 2001:db8:1::10/128 (home, nodad)   lo  HA  2001:db8:1::1/128
#   m0  CoA 2001:db8:a::10/64  <--- veth --->  h0      2001:db8:a::1/64
#
# Sourcing scripts call mip6_require, then mip6_topology; cleanup runs on
# exit.  Only iproute2 and python3's stdlib are needed.

ksft_skip=4
MN=mn-$$
HA=ha-$$
HOA=2001:db8:1::10
COA=2001:db8:a::10
HA_LINK=2001:db8:a::1
HA_ADDR=2001:db8:1::1

mip6_cleanup() {
	ip netns del "$MN" 2>/dev/null
	ip netns del "$HA" 2>/dev/null
}

mip6_require() {
	if ! ip xfrm state help 2>&1 | grep -q hao; then
		echo "SKIP: ip xfrm without HAO support"
		exit $ksft_skip
	fi
	command -v python3 >/dev/null || { echo "SKIP: python3 missing"; exit $ksft_skip; }
}

# The two namespaces, their link, addresses and routes; the HA gets the
# wildrecv HAO state that accepts a HAO from any mobile node.
mip6_topology() {
	trap mip6_cleanup EXIT
	set -e
	ip netns add "$MN"
	ip netns add "$HA"
	ip -n "$MN" link set lo up
	ip -n "$HA" link set lo up
	ip link add m0 netns "$MN" type veth peer name h0 netns "$HA"
	ip -n "$MN" link set m0 up
	ip -n "$HA" link set h0 up
	ip -n "$MN" addr add $HOA/128 dev lo nodad home
	ip -n "$MN" addr add $COA/64 dev m0 nodad
	ip -n "$HA" addr add $HA_LINK/64 dev h0 nodad
	ip -n "$HA" addr add $HA_ADDR/128 dev lo nodad
	ip -n "$MN" route add 2001:db8:1::/64 via $HA_LINK dev m0
	ip -n "$HA" route add $HOA/128 via $COA dev h0
	ip -n "$HA" xfrm state add src :: dst :: proto hao spi 0 mode ro coa :: \
		flag wildrecv
	set +e
}

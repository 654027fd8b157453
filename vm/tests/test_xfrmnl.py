# SPDX-License-Identifier: GPL-2.0-only
"""verifier/xfrmnl.py against the C layout and against iproute2.

The golden tests run `ip xfrm` under strace in a fresh netns (the host's own
XFRM tables stay untouched; whether the kernel accepts the request does not
matter) and compare the message it sends with what xfrmnl encodes for the
same state or policy: a wrong struct layout or attribute number fails them.
The live tests use a netns of their own on the host kernel.
"""

import errno
import os
import shutil
import socket
import struct
import subprocess

import pytest

from mip6kit.verifier import xfrmnl as x
from mip6kit.verifier.netns import Namespace, unique_name

COA, HA, HOA = "2001:db8:a::10", "2001:db8:1::1", "2001:db8:1::10"

# sizeof() on x86_64, from gcc and include/uapi/linux/xfrm.h of Linux 6.12
SIZES = [(x.xfrm_selector, 56), (x.xfrm_id, 24), (x.xfrm_lifetime_cfg, 64),
         (x.xfrm_lifetime_cur, 32), (x.xfrm_stats, 12), (x.xfrm_user_tmpl, 64),
         (x.xfrm_user_migrate, 76), (x.xfrm_mark, 8)]
BODY_SIZES = [(x.xfrm_usersa_info, 224), (x.xfrm_usersa_id, 24),
              (x.xfrm_userpolicy_info, 168), (x.xfrm_userpolicy_id, 64)]


def _ip(addr: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6, addr)


def _attrs(data: bytes, body: int) -> list[tuple[int, bytes]]:
    """(type, payload) of the attributes after a body of that size, read
    without pyroute2."""
    out, offset = [], 16 + body
    while offset < len(data):
        length, attr_type = struct.unpack_from("=HH", data, offset)
        out.append((attr_type, bytes(data[offset + 4:offset + length])))
        offset += (length + 3) & ~3
    return out


def _rows(data: bytes) -> list[str]:
    """16 bytes a row, so that a failing comparison points at the offset;
    the header's sequence number and port id are blanked (they differ)."""
    data = bytes(data[:8]) + bytes(8) + bytes(data[16:])
    return [f"{i:04x}: {data[i:i + 16].hex(' ')}" for i in range(0, len(data), 16)]


def iproute2_sends(tmp_path, *args: str) -> bytes:
    """The netlink message `ip xfrm ARGS` sends, from strace's hex dump."""
    if shutil.which("strace") is None:
        pytest.fail("strace is missing: apt-get install strace")
    out = tmp_path / "strace.txt"
    res = subprocess.run(["unshare", "-n", "strace", "-qq", "-f", "-e", "trace=sendmsg",
                          "-e", "write=all", "-o", str(out), "ip", "xfrm", *args],
                         capture_output=True, text=True, timeout=60)
    # " | 00000  08 01 00 00 13 00 05 00  75 4b 0b 6b 00 00 00 00  ........uK.k.... |"
    data = b"".join(bytes.fromhex(line[10:58]) for line in out.read_text().splitlines()
                    if line.startswith(" | "))
    assert len(data) >= 16 and struct.unpack_from("=I", data)[0] == len(data), \
        f"not one netlink message from ip xfrm {' '.join(args)}: {res.stderr}"
    return data


GOLDEN = [
    pytest.param(
        "state add src 2001:db8:a::10 dst 2001:db8:1::1 proto hao spi 0 mode ro "
        "coa 2001:db8:a::10",
        lambda: x.encode_sa(COA, HA, proto=x.IPPROTO_DSTOPTS,
                             mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr=COA),
        id="hao-state"),
    pytest.param(
        "state add src 2001:db8:a::10 dst 2001:db8:1::1 proto hao spi 0 mode ro "
        "coa 2001:db8:a::10 mark 7 reqid 3",
        lambda: x.encode_sa(COA, HA, proto=x.IPPROTO_DSTOPTS,
                             mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr=COA, mark=7, reqid=3),
        id="hao-state-mark-reqid"),
    pytest.param(
        "state update src 2001:db8:a::10 dst 2001:db8:1::1 proto hao spi 0 mode ro "
        "coa 2001:db8:a::10",
        lambda: x.encode_sa(COA, HA, proto=x.IPPROTO_DSTOPTS,
                             mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr=COA, update=True),
        id="hao-state-update"),
    pytest.param(
        "state add src :: dst :: proto route2 spi 0 mode ro coa :: flag wildrecv",
        lambda: x.encode_sa("::", "::", proto=x.IPPROTO_ROUTING,
                             mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr="::",
                             flags=x.XFRM_STATE_WILDRECV),
        id="rh2-wildrecv-state"),
    pytest.param(
        "state delete dst 2001:db8:1::1 proto hao spi 0",
        lambda: x.encode_sa_id(x.XFRM_MSG_DELSA, HA, x.IPPROTO_DSTOPTS, 0),
        id="delete-state"),
    pytest.param(
        "policy add dir out src 2001:db8:1::10/128 dst 2001:db8:1::1/128 proto 135 type 5 "
        "tmpl src 2001:db8:1::10 dst 2001:db8:1::1 proto hao mode ro level use",
        lambda: x.encode_policy(x.XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128",
                                 upper_proto=x.IPPROTO_MH, mh_type=5,
                                 tmpls=[x.Tmpl(x.IPPROTO_DSTOPTS, x.XFRM_MODE_ROUTEOPTIMIZATION,
                                               HOA, HA, level="use")]),
        id="bu-policy"),
    pytest.param(
        "policy add dir out src 2001:db8:1::10/128 dst 2001:db8:1::1/128 proto 135 type 5 "
        "tmpl src 2001:db8:1::10 dst 2001:db8:1::1 proto hao mode ro level use mark 7",
        lambda: x.encode_policy(x.XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128",
                                 upper_proto=x.IPPROTO_MH, mh_type=5, mark=7,
                                 tmpls=[x.Tmpl(x.IPPROTO_DSTOPTS, x.XFRM_MODE_ROUTEOPTIMIZATION,
                                               HOA, HA, level="use")]),
        id="bu-policy-mark"),
    pytest.param(
        "policy add dir in src ::/0 dst ::/0 proto 135 type 5 tmpl proto hao mode ro level use",
        lambda: x.encode_policy(x.XFRM_POLICY_IN, "::/0", "::/0", upper_proto=x.IPPROTO_MH,
                                 mh_type=5,
                                 tmpls=[x.Tmpl(x.IPPROTO_DSTOPTS, x.XFRM_MODE_ROUTEOPTIMIZATION,
                                               level="use")]),
        id="accept-ro-policy"),
    pytest.param(
        "policy update dir out src 2001:db8:1::10/128 dst 2001:db8:1::1/128 "
        "tmpl proto esp mode transport priority 9",
        lambda: x.encode_policy(x.XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128", priority=9,
                                 update=True,
                                 tmpls=[x.Tmpl(socket.IPPROTO_ESP, x.XFRM_MODE_TRANSPORT)]),
        id="policy-update"),
    pytest.param(
        "policy delete dir out src 2001:db8:1::10/128 dst 2001:db8:1::1/128 proto 135 type 5 "
        "mark 7",
        lambda: x.encode_policy_id(x.XFRM_MSG_DELPOLICY, x.XFRM_POLICY_OUT, f"{HOA}/128",
                                    f"{HA}/128", upper_proto=x.IPPROTO_MH, mh_type=5, mark=7),
        id="delete-policy"),
    pytest.param("state flush", x.encode_flush_sa, id="flush-states"),
    pytest.param("policy flush", x.encode_flush_policy, id="flush-policies"),
]


@pytest.mark.parametrize("command, ours", GOLDEN)
def test_same_bytes_as_iproute2(tmp_path, command, ours):
    assert _rows(ours()) == _rows(iproute2_sends(tmp_path, *command.split()))


@pytest.mark.parametrize("cls, size", SIZES)
def test_struct_sizes(cls, size):
    assert cls.size() == size


@pytest.mark.parametrize("cls, size", BODY_SIZES)
def test_message_body_sizes(cls, size):
    msg = cls()
    msg["header"] = {"type": x.XFRM_MSG_NEWSA}
    msg.update({name: b"" for name, fmt in cls.fields if fmt == x.xfrm_address_t})
    msg.encode()
    assert len(msg.data) == 16 + size


def test_hoaddr_is_attribute_42_of_16_bytes():
    data = x.encode_sa(COA, HA, proto=x.IPPROTO_DSTOPTS, mode=x.XFRM_MODE_ROUTEOPTIMIZATION,
                        coaddr=COA, hoaddr=HOA)
    assert _attrs(data, 224) == [(14, _ip(COA)), (42, _ip(HOA))]


def test_extra_attrs_go_out_as_given():
    """A 15-byte HOADDR, as a test of the kernel's length check sends it."""
    data = x.encode_sa(COA, HA, proto=x.IPPROTO_DSTOPTS, mode=x.XFRM_MODE_ROUTEOPTIMIZATION,
                        coaddr=COA, extra_attrs=[(x.XFRMA_HOADDR, _ip(HOA)[:15])])
    assert _attrs(data, 224) == [(14, _ip(COA)), (42, _ip(HOA)[:15])]
    assert struct.unpack_from("=I", data)[0] == len(data) == 16 + 224 + 20 + 20


def test_newsa_round_trip():
    data = x.encode_sa(HOA, HA, proto=x.IPPROTO_DSTOPTS, spi=0x1234,
                        mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr=COA, hoaddr="2001:db8:2::10",
                        reqid=3, sa_dir=x.XFRM_SA_DIR_OUT, mark=7)
    assert x.parse_sa(data) == {
        "type": x.XFRM_MSG_NEWSA, "family": socket.AF_INET6, "src": HOA, "dst": HA,
        "proto": x.IPPROTO_DSTOPTS, "spi": 0x1234, "mode": x.XFRM_MODE_ROUTEOPTIMIZATION,
        "flags": 0, "reqid": 3, "coaddr": COA, "hoaddr": "2001:db8:2::10",
        "sa_dir": x.XFRM_SA_DIR_OUT, "mark": (7, 0xFFFF_FFFF)}
    assert x.parse_sa(x.encode_sa(HOA, HA, proto=x.IPPROTO_ROUTING, mode=2))["hoaddr"] is None


def test_delsa_notification_carries_the_state_in_xfrma_sa():
    """As xfrm_notify_sa() builds it: xfrm_usersa_id, XFRMA_SA, then the
    state's other attributes."""
    state = x.decode_message(x.xfrm_usersa_info, x.encode_sa(
        COA, HA, proto=x.IPPROTO_DSTOPTS, mode=x.XFRM_MODE_ROUTEOPTIMIZATION))
    info = {k: state[k] for k, _ in x.xfrm_usersa_info.fields if not k.startswith("_")}
    data = x.build_message(x.xfrm_usersa_id, x.XFRM_MSG_DELSA, 0,
                      {"daddr": _ip(HA), "family": socket.AF_INET6, "proto": x.IPPROTO_DSTOPTS},
                      [("XFRMA_SA", info), ("XFRMA_COADDR", _ip(COA)), ("XFRMA_HOADDR", _ip(HOA))])
    got = x.parse_sa(data)
    assert (got["type"], got["src"], got["dst"], got["proto"], got["coaddr"], got["hoaddr"]) == \
        (x.XFRM_MSG_DELSA, COA, HA, x.IPPROTO_DSTOPTS, COA, HOA)


def test_addresses_keep_their_own_family():
    """An IPv4 state with an IPv6 HoA, as a test of the kernel's family
    check sends it."""
    data = x.encode_sa("192.0.2.10", "192.0.2.1", proto=x.IPPROTO_DSTOPTS,
                       mode=x.XFRM_MODE_ROUTEOPTIMIZATION, coaddr="192.0.2.10", hoaddr=HOA)
    state = x.decode_message(x.xfrm_usersa_info, data)
    assert (state["family"], state["saddr"]) == (socket.AF_INET, bytes([192, 0, 2, 10, *[0] * 12]))
    assert _attrs(data, 224)[1] == (42, _ip(HOA))


def test_migrate_layout():
    move = dict(old_src=COA, old_dst=HA, new_src="2001:db8:b::10", new_dst=HA,
                proto=socket.IPPROTO_ESP, mode=x.XFRM_MODE_TUNNEL, reqid=4)
    data = x.encode_migrate(f"{HOA}/128", f"{HA}/128", x.XFRM_POLICY_OUT, [move])
    assert data == x.encode_migrate(f"{HOA}/128", f"{HA}/128", x.XFRM_POLICY_OUT,
                                    [x.Migration(**move)])
    assert struct.unpack_from("=H", data, 4)[0] == x.XFRM_MSG_MIGRATE
    [(attr_type, payload)] = _attrs(data, 64)
    assert attr_type == 17
    assert payload == (_ip(HA) + _ip(COA) + _ip(HA) + _ip("2001:db8:b::10")
                       + struct.pack("=BBHIHH", 50, 1, 0, 4, 10, 10))


@pytest.fixture
def netns():
    ns = Namespace(unique_name("xfrmnl"))
    yield ns.name
    ns.remove()


def test_policy_add_dump_delete(netns):
    tmpl = x.Tmpl(x.IPPROTO_DSTOPTS, x.XFRM_MODE_ROUTEOPTIMIZATION, HOA, HA, level="use")
    sel = (x.XFRM_POLICY_OUT, f"{HOA}/128", f"{HA}/128")
    with x.Xfrm(netns) as xfrm:
        xfrm.add_policy(*sel, upper_proto=x.IPPROTO_MH, mh_type=5, tmpls=[tmpl], mark=7)
        [pol] = xfrm.dump_policy()
        assert (pol["dir"], pol["src"], pol["dst"], pol["upper_proto"], pol["mh_type"],
                pol["tmpls"], pol["mark"]) == (*sel, x.IPPROTO_MH, 5, [tmpl], (7, 0xFFFF_FFFF))
        with pytest.raises(x.XfrmError) as e:
            xfrm.add_policy(*sel, upper_proto=x.IPPROTO_MH, mh_type=5, tmpls=[tmpl], mark=7)
        assert e.value.errno == errno.EEXIST
        xfrm.add_policy(*sel, upper_proto=x.IPPROTO_MH, mh_type=5, tmpls=[tmpl], mark=7,
                        priority=5, update=True)
        assert [p["priority"] for p in xfrm.dump_policy()] == [5]
        xfrm.delete_policy(*sel, upper_proto=x.IPPROTO_MH, mh_type=5, mark=7)
        assert xfrm.dump_policy() == []
        with pytest.raises(x.XfrmError) as e:
            xfrm.delete_policy(*sel, upper_proto=x.IPPROTO_MH, mh_type=5, mark=7)
        assert e.value.errno == errno.ENOENT


def test_error_carries_extack_text(netns):
    with x.Xfrm(netns) as xfrm, pytest.raises(x.XfrmError) as e:
        xfrm.add_policy(x.XFRM_POLICY_OUT, "::/0", "::/0",
                        tmpls=[x.Tmpl(socket.IPPROTO_ESP, mode=99)])
    assert e.value.errno == errno.EINVAL
    assert e.value.message.startswith("Mode in template must be < XFRM_MODE_MAX")
    assert str(e.value) == f"[Errno 22] Invalid argument: {e.value.message}"


def test_migrate_moves_tunnel_template(netns):
    """The kernel migrates the policy's tunnel template even with no state."""
    new_coa = "2001:db8:b::10"
    with x.Xfrm(netns) as xfrm:
        xfrm.add_policy(x.XFRM_POLICY_OUT, f"{HOA}/128", "::/0", tmpls=[
            x.Tmpl(socket.IPPROTO_ESP, x.XFRM_MODE_TUNNEL, COA, HA, reqid=4)])
        xfrm.migrate(f"{HOA}/128", "::/0", x.XFRM_POLICY_OUT, [
            x.Migration(COA, HA, new_coa, HA, socket.IPPROTO_ESP, x.XFRM_MODE_TUNNEL, 4)])
        [pol] = xfrm.dump_policy()
    assert pol["tmpls"] == [x.Tmpl(socket.IPPROTO_ESP, x.XFRM_MODE_TUNNEL, new_coa, HA, reqid=4)]


def test_missing_state(netns):
    with x.Xfrm(netns) as xfrm:
        assert xfrm.dump_sa() == []
        assert xfrm.get_sa(HA, x.IPPROTO_DSTOPTS, 0, src=COA) is None
        with pytest.raises(x.XfrmError) as e:
            xfrm.delete_sa(HA, x.IPPROTO_DSTOPTS, 0, src=COA)
        assert e.value.errno == errno.ESRCH


def test_missing_netns_is_not_created():
    name = unique_name("xfrmnl-absent")
    with pytest.raises(FileNotFoundError):
        x.Xfrm(name)
    assert not os.path.exists(f"/run/netns/{name}")


def test_listener_times_out(netns):
    with x.Xfrm(netns) as xfrm, xfrm.listen_sa() as events:
        assert events.wait(x.XFRM_MSG_NEWSA, 0.3) is None  # returns: the timeout works

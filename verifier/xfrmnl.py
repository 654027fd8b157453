# SPDX-License-Identifier: GPL-2.0-only
"""XFRM netlink (NETLINK_XFRM): states, policies, MIGRATE and SA notifications.

pyroute2 has no XFRM family, and `ip xfrm` can neither send XFRMA_HOADDR or
a malformed attribute nor wait for one notification with a timeout, so the
verifier speaks the protocol itself.  The message classes are pyroute2
nlmsg/nla classes laid out as include/uapi/linux/xfrm.h is on x86_64 (the
padding is spelt out); vm/tests/test_xfrmnl.py holds the bytes they encode
to what iproute2 sends for the same command.

The encode_*() functions build a request (sequence number 0, which the
Xfrm socket fills in) so that tests can look at the bytes without a kernel.
"""

import collections
import errno
import os
import socket
import struct
import time
from dataclasses import dataclass

from pyroute2 import netns as pr_netns
from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    nla,
    nlmsg,
)

NETLINK_XFRM = 6
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLMSGERR_ATTR_MSG = 1

XFRM_MSG_NEWSA = 16
XFRM_MSG_DELSA = 17
XFRM_MSG_GETSA = 18
XFRM_MSG_NEWPOLICY = 19
XFRM_MSG_DELPOLICY = 20
XFRM_MSG_GETPOLICY = 21
XFRM_MSG_UPDPOLICY = 25
XFRM_MSG_UPDSA = 26
XFRM_MSG_FLUSHSA = 28
XFRM_MSG_FLUSHPOLICY = 29
XFRM_MSG_MIGRATE = 33
XFRMNLGRP_SA = 3

# Attribute numbers are spelt out: enum xfrm_attr_type_t has a hole
# before XFRMA_HOADDR (36 to 41 belong to mainline's IP-TFS).
XFRMA_ALG_AUTH = 1  # struct xfrm_algo
XFRMA_ALG_CRYPT = 2  # struct xfrm_algo
XFRMA_TMPL = 5
XFRMA_SA = 6
XFRMA_SRCADDR = 13
XFRMA_COADDR = 14
XFRMA_POLICY_TYPE = 16
XFRMA_MIGRATE = 17
XFRMA_MARK = 21
XFRMA_SA_DIR = 33
XFRMA_HOADDR = 42  # mip6kit's patch; a kernel without it ignores the attribute

XFRM_MODE_TRANSPORT = 0
XFRM_MODE_TUNNEL = 1
XFRM_MODE_ROUTEOPTIMIZATION = 2
XFRM_POLICY_IN = 0
XFRM_POLICY_OUT = 1
XFRM_SA_DIR_IN = 1
XFRM_SA_DIR_OUT = 2
XFRM_STATE_WILDRECV = 8
IPPROTO_ROUTING = 43
IPPROTO_DSTOPTS = 60
IPPROTO_MH = 135
XFRM_INF = 0xFFFF_FFFF_FFFF_FFFF
ALL_ALGOS = 0xFFFF_FFFF

# typedef union {
#         __be32          a4;
#         __be32          a6[4];
#         struct in6_addr in6;
# } xfrm_address_t;
xfrm_address_t = "16s"


class _struct:
    """A C struct nested in a message or attribute.  pyroute2 hands a field
    whose format is a class to its decode_from()/encode_into(); '_pad'
    fields stand where gcc pads on x86_64."""

    fields: tuple = ()

    @classmethod
    def size(cls) -> int:
        return sum(f.size() if isinstance(f, type) else struct.calcsize(f)
                   for _, f in cls.fields)

    @classmethod
    def decode_from(cls, data, offset: int) -> tuple[dict, int]:
        out = {}
        for name, fmt in cls.fields:
            if isinstance(fmt, type):
                out[name], offset = fmt.decode_from(data, offset)
                continue
            if not name.startswith("_"):
                out[name] = struct.unpack_from(fmt, data, offset)[0]
            offset += struct.calcsize(fmt)
        return out, offset

    @classmethod
    def encode_into(cls, data: bytearray, offset: int, value: dict | None) -> int:
        value = value or {}
        for name, fmt in cls.fields:
            if isinstance(fmt, type):
                offset = fmt.encode_into(data, offset, value.get(name))
                continue
            size = struct.calcsize(fmt)
            data.extend(bytes(size))
            if not name.startswith("_"):
                zero = b"" if fmt.endswith("s") else 0
                struct.pack_into(fmt, data, offset, value.get(name, zero))
            offset += size
        return offset


# struct xfrm_id {
#         xfrm_address_t  daddr;
#         __be32          spi;
#         __u8            proto;
# };
class xfrm_id(_struct):
    fields = (("daddr", xfrm_address_t), ("spi", ">I"), ("proto", "B"), ("_pad", "3x"))


# struct xfrm_selector {
#         xfrm_address_t  daddr;
#         xfrm_address_t  saddr;
#         __be16  dport;
#         __be16  dport_mask;
#         __be16  sport;
#         __be16  sport_mask;
#         __u16   family;
#         __u8    prefixlen_d;
#         __u8    prefixlen_s;
#         __u8    proto;
#         int     ifindex;
#         __kernel_uid32_t        user;
# };
class xfrm_selector(_struct):
    fields = (("daddr", xfrm_address_t), ("saddr", xfrm_address_t),
              ("dport", ">H"), ("dport_mask", ">H"), ("sport", ">H"), ("sport_mask", ">H"),
              ("family", "H"), ("prefixlen_d", "B"), ("prefixlen_s", "B"), ("proto", "B"),
              ("_pad", "3x"), ("ifindex", "i"), ("user", "I"))


# struct xfrm_lifetime_cfg {
#         __u64   soft_byte_limit;
#         __u64   hard_byte_limit;
#         __u64   soft_packet_limit;
#         __u64   hard_packet_limit;
#         __u64   soft_add_expires_seconds;
#         __u64   hard_add_expires_seconds;
#         __u64   soft_use_expires_seconds;
#         __u64   hard_use_expires_seconds;
# };
class xfrm_lifetime_cfg(_struct):
    fields = tuple((name, "Q") for name in (
        "soft_byte_limit", "hard_byte_limit", "soft_packet_limit", "hard_packet_limit",
        "soft_add_expires_seconds", "hard_add_expires_seconds",
        "soft_use_expires_seconds", "hard_use_expires_seconds"))


# A zero limit is an expired one: like iproute2, no limit on bytes and packets.
NO_LIMITS = {"soft_byte_limit": XFRM_INF, "hard_byte_limit": XFRM_INF,
             "soft_packet_limit": XFRM_INF, "hard_packet_limit": XFRM_INF}


# struct xfrm_lifetime_cur {
#         __u64   bytes;
#         __u64   packets;
#         __u64   add_time;
#         __u64   use_time;
# };
class xfrm_lifetime_cur(_struct):
    fields = (("bytes", "Q"), ("packets", "Q"), ("add_time", "Q"), ("use_time", "Q"))


# struct xfrm_stats {
#         __u32   replay_window;
#         __u32   replay;
#         __u32   integrity_failed;
# };
class xfrm_stats(_struct):
    fields = (("replay_window", "I"), ("replay", "I"), ("integrity_failed", "I"))


# struct xfrm_user_tmpl {
#         struct xfrm_id          id;
#         __u16                   family;
#         xfrm_address_t          saddr;
#         __u32                   reqid;
#         __u8                    mode;
#         __u8                    share;
#         __u8                    optional;
#         __u32                   aalgos;
#         __u32                   ealgos;
#         __u32                   calgos;
# };
class xfrm_user_tmpl(_struct):
    fields = (("id", xfrm_id), ("family", "H"), ("_pad", "2x"), ("saddr", xfrm_address_t),
              ("reqid", "I"), ("mode", "B"), ("share", "B"), ("optional", "B"), ("_pad", "x"),
              ("aalgos", "I"), ("ealgos", "I"), ("calgos", "I"))


# struct xfrm_user_migrate {
#         xfrm_address_t                  old_daddr;
#         xfrm_address_t                  old_saddr;
#         xfrm_address_t                  new_daddr;
#         xfrm_address_t                  new_saddr;
#         __u8                            proto;
#         __u8                            mode;
#         __u16                           reserved;
#         __u32                           reqid;
#         __u16                           old_family;
#         __u16                           new_family;
# };
class xfrm_user_migrate(_struct):
    fields = (("old_daddr", xfrm_address_t), ("old_saddr", xfrm_address_t),
              ("new_daddr", xfrm_address_t), ("new_saddr", xfrm_address_t),
              ("proto", "B"), ("mode", "B"), ("reserved", "H"), ("reqid", "I"),
              ("old_family", "H"), ("new_family", "H"))


# struct xfrm_mark {
#         __u32           v; /* value */
#         __u32           m; /* mask */
# };
class xfrm_mark(_struct):
    fields = (("v", "I"), ("m", "I"))


def _struct_array(item: type[_struct]) -> type[nla]:
    """An attribute whose payload is structs back to back (XFRMA_TMPL,
    XFRMA_MIGRATE); its value is a list of dicts."""

    class array(nla):
        def ft_encode(self, offset):
            for value in self["value"]:
                offset = item.encode_into(self.data, offset, value)
            return offset, 0

        def ft_decode(self, offset):
            end = self.offset + self.length
            self.value = self["value"] = []  # self.value: a list is no value_map key
            while offset + item.size() <= end:
                value, offset = item.decode_from(self.data, offset)
                self.value.append(value)

    return array


class _xfrm_msg(nlmsg):
    """All XFRM messages share one attribute space (xfrma_policy in
    net/xfrm/xfrm_user.c); attributes not named here decode as UNKNOWN."""

    nla_map = (
        (XFRMA_TMPL, "XFRMA_TMPL", "tmpls"),
        (XFRMA_SA, "XFRMA_SA", "usersa_info"),
        (XFRMA_SRCADDR, "XFRMA_SRCADDR", "address"),
        (XFRMA_COADDR, "XFRMA_COADDR", "address"),
        (XFRMA_MIGRATE, "XFRMA_MIGRATE", "migrations"),
        (XFRMA_MARK, "XFRMA_MARK", "mark"),
        (XFRMA_SA_DIR, "XFRMA_SA_DIR", "uint8"),
        (XFRMA_HOADDR, "XFRMA_HOADDR", "address"),
    )

    class address(nla):
        fields = (("value", xfrm_address_t),)

    class mark(nla):
        fields = xfrm_mark.fields

    tmpls = _struct_array(xfrm_user_tmpl)
    migrations = _struct_array(xfrm_user_migrate)


# struct xfrm_usersa_info {
#         struct xfrm_selector            sel;
#         struct xfrm_id                  id;
#         xfrm_address_t                  saddr;
#         struct xfrm_lifetime_cfg        lft;
#         struct xfrm_lifetime_cur        curlft;
#         struct xfrm_stats               stats;
#         __u32                           seq;
#         __u32                           reqid;
#         __u16                           family;
#         __u8                            mode;           /* XFRM_MODE_xxx */
#         __u8                            replay_window;
#         __u8                            flags;
# };
class xfrm_usersa_info(_xfrm_msg):
    fields = (("sel", xfrm_selector), ("id", xfrm_id), ("saddr", xfrm_address_t),
              ("lft", xfrm_lifetime_cfg), ("curlft", xfrm_lifetime_cur), ("stats", xfrm_stats),
              ("seq", "I"), ("reqid", "I"), ("family", "H"), ("mode", "B"),
              ("replay_window", "B"), ("flags", "B"), ("_pad", "7x"))


class _usersa_info_attr(nla):
    """XFRMA_SA: a DELSA notification carries the deleted state here."""

    fields = xfrm_usersa_info.fields


_xfrm_msg.usersa_info = _usersa_info_attr


# struct xfrm_usersa_id {
#         xfrm_address_t                  daddr;
#         __be32                          spi;
#         __u16                           family;
#         __u8                            proto;
# };
class xfrm_usersa_id(_xfrm_msg):
    fields = (("daddr", xfrm_address_t), ("spi", ">I"), ("family", "H"), ("proto", "B"),
              ("_pad", "x"))


# struct xfrm_userpolicy_info {
#         struct xfrm_selector            sel;
#         struct xfrm_lifetime_cfg        lft;
#         struct xfrm_lifetime_cur        curlft;
#         __u32                           priority;
#         __u32                           index;
#         __u8                            dir;
#         __u8                            action;
#         __u8                            flags;
#         __u8                            share;
# };
class xfrm_userpolicy_info(_xfrm_msg):
    fields = (("sel", xfrm_selector), ("lft", xfrm_lifetime_cfg), ("curlft", xfrm_lifetime_cur),
              ("priority", "I"), ("index", "I"), ("dir", "B"), ("action", "B"), ("flags", "B"),
              ("share", "B"), ("_pad", "4x"))


# struct xfrm_userpolicy_id {
#         struct xfrm_selector            sel;
#         __u32                           index;
#         __u8                            dir;
# };
class xfrm_userpolicy_id(_xfrm_msg):
    fields = (("sel", xfrm_selector), ("index", "I"), ("dir", "B"), ("_pad", "3x"))


# struct xfrm_usersa_flush {
#         __u8                            proto;
# };
class xfrm_usersa_flush(_xfrm_msg):
    fields = (("proto", "B"),)


class _empty(_xfrm_msg):
    """A dump request: the kernel reads no body for GETSA/GETPOLICY dumps."""


class _ack(nlmsg):
    """NLMSG_ERROR on a NETLINK_CAP_ACK socket: the error, the request's
    header alone, then the extended-ack attributes."""

    fields = (("error", "i"), ("request", "16s"))
    nla_map = ((NLMSGERR_ATTR_MSG, "NLMSGERR_ATTR_MSG", "asciiz"),)


class XfrmError(OSError):
    """A request the kernel refused: its errno and its extended-ack text
    (None when it set none)."""

    def __init__(self, code: int, message: str | None):
        super().__init__(code, os.strerror(code))
        self.message = message

    def __str__(self) -> str:
        text = f"[Errno {self.errno}] {self.strerror}"
        return f"{text}: {self.message}" if self.message else text


@dataclass(frozen=True)
class Tmpl:
    """A policy template; src/dst None match any address (all zeros), as
    an RO template of a correspondent node has them."""

    proto: int
    mode: int
    src: str | None = None
    dst: str | None = None
    level: str = "required"  # or "use": optional, a packet need not have been transformed
    reqid: int = 0


@dataclass(frozen=True)
class Migration:
    """One xfrm_user_migrate: states and templates old_src -> old_dst move
    to new_src -> new_dst."""

    old_src: str
    old_dst: str
    new_src: str
    new_dst: str
    proto: int
    mode: int
    reqid: int = 0


def _family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def _raw(addr: str | None) -> bytes:
    """xfrm_address_t of an address of either family, whatever the family
    of the message (a test may pair them wrongly); None is all zeros."""
    if addr is None:
        return bytes(16)
    return socket.inet_pton(_family(addr), addr).ljust(16, b"\0")


def _text(raw: bytes, family: int) -> str:
    return socket.inet_ntop(family, raw[:16 if family == socket.AF_INET6 else 4])


def _selector(src: str, dst: str, upper_proto: int, mh_type: int | None,
              dport: int | None = None) -> dict:
    """src and dst are "addr/len" or an address alone (a host).  Like
    iproute2, the Mobility Header (or ICMP) type goes where the source port
    would, an ICMP code where the destination port would, and a GRE key
    as its high 16 bits in the source port, its low ones in the
    destination port."""
    family = _family(dst)
    out = {"family": family, "proto": upper_proto}
    for key, spec in (("s", src), ("d", dst)):
        addr, _, plen = spec.partition("/")
        out[f"{key}addr"] = _raw(addr)
        out[f"prefixlen_{key}"] = int(plen) if plen else (128 if family == socket.AF_INET6 else 32)
    if mh_type is not None:
        out.update(sport=mh_type, sport_mask=0xFFFF)
    if dport is not None:
        out.update(dport=dport, dport_mask=0xFFFF)
    return out


def _mark(mark: int | None) -> list:
    return [] if mark is None else [("XFRMA_MARK", {"v": mark, "m": 0xFFFF_FFFF})]


def build_message(cls: type[_xfrm_msg], msg_type: int, flags: int, body: dict,
             attrs=(), raw: tuple[tuple[int, bytes], ...] = ()) -> bytearray:
    """One netlink message; raw attributes go after the encoded ones as given."""
    msg = cls()
    msg["header"] = {"type": msg_type, "flags": flags}
    msg.update(body)
    msg["attrs"] = list(attrs)
    msg.encode()
    data = msg.data
    for attr_type, payload in raw:
        data += struct.pack("=HH", 4 + len(payload), attr_type) + payload
        data += bytes(-len(data) % 4)
    struct.pack_into("=I", data, 0, len(data))
    return data


def encode_sa(src: str, dst: str, *, proto: int, spi: int = 0, mode: int,
              coaddr: str | None = None, hoaddr: str | None = None, reqid: int = 0,
              flags: int = 0, sa_dir: int | None = None, mark: int | None = None,
              family: int | None = None, update: bool = False,
              extra_attrs: tuple[tuple[int, bytes], ...] = ()) -> bytearray:
    """NEWSA (UPDSA with update): no selector, no lifetime limits, flags as
    iproute2 sends them (the kernel reads no NLM_F_CREATE/EXCL on XFRM:
    NEWSA of an existing state is EEXIST, UPDSA of a missing one ESRCH).
    family is dst's unless given; extra_attrs are (type, payload) sent as
    they are, malformed or not."""
    body = {"id": {"daddr": _raw(dst), "spi": spi, "proto": proto}, "saddr": _raw(src),
            "lft": NO_LIMITS, "reqid": reqid, "family": family or _family(dst), "mode": mode,
            "flags": flags}
    attrs = [("XFRMA_COADDR", _raw(coaddr))] if coaddr is not None else []
    if hoaddr is not None:
        attrs.append(("XFRMA_HOADDR", _raw(hoaddr)))
    attrs += _mark(mark)
    if sa_dir is not None:
        attrs.append(("XFRMA_SA_DIR", sa_dir))
    return build_message(xfrm_usersa_info, XFRM_MSG_UPDSA if update else XFRM_MSG_NEWSA,
                    NLM_F_REQUEST | NLM_F_ACK, body, attrs, tuple(extra_attrs))


def encode_sa_id(msg_type: int, dst: str, proto: int, spi: int, src: str | None = None,
                 mark: int | None = None,
                 extra_attrs: tuple[tuple[int, bytes], ...] = ()) -> bytearray:
    """GETSA or DELSA.  Like iproute2 this always sends XFRMA_SRCADDR (all
    zeros without src): the kernel finds a state that is not ESP, AH or
    IPcomp (hao, route2) by destination and source, not by SPI."""
    body = {"daddr": _raw(dst), "spi": spi, "family": _family(dst), "proto": proto}
    attrs = [("XFRMA_SRCADDR", _raw(src)), *_mark(mark)]
    return build_message(xfrm_usersa_id, msg_type, NLM_F_REQUEST | NLM_F_ACK, body, attrs,
                    tuple(extra_attrs))


def encode_policy(direction: int, src: str, dst: str, *, upper_proto: int = 0,
                  mh_type: int | None = None, dport: int | None = None,
                  tmpls: tuple[Tmpl, ...] = (), priority: int = 0, mark: int | None = None,
                  update: bool = False, extra_attrs: tuple[tuple[int, bytes], ...] = ()
                  ) -> bytearray:
    """NEWPOLICY (UPDPOLICY with update) allowing what the templates give."""
    sel = _selector(src, dst, upper_proto, mh_type, dport)
    vec = [{"id": {"daddr": _raw(t.dst), "proto": t.proto}, "family": sel["family"],
            "saddr": _raw(t.src), "reqid": t.reqid, "mode": t.mode,
            "optional": {"required": 0, "use": 1}[t.level],
            "aalgos": ALL_ALGOS, "ealgos": ALL_ALGOS, "calgos": ALL_ALGOS} for t in tmpls]
    body = {"sel": sel, "lft": NO_LIMITS, "priority": priority, "dir": direction}
    attrs = ([("XFRMA_TMPL", vec)] if vec else []) + _mark(mark)
    return build_message(xfrm_userpolicy_info, XFRM_MSG_UPDPOLICY if update else XFRM_MSG_NEWPOLICY,
                    NLM_F_REQUEST | NLM_F_ACK, body, attrs, tuple(extra_attrs))


def encode_policy_id(msg_type: int, direction: int, src: str, dst: str, *,
                     upper_proto: int = 0, mh_type: int | None = None,
                     mark: int | None = None) -> bytearray:
    """GETPOLICY or DELPOLICY of the policy with exactly this selector."""
    body = {"sel": _selector(src, dst, upper_proto, mh_type), "dir": direction}
    return build_message(xfrm_userpolicy_id, msg_type, NLM_F_REQUEST | NLM_F_ACK, body, _mark(mark))


def encode_migrate(sel_src: str, sel_dst: str, direction: int,
                   migrations: tuple[Migration | dict, ...], *, upper_proto: int = 0,
                   mh_type: int | None = None, dport: int | None = None,
                   mark: int | None = None,
                   extra_attrs: tuple[tuple[int, bytes], ...] = ()) -> bytearray:
    """MIGRATE the policy with this selector (and with mark, XFRMA_MARK
    mark/0xffffffff: only a kernel with mip6kit's patch reads it) and its
    states.  A migration may be a dict of Migration's fields."""
    moves = [m if isinstance(m, Migration) else Migration(**m) for m in migrations]
    vec = [{"old_daddr": _raw(m.old_dst), "old_saddr": _raw(m.old_src),
            "new_daddr": _raw(m.new_dst), "new_saddr": _raw(m.new_src),
            "proto": m.proto, "mode": m.mode, "reqid": m.reqid,
            "old_family": _family(m.old_dst), "new_family": _family(m.new_dst)}
           for m in moves]
    body = {"sel": _selector(sel_src, sel_dst, upper_proto, mh_type, dport),
            "dir": direction}
    return build_message(xfrm_userpolicy_id, XFRM_MSG_MIGRATE, NLM_F_REQUEST | NLM_F_ACK, body,
                    [("XFRMA_MIGRATE", vec), *_mark(mark)], tuple(extra_attrs))


def encode_flush_sa() -> bytearray:
    """FLUSHSA of every protocol: proto 0 (IPSEC_PROTO_ANY would spare the
    hao and route2 states); 17 bytes, unpadded, as iproute2 sends it."""
    data = build_message(xfrm_usersa_flush, XFRM_MSG_FLUSHSA, NLM_F_REQUEST | NLM_F_ACK,
                    {"proto": 0})[:17]
    struct.pack_into("=I", data, 0, len(data))
    return data


def encode_flush_policy() -> bytearray:
    """FLUSHPOLICY (main policy type: no XFRMA_POLICY_TYPE)."""
    return build_message(_empty, XFRM_MSG_FLUSHPOLICY, NLM_F_REQUEST | NLM_F_ACK, {})


def decode_message(cls: type[nlmsg], data: bytes) -> nlmsg:
    msg = cls(bytes(data))
    msg.decode()
    return msg


def _addr_attr(msg: nlmsg, name: str, family: int) -> str | None:
    raw = msg.get_attr(name)
    return None if raw is None else _text(raw, family)


def _mark_attr(msg: nlmsg) -> tuple[int, int] | None:
    mark = msg.get_attr("XFRMA_MARK")
    return None if mark is None else (mark["v"], mark["m"])


def parse_sa(data: bytes) -> dict:
    """A NEWSA, UPDSA or DELSA message (reply or notification) as a dict;
    a DELSA notification carries the state in XFRMA_SA."""
    if struct.unpack_from("=H", data, 4)[0] == XFRM_MSG_DELSA:
        msg = decode_message(xfrm_usersa_id, data)
        info = msg.get_attr("XFRMA_SA")
    else:
        msg = info = decode_message(xfrm_usersa_info, data)
    family = info["family"]
    return {"type": msg["header"]["type"], "family": family,
            "src": _text(info["saddr"], family), "dst": _text(info["id"]["daddr"], family),
            "proto": info["id"]["proto"], "spi": info["id"]["spi"], "mode": info["mode"],
            "flags": info["flags"], "reqid": info["reqid"],
            "coaddr": _addr_attr(msg, "XFRMA_COADDR", family),
            "hoaddr": _addr_attr(msg, "XFRMA_HOADDR", family),
            "sa_dir": msg.get_attr("XFRMA_SA_DIR"), "mark": _mark_attr(msg)}


def parse_policy(data: bytes) -> dict:
    """A NEWPOLICY message (a dump entry) as a dict; templates as Tmpl."""
    msg = decode_message(xfrm_userpolicy_info, data)
    sel = msg["sel"]
    family = sel["family"]

    def any_none(raw: bytes) -> str | None:
        return None if raw == bytes(16) else _text(raw, family)

    tmpls = [Tmpl(proto=t["id"]["proto"], mode=t["mode"], src=any_none(t["saddr"]),
                  dst=any_none(t["id"]["daddr"]), level="use" if t["optional"] else "required",
                  reqid=t["reqid"])
             for t in msg.get_attr("XFRMA_TMPL") or ()]
    mh = sel["proto"] == IPPROTO_MH and sel["sport_mask"]
    return {"dir": msg["dir"], "action": msg["action"], "priority": msg["priority"],
            "index": msg["index"],
            "src": f"{_text(sel['saddr'], family)}/{sel['prefixlen_s']}",
            "dst": f"{_text(sel['daddr'], family)}/{sel['prefixlen_d']}",
            "upper_proto": sel["proto"], "mh_type": sel["sport"] if mh else None,
            "tmpls": tmpls, "mark": _mark_attr(msg)}


def split_messages(buf: bytes):
    """The netlink messages in one datagram."""
    offset = 0
    while offset + 16 <= len(buf):
        length = struct.unpack_from("=I", buf, offset)[0]
        if length < 16:
            return
        yield buf[offset:offset + length]
        offset += (length + 3) & ~3


def _open(netns: str | None, groups: int) -> socket.socket:
    """A NETLINK_XFRM socket created inside netns (it stays there); flags=0
    so that a mistyped name fails instead of creating an empty netns."""
    sock = pr_netns.create_socket(netns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_XFRM,
                                  flags=0)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.bind((0, groups))
    return sock


class _Socket:
    """An XFRM netlink socket that closes with its with-block."""

    sock: socket.socket

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()


class Xfrm(_Socket):
    """XFRM requests in a named netns (None: the caller's); every answer is
    awaited at most timeout seconds."""

    def __init__(self, netns: str | None = None, timeout: float = 5.0):
        self.netns = netns
        self.timeout = timeout
        self.sock = _open(netns, 0)
        self.seq = 0

    def add_sa(self, src: str, dst: str, **kw) -> None:
        """Add a state (update=True: replace it); keywords as encode_sa()."""
        self._talk(encode_sa(src, dst, **kw))

    def get_sa(self, dst: str, proto: int, spi: int, src: str | None = None,
               mark: int | None = None) -> dict | None:
        """The state as parse_sa() gives it, None if there is none (ESRCH)."""
        try:
            replies = self._talk(encode_sa_id(XFRM_MSG_GETSA, dst, proto, spi, src, mark))
        except XfrmError as e:
            if e.errno == errno.ESRCH:
                return None
            raise
        return parse_sa(replies[0])

    def delete_sa(self, dst: str, proto: int, spi: int, src: str | None = None,
                  mark: int | None = None) -> None:
        self._talk(encode_sa_id(XFRM_MSG_DELSA, dst, proto, spi, src, mark))

    def dump_sa(self) -> list[dict]:
        return [parse_sa(m) for m in self.dump_sa_messages()]

    def dump_sa_raw(self) -> list[bytes]:
        """The SAD as the kernel dumps it, each state's bytes after the
        netlink header (which carries a sequence number), sorted: two dumps
        are equal exactly when no state changed (no traffic in between)."""
        return sorted(bytes(m[16:]) for m in self.dump_sa_messages())

    def dump_sa_messages(self) -> list[bytes]:
        """The SAD dump's messages as they came, netlink header and all."""
        return self._talk(build_message(_empty, XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP, {}))

    def add_policy(self, direction: int, src: str, dst: str, **kw) -> None:
        """Add a policy (update=True: replace it); keywords as encode_policy()."""
        self._talk(encode_policy(direction, src, dst, **kw))

    def delete_policy(self, direction: int, src: str, dst: str, **kw) -> None:
        """Keywords as encode_policy_id(); ENOENT if there is no such policy."""
        self._talk(encode_policy_id(XFRM_MSG_DELPOLICY, direction, src, dst, **kw))

    def dump_policy(self) -> list[dict]:
        return [parse_policy(m) for m in self._talk(build_message(
            _empty, XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, {}))]

    def flush(self) -> None:
        """Every state, then every policy (ip xfrm state flush; policy flush)."""
        self._talk(encode_flush_sa())
        self._talk(encode_flush_policy())

    def migrate(self, sel_src: str, sel_dst: str, direction: int,
                migrations: tuple[Migration | dict, ...], **kw) -> None:
        """Keywords as encode_migrate()."""
        self._talk(encode_migrate(sel_src, sel_dst, direction, migrations, **kw))

    def request(self, data: bytearray) -> list[bytes]:
        """Any request as given (the fuzz suite's malformed ones): its
        replies; XfrmError when the kernel refuses it."""
        return self._talk(data)

    def listen_sa(self) -> "SaEvents":
        return SaEvents(self.netns)

    def _talk(self, data: bytearray) -> list[bytes]:
        """Send one request; its replies up to the ack or NLMSG_DONE."""
        self.seq += 1
        struct.pack_into("=I", data, 8, self.seq)
        self.sock.sendto(data, (0, 0))
        replies = []
        deadline = time.monotonic() + self.timeout
        while True:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                buf = self.sock.recv(65536)
            except TimeoutError:
                msg_type = struct.unpack_from("=H", data, 4)[0]
                raise TimeoutError(f"no answer to XFRM message type {msg_type} in "
                                   f"netns {self.netns} within {self.timeout} s") from None
            for msg in split_messages(buf):
                msg_type, _, seq = struct.unpack_from("=HHI", msg, 4)
                if seq != self.seq:
                    continue
                if msg_type == NLMSG_ERROR:
                    ack = decode_message(_ack, msg)
                    if ack["error"]:
                        raise XfrmError(-ack["error"], ack.get_attr("NLMSGERR_ATTR_MSG"))
                    return replies
                if msg_type == NLMSG_DONE:
                    if len(msg) >= 20 and (code := struct.unpack_from("=i", msg, 16)[0]):
                        raise XfrmError(-code, None)
                    return replies
                replies.append(msg)


class SaEvents(_Socket):
    """SA notifications (XFRMNLGRP_SA) of a netns, from when this opened."""

    def __init__(self, netns: str | None):
        self.sock = _open(netns, 1 << (XFRMNLGRP_SA - 1))
        self.pending: collections.deque[bytes] = collections.deque()

    def wait(self, msg_type: int, timeout: float = 2.0) -> dict | None:
        """The next notification of msg_type (XFRM_MSG_NEWSA, UPDSA, DELSA)
        as parse_sa() gives it, passing over others; None if none came
        within timeout, so that a test can also check that none comes."""
        deadline = time.monotonic() + timeout
        while True:
            while self.pending:
                data = self.pending.popleft()
                if struct.unpack_from("=H", data, 4)[0] == msg_type:
                    return parse_sa(data)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                self.pending.extend(split_messages(self.sock.recv(65536)))
            except TimeoutError:
                return None

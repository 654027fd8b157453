// SPDX-License-Identifier: GPL-2.0-only
/*
 * hoaddr_example: what a Mobile IPv6 daemon does for MCoA egress with the
 * series' XFRMA_HOADDR (RFC 5648: a Binding Update per care-of address,
 * each leaving by its own link, from its own CoA, with the home address in
 * the Home Address Option and the Mobility Header checksum over it).
 *
 *   hoaddr_example HA HOA COA:IFNAME [COA:IFNAME...]
 *
 * 1. Probe: the kernel has XFRMA_HOADDR when a route-optimization state
 *    added with it gives it back on GETSA (older kernels ignore the
 *    unknown attribute and install the state without it).  Without it,
 *    the states are removed and the program exits 3: fall back to a
 *    cmsg HAO (the raw-socket fix) or to one classic state per CoA, each
 *    selected by a mark (README, "How a daemon does MCoA egress").
 * 2. One outbound HAO state per CoA (ip xfrm state add src COA dst HA
 *    proto hao mode ro coa COA, plus XFRMA_HOADDR HOA and an output
 *    XFRMA_SA_DIR, which kernels before 6.10 ignore), and one outbound
 *    policy for the Mobility Header to the HA whose template the state
 *    of the packet's source fills.
 * 3. A Binding Update per CoA on a raw IPPROTO_MH socket (the kernel sums
 *    the MH at offset 4), its source and link named by IPV6_PKTINFO.
 * 4. Each state read back: "state COA: hoaddr HOA".
 *
 * Exit 0 when every step worked, 1 on an error (errno and the kernel's
 * extack message printed; what this run installed is removed), 2 on bad
 * arguments, 3 without XFRMA_HOADDR.
 */
#define _GNU_SOURCE /* struct in6_pktinfo */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_MH
#define IPPROTO_MH 135
#endif
#ifndef NLMSGERR_ATTR_MSG
#define NLMSGERR_ATTR_MSG 1
#endif
/* From the series' include/uapi/linux/xfrm.h: not in older headers. */
enum { SA_DIR_ATTR = 33, SA_DIR_OUT = 2, HOADDR_ATTR = 42 };

#define MAX_COAS 8

struct request {
	struct nlmsghdr h;
	union {
		struct xfrm_usersa_info sa;
		struct xfrm_usersa_id id;
		struct xfrm_userpolicy_info pol;
		struct xfrm_userpolicy_id pol_id;
	};
	unsigned char attrs[512];
};

static int nl;
static unsigned int seq;
static unsigned char answer[65536];

static void put_attr(struct request *r, unsigned short type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static void start(struct request *r, unsigned short type, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = NLMSG_LENGTH(body);
	r->h.nlmsg_type = type;
	r->h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r->h.nlmsg_seq = ++seq;
}

/* Print the kernel's extack message of an error answer, if any. */
static void print_extack(struct nlmsghdr *h)
{
	struct nlmsgerr *e = NLMSG_DATA(h);
	size_t skip = NLMSG_SPACE(sizeof(*e)) +
		      ((h->nlmsg_flags & NLM_F_CAPPED) ? 0 : NLMSG_ALIGN(e->msg.nlmsg_len)
		       - NLMSG_HDRLEN);
	struct nlattr *a = (struct nlattr *)((char *)h + skip);
	int left = (int)h->nlmsg_len - (int)skip;

	if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			fprintf(stderr, "  extack: %s\n", (char *)a + NLA_HDRLEN);
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
}

/* Send r; 0 on the kernel's ack, else -errno.  *reply: a non-error answer. */
static int talk(struct request *r, struct nlmsghdr **reply, const char *what)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	if (reply)
		*reply = NULL;
	if (sendto(nl, r, r->h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		perror(what);
		return -errno;
	}
	for (;;) {
		struct nlmsghdr *h;

		n = recv(nl, answer, sizeof(answer), 0);
		if (n < 0) {
			perror(what);
			return -errno;
		}
		for (h = (struct nlmsghdr *)answer; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;

				if (err) {
					fprintf(stderr, "%s: %s\n", what, strerror(-err));
					print_extack(h);
				}
				return err;
			}
			if (reply)
				*reply = h;
		}
		if (reply && *reply)
			return 0;
	}
}

static void sa_id(struct request *r, unsigned short type, const struct in6_addr *coa,
		  const struct in6_addr *ha)
{
	start(r, type, sizeof(r->id));
	memcpy(&r->id.daddr, ha, sizeof(*ha));
	r->id.family = AF_INET6;
	r->id.proto = IPPROTO_DSTOPTS;
	put_attr(r, XFRMA_SRCADDR, coa, sizeof(*coa));
}

/* The state's XFRMA_HOADDR, read back with GETSA; 0 when it has one. */
static int read_hoaddr(const struct in6_addr *coa, const struct in6_addr *ha,
		       struct in6_addr *hoa)
{
	struct request r;
	struct nlmsghdr *h;
	struct nlattr *a;
	int left;

	sa_id(&r, XFRM_MSG_GETSA, coa, ha);
	r.h.nlmsg_flags = NLM_F_REQUEST;
	if (talk(&r, &h, "GETSA") || !h || h->nlmsg_type != XFRM_MSG_NEWSA)
		return -1;
	a = (struct nlattr *)((char *)NLMSG_DATA(h) + NLMSG_ALIGN(sizeof(struct xfrm_usersa_info)));
	left = (int)h->nlmsg_len - NLMSG_SPACE(sizeof(struct xfrm_usersa_info));
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
		if (a->nla_type == HOADDR_ATTR && a->nla_len == NLA_HDRLEN + sizeof(*hoa)) {
			memcpy(hoa, (char *)a + NLA_HDRLEN, sizeof(*hoa));
			return 0;
		}
		left -= NLA_ALIGN(a->nla_len);
		a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
	}
	return -1;
}

static int add_state(const struct in6_addr *coa, const struct in6_addr *ha,
		     const struct in6_addr *hoa)
{
	unsigned char dir = SA_DIR_OUT;
	struct request r;

	start(&r, XFRM_MSG_NEWSA, sizeof(r.sa));
	memcpy(&r.sa.saddr, coa, sizeof(*coa));
	memcpy(&r.sa.id.daddr, ha, sizeof(*ha));
	r.sa.id.proto = IPPROTO_DSTOPTS;
	r.sa.family = AF_INET6;
	r.sa.mode = XFRM_MODE_ROUTEOPTIMIZATION;
	r.sa.lft.soft_byte_limit = r.sa.lft.hard_byte_limit = XFRM_INF;
	r.sa.lft.soft_packet_limit = r.sa.lft.hard_packet_limit = XFRM_INF;
	put_attr(&r, XFRMA_COADDR, coa, sizeof(*coa));
	put_attr(&r, HOADDR_ATTR, hoa, sizeof(*hoa));
	put_attr(&r, SA_DIR_ATTR, &dir, sizeof(dir));
	return talk(&r, NULL, "NEWSA");
}

static void del_state(const struct in6_addr *coa, const struct in6_addr *ha)
{
	struct request r;

	sa_id(&r, XFRM_MSG_DELSA, coa, ha);
	talk(&r, NULL, "DELSA");
}

static void policy_selector(struct xfrm_selector *sel, const struct in6_addr *ha)
{
	memcpy(&sel->daddr, ha, sizeof(*ha));
	sel->prefixlen_d = 128;
	sel->family = AF_INET6;
	sel->proto = IPPROTO_MH;
}

static void del_policy(const struct in6_addr *ha)
{
	struct request r;

	start(&r, XFRM_MSG_DELPOLICY, sizeof(r.pol_id));
	policy_selector(&r.pol_id.sel, ha);
	r.pol_id.dir = XFRM_POLICY_OUT;
	talk(&r, NULL, "DELPOLICY");
}

static int add_policy(const struct in6_addr *ha)
{
	struct xfrm_user_tmpl t = { 0 };
	struct request r;

	start(&r, XFRM_MSG_NEWPOLICY, sizeof(r.pol));
	policy_selector(&r.pol.sel, ha);
	r.pol.lft.soft_byte_limit = r.pol.lft.hard_byte_limit = XFRM_INF;
	r.pol.lft.soft_packet_limit = r.pol.lft.hard_packet_limit = XFRM_INF;
	r.pol.dir = XFRM_POLICY_OUT;
	t.id.proto = IPPROTO_DSTOPTS;
	t.family = AF_INET6;
	t.mode = XFRM_MODE_ROUTEOPTIMIZATION;
	t.aalgos = t.ealgos = t.calgos = ~0u;
	put_attr(&r, XFRMA_TMPL, &t, sizeof(t));
	return talk(&r, NULL, "NEWPOLICY");
}

/* A Binding Update (MH type 5, RFC 6275 6.1.7) from coa out of ifindex. */
static int send_bu(int fd, const struct in6_addr *coa, unsigned int ifindex,
		   const struct in6_addr *ha, unsigned short sequence)
{
	/* proto, hdr len (8-octet units, minus 1), type, reserved, checksum,
	 * sequence, flags A|H, lifetime; PadN to 16 octets */
	unsigned char bu[16] = { 59, 1, 5, 0, 0, 0, sequence >> 8, sequence & 0xff,
				 0xc0, 0, 0, 60, 1, 2, 0, 0 };
	char cbuf[CMSG_SPACE(sizeof(struct in6_pktinfo))] = { 0 };
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = *ha };
	struct iovec iov = { bu, sizeof(bu) };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);

	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi->ipi6_addr = *coa;
	pi->ipi6_ifindex = ifindex;
	if (sendmsg(fd, &m, 0) < 0) {
		perror("sendmsg BU");
		return -1;
	}
	return 0;
}

/* A failure after the probe: remove what this run installed, so that it
 * can run again (a daemon would do the same before its fallback). */
static int undo(const struct in6_addr *coa, int states, int policy, const struct in6_addr *ha)
{
	while (states-- > 0)
		del_state(&coa[states], ha);
	if (policy)
		del_policy(ha);
	return 1;
}

int main(int argc, char **argv)
{
	struct in6_addr ha, hoa, coa[MAX_COAS], back;
	unsigned int ifindex[MAX_COAS];
	int n = argc - 3, i, fd;

	if (argc < 4 || n > MAX_COAS || inet_pton(AF_INET6, argv[1], &ha) != 1 ||
	    inet_pton(AF_INET6, argv[2], &hoa) != 1) {
		fprintf(stderr, "usage: %s HA HOA COA:IFNAME [COA:IFNAME...] (at most %d)\n",
			argv[0], MAX_COAS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		char *colon = strrchr(argv[3 + i], ':');

		if (!colon)
			goto usage;
		*colon = '\0';
		ifindex[i] = if_nametoindex(colon + 1);
		if (inet_pton(AF_INET6, argv[3 + i], &coa[i]) != 1 || !ifindex[i])
			goto usage;
	}
	nl = socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	if (nl < 0) {
		perror("NETLINK_XFRM");
		return 1;
	}
	setsockopt(nl, SOL_NETLINK, NETLINK_EXT_ACK, &(int){ 1 }, sizeof(int));

	/* 1. probe, with the first state */
	if (add_state(&coa[0], &ha, &hoa))
		return 1;
	if (read_hoaddr(&coa[0], &ha, &back) || memcmp(&back, &hoa, sizeof(hoa))) {
		fprintf(stderr, "this kernel has no XFRMA_HOADDR: use a cmsg HAO or a "
			"marked classic state per CoA\n");
		del_state(&coa[0], &ha);
		return 3;
	}
	/* 2. the other states and the policy */
	for (i = 1; i < n; i++)
		if (add_state(&coa[i], &ha, &hoa))
			return undo(coa, i, 0, &ha);
	if (add_policy(&ha))
		return undo(coa, n, 0, &ha);
	/* 3. a BU per CoA, by its link */
	fd = socket(AF_INET6, SOCK_RAW, IPPROTO_MH);
	if (fd < 0) {
		perror("raw MH socket");
		return undo(coa, n, 1, &ha);
	}
	for (i = 0; i < n; i++)
		if (send_bu(fd, &coa[i], ifindex[i], &ha, 4343 + i))
			return undo(coa, n, 1, &ha);
	/* 4. read back */
	for (i = 0; i < n; i++) {
		char a[INET6_ADDRSTRLEN], h[INET6_ADDRSTRLEN];

		if (read_hoaddr(&coa[i], &ha, &back))
			return undo(coa, n, 1, &ha);
		printf("state %s: hoaddr %s\n", inet_ntop(AF_INET6, &coa[i], a, sizeof(a)),
		       inet_ntop(AF_INET6, &back, h, sizeof(h)));
	}
	return 0;
usage:
	fprintf(stderr, "bad COA:IFNAME %s\n", argv[3 + i]);
	return 2;
}

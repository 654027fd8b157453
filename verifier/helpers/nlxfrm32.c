// SPDX-License-Identifier: GPL-2.0-only
/*
 * nlxfrm32: one XFRM netlink request from a 32-bit task, for the compat
 * translation (net/xfrm/xfrm_compat.c) that only a compat syscall reaches.
 *
 * Reads the request, as its bytes, from stdin; sends it on a NETLINK_XFRM
 * socket; prints each datagram the kernel answers as one line of hex, until
 * an NLMSG_ERROR (ack or error) or NLMSG_DONE, or 5 s pass.  Built with
 * gcc -m32 (Debian's gcc-multilib) by the host before the guest boots.
 * Exit 0 when an answer came, 1 otherwise.
 */
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef NETLINK_XFRM
#define NETLINK_XFRM 6
#endif

static unsigned char req[65536], ans[65536];

int main(void)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	size_t len = 0;
	ssize_t n;
	int s, done = 0;

	while (len < sizeof(req) && (n = read(0, req + len, sizeof(req) - len)) > 0)
		len += n;
	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
	if (s < 0 || sendto(s, req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		perror("nlxfrm32");
		return 1;
	}
	while (!done) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct nlmsghdr *h;
		ssize_t i;

		if (poll(&p, 1, 5000) != 1)
			return 1;
		n = recv(s, ans, sizeof(ans), 0);
		if (n < 0)
			return 1;
		for (i = 0; i < n; i++)
			printf("%02x", ans[i]);
		printf("\n");
		for (h = (struct nlmsghdr *)ans; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE)
				done = 1;
	}
	return 0;
}

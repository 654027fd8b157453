// SPDX-License-Identifier: GPL-2.0-only
/*
 * sendcost: how many sends per second one socket makes, for the runtime
 * cost of the series' transmit-path changes (scripts/sendcost.py).
 *
 *   sendcost udp|udp-dstopt|mh DST COUNT
 *
 * udp:        UDP datagrams, no IPv6 options (the fast path)
 * udp-dstopt: UDP with a sticky destination options header holding only a
 *             PadN (options present, no HAO)
 * mh:         raw IPPROTO_MH Binding Updates, no options
 *
 * Prints "MODE SENDS_PER_SECOND".  DST should be reached through a dummy
 * device, so the cost measured is the sender's alone.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MH
#define IPPROTO_MH 135
#endif

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	/* Binding Update: payload proto 59, len 1 (16 bytes), type 5, seq 1,
	 * A and H flags, lifetime 1; the kernel fills the checksum (offset 4).
	 */
	static const unsigned char bu[16] = { 59, 1, 5, 0, 0, 0, 0, 1, 0xc0, 0, 0, 1 };
	/* next header (kernel fills it), length 0 (8 bytes), PadN of 4 */
	static const unsigned char padn[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_port = htons(9) };
	const unsigned char *data = (const unsigned char *)"sendcost";
	size_t len = 8;
	long count, i;
	double start, secs;
	int fd;

	if (argc != 4 || inet_pton(AF_INET6, argv[2], &dst.sin6_addr) != 1 ||
	    (count = atol(argv[3])) <= 0) {
		fprintf(stderr, "usage: sendcost udp|udp-dstopt|mh DST COUNT\n");
		return 2;
	}
	if (!strcmp(argv[1], "mh")) {
		fd = socket(AF_INET6, SOCK_RAW, IPPROTO_MH);
		dst.sin6_port = 0;
		data = bu;
		len = sizeof(bu);
	} else if (!strcmp(argv[1], "udp") || !strcmp(argv[1], "udp-dstopt")) {
		fd = socket(AF_INET6, SOCK_DGRAM, 0);
		if (fd >= 0 && !strcmp(argv[1], "udp-dstopt") &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_DSTOPTS, padn, sizeof(padn))) {
			perror("setsockopt IPV6_DSTOPTS");
			return 1;
		}
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	start = now();
	for (i = 0; i < count; i++) {
		if (sendto(fd, data, len, 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			perror("sendto");
			return 1;
		}
	}
	secs = now() - start;
	printf("%s %.0f\n", argv[1], count / secs);
	close(fd);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
// flood DEST_IP DEST_PORT SECONDS [PAYLOAD_BYTES]: send UDP datagrams to DEST_IP:DEST_PORT as
// fast as possible for SECONDS seconds (PAYLOAD_BYTES each, default 1400), to keep a NIC's
// transmit queue full when a crash comes. IPv4 or IPv6 (the address form decides). Errors from
// a full queue (ENOBUFS, EAGAIN) are ignored; at the end it prints how many datagrams went out.
// Built by qemu/harness.py with the host's gcc as a static binary, /bin/flood in the initramfs.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	static char buf[65507];
	unsigned long sent = 0, dropped = 0, i;
	double end;
	size_t len;
	int fd, port;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: flood DEST_IP DEST_PORT SECONDS [PAYLOAD_BYTES]\n");
		return 2;
	}
	port = atoi(argv[2]);
	len = argc == 5 ? strtoul(argv[4], NULL, 0) : 1400;
	if (len > sizeof(buf))
		len = sizeof(buf);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		sslen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		sslen = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "flood: bad address %s\n", argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("flood: socket");
		return 1;
	}
	for (i = 0; i < len; i++)
		buf[i] = (char)i;
	end = now() + atof(argv[3]);
	printf("flood: %s:%d, %zu-byte datagrams for %s s\n", argv[1], port, len, argv[3]);
	fflush(stdout);
	for (;;) {
		// Look at the clock every 64 datagrams only.
		if ((sent + dropped) % 64 == 0 && now() >= end)
			break;
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sslen) >= 0) {
			sent++;
		} else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR ||
			   errno == ECONNREFUSED || errno == ENETUNREACH || errno == EHOSTUNREACH) {
			dropped++;
		} else {
			perror("flood: sendto");
			return 1;
		}
	}
	printf("flood: done, %lu datagrams sent, %lu refused\n", sent, dropped);
	return 0;
}

/*
 * probe: resolve one name with the C library's getaddrinfo, the way a
 * plain C program does (hints: family from the network argument,
 * SOCK_STREAM, no flags), and print one JSON line like the Go probe:
 * when the lookup started (wall clock), how long it took, the addresses,
 * and gai_strerror's text on failure.
 *
 * usage: probe NAME [ip|ip4|ip6]
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: probe NAME [ip|ip4|ip6]\n");
		return 2;
	}
	const char *name = argv[1];
	const char *net = argc > 2 ? argv[2] : "ip";
	struct addrinfo hints, *res = NULL, *ai;
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_family = AF_UNSPEC;
	if (strcmp(net, "ip4") == 0)
		hints.ai_family = AF_INET;
	else if (strcmp(net, "ip6") == 0)
		hints.ai_family = AF_INET6;

	struct timespec wall, t0, t1;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = getaddrinfo(name, NULL, &hints, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long elapsed = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	long long start = (long long)wall.tv_sec * 1000000000LL + wall.tv_nsec;

	printf("{\"name\":\"%s\",\"network\":\"%s\",\"start_unix_ns\":%lld,\"elapsed_ns\":%lld,\"addrs\":[", name, net, start, elapsed);
	int first = 1;
	for (ai = rc == 0 ? res : NULL; ai != NULL; ai = ai->ai_next) {
		char buf[INET6_ADDRSTRLEN];
		const void *a;
		if (ai->ai_family == AF_INET)
			a = &((struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, a, buf, sizeof buf) == NULL)
			continue;
		printf("%s\"%s\"", first ? "" : ",", buf);
		first = 0;
	}
	printf("]");
	if (rc != 0)
		printf(",\"err\":\"%s\"", gai_strerror(rc));
	printf("}\n");
	if (res != NULL)
		freeaddrinfo(res);
	return rc == 0 ? 0 : 1;
}

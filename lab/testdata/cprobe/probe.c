/*
 * probe: resolve one name with the C library's getaddrinfo, the way a
 * plain C program does (hints: family from the network argument,
 * SOCK_STREAM, no flags), and print one JSON line like the Go probe:
 * when the lookup started (wall clock), how long it took, the addresses,
 * and gai_strerror's text on failure.
 *
 * With a third argument "hosts" it calls gethostbyname2 instead, once per
 * family in sequence as getent hosts does (AF_INET6, then AF_INET only if
 * that found nothing; one family for ip4 or ip6), and prints hstrerror's
 * text on failure.
 *
 * usage: probe NAME [ip|ip4|ip6] [hosts]
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static long long nsec(struct timespec t) { return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }

/* by_family: gethostbyname2 per family, as getent hosts. */
static int by_family(const char *name, const char *net) {
	int fams[2], n = 0;
	if (strcmp(net, "ip4") != 0)
		fams[n++] = AF_INET6;
	if (strcmp(net, "ip6") != 0)
		fams[n++] = AF_INET;
	struct timespec wall, t0, t1;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct hostent *he = NULL;
	for (int i = 0; i < n && he == NULL; i++)
		he = gethostbyname2(name, fams[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"name\":\"%s\",\"network\":\"%s\",\"start_unix_ns\":%lld,\"elapsed_ns\":%lld,\"addrs\":[", name, net, nsec(wall), nsec(t1) - nsec(t0));
	for (int i = 0; he != NULL && he->h_addr_list[i] != NULL; i++) {
		char buf[INET6_ADDRSTRLEN];
		if (inet_ntop(he->h_addrtype, he->h_addr_list[i], buf, sizeof buf) != NULL)
			printf("%s\"%s\"", i ? "," : "", buf);
	}
	printf("]");
	if (he == NULL)
		printf(",\"err\":\"%s\"", hstrerror(h_errno));
	printf("}\n");
	return he != NULL ? 0 : 1;
}

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
	if (argc > 3 && strcmp(argv[3], "hosts") == 0)
		return by_family(name, net);
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

#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

bool
addr_from_host(struct slice host, unsigned port, struct addr *out)
{
	char buf[INET6_ADDRSTRLEN];
	struct addr a;

	if (port > 65535 || !slice_copy(host, buf, sizeof(buf)))
		return false;
	memset(&a, 0, sizeof(a));
	struct sockaddr_in *v4 = (struct sockaddr_in *)&a.ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a.ss;
	if (inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		a.len = sizeof(*v4);
	} else if (inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		a.len = sizeof(*v6);
	} else {
		return false;
	}
	*out = a;
	return true;
}

bool
addr_parse(struct slice s, struct addr *out)
{
	struct slice host, port;
	uint64_t pn;

	if (s.n > 0 && s.p[0] == '[') {
		long close = slice_find(s, ']');
		if (close < 0)
			return false;
		host = slice_sub(s, 1, (size_t)close - 1);
		port = slice_sub(s, (size_t)close + 1, s.n);
		if (port.n < 2 || port.p[0] != ':')
			return false;
		port = slice_sub(port, 1, port.n);
	} else {
		long colon = -1;
		for (size_t i = 0; i < s.n; i++)
			if (s.p[i] == ':')
				colon = (long)i;
		if (colon < 0)
			return false;
		host = slice_sub(s, 0, (size_t)colon);
		port = slice_sub(s, (size_t)colon + 1, s.n);
		if (slice_find(host, ':') >= 0) /* bare v6 needs brackets */
			return false;
	}
	if (!slice_to_u64(port, 0, 65535, &pn))
		return false;
	return addr_from_host(host, (unsigned)pn, out);
}

bool
addr_is_v6(const struct addr *a)
{
	return a->ss.ss_family == AF_INET6;
}

unsigned
addr_port(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

const char *
addr_host_str(const struct addr *a, char *dst, size_t dstsz)
{
	const void *src = a->ss.ss_family == AF_INET6
		? (const void *)&((const struct sockaddr_in6 *)&a->ss)->sin6_addr
		: (const void *)&((const struct sockaddr_in *)&a->ss)->sin_addr;
	if (!inet_ntop(a->ss.ss_family, src, dst, (socklen_t)dstsz))
		snprintf(dst, dstsz, "?");
	return dst;
}

const char *
addr_str(const struct addr *a, char *dst, size_t dstsz)
{
	char host[INET6_ADDRSTRLEN];

	addr_host_str(a, host, sizeof(host));
	snprintf(dst, dstsz, addr_is_v6(a) ? "[%s]:%u" : "%s:%u", host, addr_port(a));
	return dst;
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
	if (a->ss.ss_family != b->ss.ss_family || addr_port(a) != addr_port(b))
		return false;
	if (a->ss.ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
		    &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr ==
	    ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
}

bool
addr_is_any(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
	return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
}

bool
addr_is_loopback(const struct addr *a)
{
	if (a->ss.ss_family == AF_INET6) {
		const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(v6) ||
		    (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
	}
	return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
}

void
addr_from_sockaddr(const struct sockaddr *sa, int salen, struct addr *out)
{
	size_t n = salen < 0 ? 0 : (size_t)salen;
	if (n > sizeof(out->ss))
		n = sizeof(out->ss);
	memset(out, 0, sizeof(*out));
	memcpy(&out->ss, sa, n);
	out->len = (socklen_t)n;
}

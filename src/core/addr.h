/* Socket addresses: parsing "HOST:PORT" / "[V6]:PORT" and printing them. */
#ifndef PBX_ADDR_H
#define PBX_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "core/slice.h"

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Longest printed form: "[" v6 "]:" port NUL. */
#define ADDR_STRLEN 56

/* Numeric host only (no DNS): "127.0.0.1:5060", "[::1]:5060". */
bool addr_parse(struct slice s, struct addr *out);
/* From a numeric host and port. */
bool addr_from_host(struct slice host, unsigned port, struct addr *out);
/* What accept(2) gave: copied, cut to our storage, never overrun. */
void addr_from_sockaddr(const struct sockaddr *sa, int salen, struct addr *out);
bool addr_is_v6(const struct addr *a);
unsigned addr_port(const struct addr *a);
/* "127.0.0.1:5060" or "[::1]:5060". */
const char *addr_str(const struct addr *a, char *dst, size_t dstsz);
/* Host only, no brackets: "::1". */
const char *addr_host_str(const struct addr *a, char *dst, size_t dstsz);
bool addr_equal(const struct addr *a, const struct addr *b);
/* 0.0.0.0 or [::]: a wildcard bind, not an address a peer can reach. */
bool addr_is_any(const struct addr *a);
/* 127.0.0.0/8 or ::1 (and ::ffff:127.x). */
bool addr_is_loopback(const struct addr *a);

#endif

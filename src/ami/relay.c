#include "ami/relay.h"

#include <inttypes.h>
#include <string.h>

#include "ami/perm.h"

static bool
is_header(struct slice h, const char *key)
{
	size_t kl = strlen(key);
	return h.n > kl && h.p[kl] == ':' && slice_caseeq_cstr(slice_sub(h, 0, kl), key);
}

void
ami_relay_action(const struct ami_msg *m, uint64_t sid, struct dbuf *out)
{
	struct slice id = ami_get(m, "ActionID");

	for (size_t i = 0; i < m->n; i++) {
		if (is_header(m->h[i], "ActionID"))
			continue;
		dbuf_put(out, m->h[i]);
		dbuf_puts(out, "\r\n");
	}
	dbuf_printf(out, "ActionID: " AMI_RELAY_PREFIX "%016" PRIx64 "-%.*s\r\n\r\n", sid,
	    (int)id.n, id.p);
}

enum ami_route
ami_relay_route(const struct ami_msg *m, uint64_t *sid)
{
	struct slice id = ami_get(m, "ActionID");
	const size_t pl = sizeof(AMI_RELAY_PREFIX) - 1;

	if (slice_startswith_case(id, AMI_INTERNAL_PREFIX))
		return AMI_ROUTE_INTERNAL;
	if (id.n < pl + 17 || memcmp(id.p, AMI_RELAY_PREFIX, pl) != 0 || id.p[pl + 16] != '-' ||
	    !slice_hex_to_u64(slice_sub(id, pl, 16), UINT64_MAX, sid))
		return AMI_ROUTE_EVENT;
	return AMI_ROUTE_SESSION;
}

void
ami_relay_restore(const struct ami_msg *m, struct dbuf *out)
{
	const size_t skip = sizeof(AMI_RELAY_PREFIX) - 1 + 17;
	bool done = false;

	for (size_t i = 0; i < m->n; i++) {
		struct slice h = m->h[i];
		if (!done && is_header(h, "ActionID")) {
			done = true;
			struct slice id = ami_get(m, "ActionID");
			if (id.n > skip)
				dbuf_printf(out, "ActionID: %.*s\r\n", (int)(id.n - skip),
				    id.p + skip);
			continue; /* the client sent none: none comes back */
		}
		dbuf_put(out, h);
		dbuf_puts(out, "\r\n");
	}
	dbuf_puts(out, "\r\n");
}

void
ami_relay_text(const struct ami_msg *m, struct dbuf *out)
{
	for (size_t i = 0; i < m->n; i++) {
		dbuf_put(out, m->h[i]);
		dbuf_puts(out, "\r\n");
	}
	dbuf_puts(out, "\r\n");
}

int
ami_relay_category(const struct ami_msg *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (is_header(m->h[i], "Privilege")) {
			/* "call,all": the named classes are the event's; bare "all" is all. */
			int expl, c = ami_perm_parse(ami_get(m, "Privilege"), &expl, NULL, 0);
			return expl ? expl : c;
		}
	return AMI_ALL;
}

#include "sip/fwd.h"

#include "sip/resp.h"
#include "sip/uri.h"

size_t
fwd_via_count(const struct sip_msg *m)
{
	size_t n = 0;
	struct slice item;
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_H_VIA)
			continue;
		struct slice list = m->hdrs[i].value;
		while (sip_list_next(&list, &item))
			n++;
	}
	return n;
}

static void
put_hdr(struct sbuf *b, const struct sip_hdr *h)
{
	sbuf_put(b, h->name);
	sbuf_puts(b, ": ");
	sbuf_put(b, h->value);
	sbuf_puts(b, "\r\n");
}

struct slice
fwd_cred_realm(struct slice value)
{
	struct slice rest, item;
	struct slice scheme = slice_cut(slice_trim(value), ' ', &rest);

	if (!slice_caseeq_cstr(scheme, "Digest"))
		return SLICE_NULL;
	while (sip_list_next(&rest, &item)) {
		struct slice v, k = slice_trim(slice_cut(item, '=', &v));
		if (!slice_caseeq_cstr(k, "realm"))
			continue;
		v = slice_trim(v);
		if (v.n >= 2 && v.p[0] == '"' && v.p[v.n - 1] == '"')
			v = slice_sub(v, 1, v.n - 2);
		return v;
	}
	return SLICE_NULL;
}

/* Privacy: id among the privacy values (RFC 3323, 3325)? */
static bool
privacy_id(const struct sip_msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		if (m->hdrs[i].id != SIP_H_PRIVACY)
			continue;
		struct slice rest = m->hdrs[i].value;
		while (rest.n) {
			struct slice v = slice_trim(slice_cut(rest, ';', &rest));
			if (slice_caseeq_cstr(v, "id"))
				return true;
		}
	}
	return false;
}

/* Route entries after dropping the first *skip of them, one per line. */
static void
put_routes(struct sbuf *b, const struct sip_hdr *h, size_t *skip)
{
	struct slice list = h->value, item;
	while (sip_list_next(&list, &item)) {
		if (*skip > 0) {
			(*skip)--;
			continue;
		}
		sbuf_puts(b, "Route: ");
		sbuf_put(b, item);
		sbuf_puts(b, "\r\n");
	}
}

/* Our Record-Route entries (on top of any others) and asserted identity. */
static void
put_added(struct sbuf *out, const struct fwd_req *f)
{
	for (size_t i = 0; i < 2; i++)
		if (f->rr[i])
			sbuf_printf(out, "Record-Route: %s\r\n", f->rr[i]);
	if (f->pai)
		sbuf_printf(out, "P-Asserted-Identity: %s\r\n", f->pai);
}

bool
fwd_request(const struct sip_msg *m, const struct fwd_req *f, struct sbuf *out)
{
	bool first_via = true, have_mf = false;
	bool drop_pai = f->privacy_id && privacy_id(m);
	size_t skip = f->pop_routes;

	sbuf_put(out, m->method);
	sbuf_puts(out, " ");
	sbuf_put(out, f->ruri.p ? f->ruri : m->ruri);
	sbuf_puts(out, " SIP/2.0\r\nVia: ");
	sbuf_puts(out, f->via);
	sbuf_puts(out, "\r\n");
	bool added = false;
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		if (!added && h->id != SIP_H_VIA) {
			put_added(out, f); /* after the Vias: keep those rows together */
			added = true;
		}
		switch (h->id) {
		case SIP_H_VIA:
			if (first_via && f->src)
				sip_put_top_via(out, h->value, f->src);
			else
				put_hdr(out, h);
			first_via = false;
			break;
		case SIP_H_ROUTE:
			if (!f->strip_routes)
				put_routes(out, h, &skip);
			break;
		case SIP_H_AUTHORIZATION:
		case SIP_H_PROXY_AUTHORIZATION:
			/* Ours were for us; another realm's (the PBX's) pass on. */
			if (!f->realm.p || !slice_eq(fwd_cred_realm(h->value), f->realm))
				put_hdr(out, h);
			break;
		case SIP_H_P_ASSERTED_IDENTITY:
		case SIP_H_P_PREFERRED_IDENTITY:
			/* Only a trusted hop asserts identities (RFC 3325 5). */
			if (!f->pai && !(drop_pai && h->id == SIP_H_P_ASSERTED_IDENTITY))
				put_hdr(out, h);
			break;
		case SIP_H_MAX_FORWARDS: {
			uint64_t mf;
			if (!have_mf && slice_to_u64(h->value, 1, 255, &mf))
				sbuf_printf(out, "Max-Forwards: %u\r\n", (unsigned)mf - 1);
			have_mf = true;
			break;
		}
		case SIP_H_CONTENT_LENGTH:
			break;
		default:
			put_hdr(out, h);
			break;
		}
	}
	if (!added)
		put_added(out, f);
	if (!have_mf)
		sbuf_puts(out, "Max-Forwards: 70\r\n");
	if (f->extra)
		sbuf_puts(out, f->extra);
	sbuf_printf(out, "Content-Length: %zu\r\n\r\n", m->body.n);
	sbuf_put(out, m->body);
	return !out->overflow;
}

bool
fwd_response(const struct sip_msg *m, struct sbuf *out)
{
	bool popped = false, rest_via = false;

	sbuf_printf(out, "SIP/2.0 %u ", m->status);
	sbuf_put(out, m->reason);
	sbuf_puts(out, "\r\n");
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		if (h->id == SIP_H_CONTENT_LENGTH)
			continue;
		if (h->id != SIP_H_VIA) {
			put_hdr(out, h);
			continue;
		}
		if (popped) {
			put_hdr(out, h);
			rest_via = true;
			continue;
		}
		/* The top entry is ours; the line may hold more. */
		struct slice list = h->value, item;
		sip_list_next(&list, &item);
		popped = true;
		list = slice_trim(list);
		if (list.n) {
			sbuf_puts(out, "Via: ");
			sbuf_put(out, list);
			sbuf_puts(out, "\r\n");
			rest_via = true;
		}
	}
	sbuf_printf(out, "Content-Length: %zu\r\n\r\n", m->body.n);
	sbuf_put(out, m->body);
	return rest_via && !out->overflow;
}

bool
fwd_hop_request(const struct sip_msg *inv, const char *method, struct slice to,
    struct sbuf *out)
{
	uint32_t num;
	struct slice meth, item, vias = sip_hdr_get(inv, SIP_H_VIA);

	if (!sip_cseq_parse(sip_hdr_get(inv, SIP_H_CSEQ), &num, &meth) ||
	    !sip_list_next(&vias, &item))
		return false;
	sbuf_printf(out, "%s ", method);
	sbuf_put(out, inv->ruri);
	sbuf_puts(out, " SIP/2.0\r\nVia: ");
	sbuf_put(out, item);
	sbuf_puts(out, "\r\nMax-Forwards: 70\r\nFrom: ");
	sbuf_put(out, sip_hdr_get(inv, SIP_H_FROM));
	sbuf_puts(out, "\r\nTo: ");
	sbuf_put(out, to.p ? to : sip_hdr_get(inv, SIP_H_TO));
	sbuf_puts(out, "\r\nCall-ID: ");
	sbuf_put(out, sip_hdr_get(inv, SIP_H_CALL_ID));
	sbuf_printf(out, "\r\nCSeq: %u %s\r\n", num, method);
	for (size_t i = 0; i < inv->nhdrs; i++)
		if (inv->hdrs[i].id == SIP_H_ROUTE)
			put_hdr(out, &inv->hdrs[i]);
	sbuf_puts(out, "Content-Length: 0\r\n\r\n");
	return !out->overflow;
}

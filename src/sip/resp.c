#include "sip/resp.h"

#include "sip/uri.h"

uint64_t
sip_hash_slices(uint64_t seed, const struct slice *v, size_t n)
{
	uint64_t h = SLICE_HASH_INIT(seed);
	for (size_t k = 0; k < n; k++) /* 0xff cannot occur in SIP text: a separator */
		h = slice_hash(slice_hash(h, v[k], false), SLICE_LIT("\xff"), false);
	return slice_hash_final(h);
}

/* The top Via, with received= and rport= filled in (RFC 3261 18.2.1, RFC 3581). */
void
sip_put_top_via(struct sbuf *b, struct slice via, const struct addr *src)
{
	struct sip_via v;
	char host[ADDR_STRLEN];
	struct slice item, list = via;

	if (!sip_list_next(&list, &item))
		return;
	addr_host_str(src, host, sizeof(host));
	sbuf_puts(b, "Via: ");
	if (!sip_via_parse(item, &v)) {
		sbuf_put(b, via);
		sbuf_puts(b, "\r\n");
		return;
	}
	sbuf_put(b, slice_sub(item, 0, (size_t)(v.params.p ? v.params.p - item.p : (long)item.n)));
	struct slice rest = v.params, p;
	while (rest.n) {
		p = slice_cut(rest, ';', &rest);
		struct slice key = slice_trim(slice_cut(p, '=', NULL));
		if (key.n == 0 || slice_caseeq_cstr(key, "received"))
			continue;
		if (slice_caseeq_cstr(key, "rport")) {
			sbuf_printf(b, ";rport=%u", addr_port(src));
			continue;
		}
		sbuf_puts(b, ";");
		sbuf_put(b, slice_trim(p));
	}
	/* RFC 3581: with rport, received is always added; RFC 3261: else if different. */
	struct slice rp;
	if (sip_param(v.params, "rport", &rp) || !slice_eq(v.host, slice_cstr(host)))
		sbuf_printf(b, ";received=%s", host);
	if (list.n) { /* further Vias of the same header line */
		sbuf_puts(b, ",");
		sbuf_put(b, list);
	}
	sbuf_puts(b, "\r\n");
}

void
sip_resp_start(struct sbuf *b, const struct sip_msg *m, const struct addr *src,
    uint64_t tag_seed, unsigned code, const char *reason)
{
	bool first_via = true;
	struct slice to = sip_hdr_get(m, SIP_H_TO), uri, params, tagv;

	sbuf_printf(b, "SIP/2.0 %u %s\r\n", code, reason);
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct sip_hdr *h = &m->hdrs[i];
		if (h->id != SIP_H_VIA)
			continue;
		if (first_via) {
			sip_put_top_via(b, h->value, src);
			first_via = false;
		} else {
			sbuf_puts(b, "Via: ");
			sbuf_put(b, h->value);
			sbuf_puts(b, "\r\n");
		}
	}
	sbuf_puts(b, "From: ");
	sbuf_put(b, sip_hdr_get(m, SIP_H_FROM));
	sbuf_puts(b, "\r\nTo: ");
	sbuf_put(b, to);
	if (code > 100 && sip_nameaddr(to, &uri, &params) && !sip_param(params, "tag", &tagv)) {
		/* Stable per call leg, so retransmissions get the same tag. */
		struct slice parts[2] = { sip_hdr_get(m, SIP_H_CALL_ID),
			sip_hdr_get(m, SIP_H_FROM) };
		sbuf_printf(b, ";tag=%016llx",
		    (unsigned long long)sip_hash_slices(tag_seed, parts, 2));
	}
	sbuf_puts(b, "\r\nCall-ID: ");
	sbuf_put(b, sip_hdr_get(m, SIP_H_CALL_ID));
	sbuf_puts(b, "\r\nCSeq: ");
	sbuf_put(b, sip_hdr_get(m, SIP_H_CSEQ));
	sbuf_puts(b, "\r\n");
}

void
sip_resp_end(struct sbuf *b)
{
	sbuf_puts(b, "Content-Length: 0\r\n\r\n");
}

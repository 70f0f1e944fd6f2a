#include "iax2/frame.h"

#include <string.h>
#include <time.h>
#include <netinet/in.h>

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool
iax_frame_parse(const uint8_t *buf, size_t n, struct iax_frame *f)
{
	memset(f, 0, sizeof(*f));
	if (n < IAX_MINI_HDR || n > IAX_MAX_FRAME)
		return false;
	uint16_t w0 = get16(buf);
	if (w0 == 0) {
		/* Meta frames (trunks, video): not spoken by the door. */
		f->kind = IAX_META;
		f->data = (struct slice){ (const char *)buf + 2, n - 2 };
		return true;
	}
	if (!(w0 & IAX_FLAG_FULL)) {
		f->kind = IAX_MINI;
		f->scallno = w0;
		f->ts = get16(buf + 2);
		f->data = (struct slice){ (const char *)buf + IAX_MINI_HDR, n - IAX_MINI_HDR };
		return true;
	}
	if (n < IAX_FULL_HDR)
		return false;
	f->kind = IAX_FULL;
	f->scallno = w0 & ~IAX_FLAG_FULL;
	uint16_t w1 = get16(buf + 2);
	f->retrans = (w1 & IAX_FLAG_RETRANS) != 0;
	f->dcallno = w1 & ~IAX_FLAG_RETRANS;
	f->ts = get32(buf + 4);
	f->oseqno = buf[8];
	f->iseqno = buf[9];
	f->type = buf[10];
	f->csub = buf[11];
	if (f->scallno == 0 || f->type == 0)
		return false;
	if (f->csub & 0x80) {
		/* 0x80 | n means 1 << n (media formats); 0xff is Asterisk's "none". */
		if (f->csub == 0xff || (f->csub & 0x7f) > 63)
			return false;
		f->subclass = (uint64_t)1 << (f->csub & 0x7f);
	} else {
		f->subclass = f->csub;
	}
	f->data = (struct slice){ (const char *)buf + IAX_FULL_HDR, n - IAX_FULL_HDR };
	return true;
}

bool
iax_ies_parse(struct slice data, struct iax_ies *ies, const char **why)
{
	const uint8_t *p = (const uint8_t *)data.p;
	size_t n = data.n, i = 0;

	memset(ies, 0, sizeof(*ies));
	while (i < n) {
		if (n - i < 2) {
			*why = "an information element cut after its type";
			return false;
		}
		uint8_t ie = p[i], len = p[i + 1];
		if ((size_t)len > n - i - 2) {
			*why = "an information element longer than the frame";
			return false;
		}
		ies->v[ie] = (struct slice){ (const char *)p + i + 2, len };
		ies->seen[ie / 64] |= (uint64_t)1 << (ie % 64);
		i += 2 + (size_t)len;
	}
	return true;
}

bool
iax_ie_present(const struct iax_ies *ies, uint8_t ie)
{
	return (ies->seen[ie / 64] >> (ie % 64)) & 1;
}

bool
iax_ie_u16(const struct iax_ies *ies, uint8_t ie, uint16_t *out)
{
	if (!iax_ie_present(ies, ie) || ies->v[ie].n != 2)
		return false;
	*out = get16((const uint8_t *)ies->v[ie].p);
	return true;
}

bool
iax_ie_u32(const struct iax_ies *ies, uint8_t ie, uint32_t *out)
{
	if (!iax_ie_present(ies, ie) || ies->v[ie].n != 4)
		return false;
	*out = get32((const uint8_t *)ies->v[ie].p);
	return true;
}

uint8_t
iax_compress_subclass(uint64_t subclass, bool *ok)
{
	*ok = true;
	if (subclass < 0x80)
		return (uint8_t)subclass;
	for (unsigned bit = 0; bit < 64; bit++)
		if (subclass == (uint64_t)1 << bit)
			return (uint8_t)(0x80 | bit);
	*ok = false; /* not a single bit: cannot be said in one byte */
	return 0xff;
}

void
iax_out_raw(struct iax_out *o, const void *v, size_t n)
{
	if (o->overflow || n > sizeof(o->buf) - o->n) {
		o->overflow = true;
		return;
	}
	if (n)
		memcpy(o->buf + o->n, v, n);
	o->n += n;
}

void
iax_out_full(struct iax_out *o, uint16_t scallno, uint16_t dcallno, uint32_t ts, uint8_t oseqno,
    uint8_t iseqno, uint8_t type, uint64_t subclass)
{
	bool ok;
	uint8_t csub = iax_compress_subclass(subclass, &ok);
	uint8_t h[IAX_FULL_HDR] = {
		(uint8_t)(0x80 | scallno >> 8), (uint8_t)scallno,
		(uint8_t)(dcallno >> 8 & 0x7f), (uint8_t)dcallno,
		(uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
		oseqno, iseqno, type, csub,
	};
	o->n = 0;
	o->overflow = !ok;
	iax_out_raw(o, h, sizeof(h));
}

void
iax_out_ie(struct iax_out *o, uint8_t ie, const void *v, size_t n)
{
	uint8_t h[2] = { ie, (uint8_t)n };
	if (n > 255) {
		o->overflow = true;
		return;
	}
	iax_out_raw(o, h, 2);
	iax_out_raw(o, v, n);
}

void
iax_out_ie_str(struct iax_out *o, uint8_t ie, const char *s)
{
	iax_out_ie(o, ie, s, strlen(s));
}

void
iax_out_ie_u8(struct iax_out *o, uint8_t ie, uint8_t v)
{
	iax_out_ie(o, ie, &v, 1);
}

void
iax_out_ie_u16(struct iax_out *o, uint8_t ie, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	iax_out_ie(o, ie, b, 2);
}

void
iax_out_ie_u32(struct iax_out *o, uint8_t ie, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	iax_out_ie(o, ie, b, 4);
}

void
iax_apparent_addr(const void *sockaddr, uint8_t out[16])
{
	const struct sockaddr *sa = sockaddr;

	/* chan_iax2 copies a struct sockaddr_in as it lies in memory: family
	 * in the host's order (libiax2 reads it the same way), then port and
	 * address in network order. An IPv6 peer gets the family alone. */
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = sockaddr;
		uint16_t fam = AF_INET;
		memcpy(out, &fam, 2);
		memcpy(out + 2, &in->sin_port, 2);
		memcpy(out + 4, &in->sin_addr, 4);
	} else {
		uint16_t fam = (uint16_t)sa->sa_family;
		memcpy(out, &fam, 2);
	}
}

uint32_t
iax_datetime(long long unix_time)
{
	time_t t = (time_t)unix_time;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return 0;
	uint32_t v = (uint32_t)(tm.tm_sec >> 1) & 0x1f;
	v |= ((uint32_t)tm.tm_min & 0x3f) << 5;
	v |= ((uint32_t)tm.tm_hour & 0x1f) << 11;
	v |= ((uint32_t)tm.tm_mday & 0x1f) << 16;
	v |= ((uint32_t)(tm.tm_mon + 1) & 0xf) << 21;
	v |= ((uint32_t)(tm.tm_year - 100) & 0x7f) << 25;
	return v;
}

const char *
iax_cmd_name(uint64_t subclass)
{
	static const char *const names[] = {
		"?", "NEW", "PING", "PONG", "ACK", "HANGUP", "REJECT", "ACCEPT", "AUTHREQ",
		"AUTHREP", "INVAL", "LAGRQ", "LAGRP", "REGREQ", "REGAUTH", "REGACK", "REGREJ",
		"REGREL", "VNAK", "DPREQ", "DPREP", "DIAL", "TXREQ", "TXCNT", "TXACC", "TXREADY",
		"TXREL", "TXREJ", "QUELCH", "UNQUELCH", "POKE", "PAGE", "MWI", "UNSUPPORT",
		"TRANSFER", "PROVISION", "FWDOWNL", "FWDATA", "TXMEDIA", "RTKEY", "CALLTOKEN",
	};
	return subclass < sizeof(names) / sizeof(names[0]) ? names[subclass] : "?";
}

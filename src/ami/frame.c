#include "ami/frame.h"

#include <stdlib.h>
#include <string.h>

static bool apply_limit(struct ami_reader *r, size_t max_headers);

bool
ami_reader_init(struct ami_reader *r, size_t max_line, size_t max_headers)
{
	memset(r, 0, sizeof(*r));
	r->max_line = max_line;
	return apply_limit(r, max_headers);
}

/* Grows or shrinks the per-line arrays; the message handed out last keeps
 * pointing into them, so this waits for the next message (restart). */
static bool
apply_limit(struct ami_reader *r, size_t max_headers)
{
	if (max_headers <= r->max_headers) {
		r->max_headers = max_headers;
		return true;
	}
	size_t *o = realloc(r->offs, max_headers * sizeof(*o));
	if (o)
		r->offs = o;
	size_t *l = realloc(r->lens, max_headers * sizeof(*l));
	if (l)
		r->lens = l;
	struct slice *v = realloc(r->view, max_headers * sizeof(*v));
	if (v)
		r->view = v;
	if (!o || !l || !v)
		return false;
	r->max_headers = max_headers;
	return true;
}

bool
ami_reader_limit(struct ami_reader *r, size_t max_headers)
{
	if (r->done) {
		r->want_headers = max_headers;
		return true;
	}
	return apply_limit(r, max_headers);
}

void
ami_reader_free(struct ami_reader *r)
{
	free(r->arena);
	free(r->offs);
	free(r->lens);
	free(r->view);
	memset(r, 0, sizeof(*r));
}

size_t
ami_reader_pending(const struct ami_reader *r)
{
	return r->done ? 0 : r->used + (r->discarding ? 1 : 0);
}

static bool
append(struct ami_reader *r, const char *p, size_t n)
{
	if (n == 0)
		return true; /* a blank line may come before any arena exists */
	if (r->used + n > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->used + n)
			cap *= 2;
		char *a = realloc(r->arena, cap);
		if (!a)
			return false;
		r->arena = a;
		r->cap = cap;
	}
	memcpy(r->arena + r->used, p, n);
	r->used += n;
	return true;
}

static void
restart(struct ami_reader *r)
{
	r->used = r->line_start = r->n = 0;
	r->status = AMI_MSG_OK;
	r->done = false;
	if (r->want_headers) {
		apply_limit(r, r->want_headers); /* out of memory: the old limit stays */
		r->want_headers = 0;
	}
}

/* Asterisk reports too many lines before a long one (do_message's order). */
static void
mark(struct ami_reader *r, enum ami_status st)
{
	if (r->status == AMI_MSG_OK || st == AMI_MSG_TOO_MANY)
		r->status = st;
}

/* A complete line is at arena + line_start. */
static const struct ami_msg *
end_line(struct ami_reader *r)
{
	size_t len = r->used - r->line_start;
	const char *p = len ? r->arena + r->line_start : ""; /* no arena before a first byte */

	if (len && p[len - 1] == '\r')
		len--;
	if (len == 0) {
		for (size_t i = 0; i < r->n; i++)
			r->view[i] = (struct slice){ r->arena + r->offs[i], r->lens[i] };
		r->msg = (struct ami_msg){ r->view, r->n, r->status };
		r->done = true;
		return &r->msg;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
			mark(r, AMI_MSG_BAD_BYTES);
	if (r->n == r->max_headers) {
		mark(r, AMI_MSG_TOO_MANY);
		r->used = r->line_start;
		return NULL;
	}
	r->offs[r->n] = r->line_start;
	r->lens[r->n] = len;
	r->n++;
	r->line_start = r->used;
	return NULL;
}

const struct ami_msg *
ami_reader_feed(struct ami_reader *r, struct slice in, size_t *used, bool *oom)
{
	size_t i = 0;

	*oom = false;
	if (r->done)
		restart(r);
	while (i < in.n) {
		const char *lf = memchr(in.p + i, '\n', in.n - i);
		size_t chunk = lf ? (size_t)(lf - in.p) - i : in.n - i;
		if (r->discarding) {
			if (!lf)
				break;
			r->discarding = false;
			i += chunk + 1;
			continue;
		}
		/* The line with its LF must fit in max_line bytes, as in Asterisk. */
		size_t have = r->used - r->line_start + chunk + (lf ? 1 : 0);
		if (have > r->max_line || (!lf && have >= r->max_line)) {
			mark(r, AMI_MSG_LINE_TOO_LONG);
			r->used = r->line_start;
			r->discarding = !lf;
			i += chunk + (lf ? 1 : 0);
			continue;
		}
		if (!append(r, in.p + i, chunk)) {
			*oom = true;
			return NULL;
		}
		i += chunk;
		if (!lf)
			break;
		i++;
		const struct ami_msg *m = end_line(r);
		if (m) {
			*used = i;
			return m;
		}
	}
	*used = in.n;
	return NULL;
}

static struct slice
get(const struct ami_msg *m, const char *key, bool nonempty)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i < m->n; i++) {
		struct slice h = m->h[i];
		if (h.n <= kl || h.p[kl] != ':' || !slice_caseeq_cstr(slice_sub(h, 0, kl), key))
			continue;
		struct slice v = slice_sub(h, kl + 1, h.n - kl - 1);
		while (v.n && (unsigned char)v.p[0] < 33) {
			v.p++;
			v.n--;
		}
		if (nonempty && v.n == 0)
			continue;
		return v;
	}
	return (struct slice){ "", 0 };
}

struct slice
ami_get(const struct ami_msg *m, const char *key)
{
	return get(m, key, false);
}

struct slice
ami_get_nonempty(const struct ami_msg *m, const char *key)
{
	return get(m, key, true);
}

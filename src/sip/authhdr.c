#include "sip/authhdr.h"

#include <stddef.h>
#include <string.h>

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_tokc(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c && strchr("-.!%*_+`'~/:@[]?&$", c));
}

static struct slice *
field(struct guard_proof *p, struct slice name)
{
	static const struct {
		const char *name;
		size_t off;
	} map[] = {
		{ "username", offsetof(struct guard_proof, username) },
		{ "realm", offsetof(struct guard_proof, realm) },
		{ "nonce", offsetof(struct guard_proof, nonce) },
		{ "uri", offsetof(struct guard_proof, uri) },
		{ "response", offsetof(struct guard_proof, response) },
		{ "algorithm", offsetof(struct guard_proof, algorithm) },
		{ "cnonce", offsetof(struct guard_proof, cnonce) },
		{ "nc", offsetof(struct guard_proof, nc) },
		{ "qop", offsetof(struct guard_proof, qop) },
		{ "opaque", offsetof(struct guard_proof, opaque) },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (slice_caseeq_cstr(name, map[i].name))
			return (struct slice *)((char *)p + map[i].off);
	return NULL;
}

bool
sip_authhdr_parse(struct slice value, struct guard_proof *out, char *scratch,
    size_t scratchsz, size_t *used, const char **why)
{
	struct slice v = slice_trim(value);
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	while (i < v.n && !is_ws(v.p[i]))
		i++;
	if (!slice_caseeq_cstr(slice_sub(v, 0, i), "Digest"))
		return false; /* Basic, Bearer...: not a digest credential */

	for (;;) {
		while (i < v.n && (is_ws(v.p[i]) || v.p[i] == ','))
			i++;
		if (i >= v.n)
			break;
		size_t ns = i;
		while (i < v.n && is_tokc(v.p[i]))
			i++;
		struct slice name = slice_sub(v, ns, i - ns);
		while (i < v.n && is_ws(v.p[i]))
			i++;
		if (name.n == 0 || i >= v.n || v.p[i] != '=') {
			*why = "malformed Digest parameter";
			return false;
		}
		i++;
		while (i < v.n && is_ws(v.p[i]))
			i++;
		struct slice val;
		if (i < v.n && v.p[i] == '"') {
			size_t vs = ++i;
			bool esc = false;
			while (i < v.n && v.p[i] != '"') {
				if (v.p[i] == '\\') {
					esc = true;
					i++;
				}
				i++;
			}
			if (i >= v.n) {
				*why = "unterminated quoted string";
				return false;
			}
			val = slice_sub(v, vs, i - vs);
			i++;
			if (esc) { /* unescape into scratch: \x -> x */
				if (*used + val.n > scratchsz) {
					*why = "Authorization header too large";
					return false;
				}
				char *d = scratch + *used;
				size_t o = 0;
				for (size_t k = 0; k < val.n; k++) {
					if (val.p[k] == '\\' && k + 1 < val.n)
						k++;
					d[o++] = val.p[k];
				}
				val = (struct slice){ d, o };
				*used += o;
			}
		} else {
			size_t vs = i;
			while (i < v.n && v.p[i] != ',' && !is_ws(v.p[i]))
				i++;
			val = slice_sub(v, vs, i - vs);
		}
		if (val.n > SIP_AUTH_MAX_PARAM) {
			*why = "Digest parameter too long";
			return false;
		}
		struct slice *f = field(out, name);
		if (f) {
			if (f->p) {
				*why = "Digest parameter given twice";
				return false;
			}
			f->p = val.p ? val.p : "";
			f->n = val.n;
		}
		while (i < v.n && is_ws(v.p[i]))
			i++;
		if (i < v.n && v.p[i] != ',') {
			*why = "expected ',' between Digest parameters";
			return false;
		}
	}
	return true;
}

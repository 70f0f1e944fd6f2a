#include "watch/parse.h"

#include <stdio.h>
#include <string.h>

/*
 * Every address is read from a place the logging program wrote, never from
 * a place the attacker's text reaches: the username, the caller ID and the
 * call ID all come before (or, for the call ID, between fixed words), so a
 * user named "x from 6.6.6.6" gets nobody else banned. Matches are anchored
 * at the start of the message or at the end of the line.
 */

static long
find(struct slice s, size_t from, const char *needle)
{
	size_t n = strlen(needle);
	if (from > s.n)
		return -1;
	const char *p = memmem(s.p + from, s.n - from, needle, n);
	return p ? p - s.p : -1;
}

static long
rfind(struct slice s, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = s.n; i >= n; i--)
		if (memcmp(s.p + i - n, needle, n) == 0)
			return (long)(i - n);
	return -1;
}

static bool
starts(struct slice s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

static bool
ends(struct slice s, const char *suffix)
{
	size_t n = strlen(suffix);
	return s.n >= n && memcmp(s.p + s.n - n, suffix, n) == 0;
}

static struct slice
from(struct slice s, size_t off)
{
	return off <= s.n ? slice_sub(s, off, s.n - off) : slice_sub(s, s.n, 0);
}

/*
 * An address at s[off]: "1.2.3.4", "1.2.3.4:5060", "[2001:db8::1]:5060",
 * "2001:db8::1". *end gets the offset after it (and after a port).
 */
static bool
addr_at(struct slice s, size_t off, struct ipkey *k, size_t *end)
{
	size_t i = off, a, b;
	if (i < s.n && s.p[i] == '[') {
		a = ++i;
		while (i < s.n && s.p[i] != ']')
			i++;
		if (i == s.n)
			return false;
		b = i++;
	} else {
		a = i;
		bool dot = false;
		while (i < s.n && (strchr("0123456789abcdefABCDEF:.", s.p[i]) && s.p[i])) {
			if (s.p[i] == '.')
				dot = true;
			/* 1.2.3.4:5060: a colon after a dot starts the port. */
			if (s.p[i] == ':' && dot)
				break;
			i++;
		}
		b = i;
	}
	if (b == a || b - a > 45 || !ipkey_parse(slice_sub(s, a, b - a), k))
		return false;
	if (i < s.n && s.p[i] == ':') {
		i++;
		while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9')
			i++;
	}
	*end = i;
	return true;
}

static void
what(struct watch_hit *h, const char *w)
{
	snprintf(h->what, sizeof(h->what), "%s", w);
}

/* ---- sshd --------------------------------------------------------------- */

/*
 * The message after a syslog or journal prefix ("Nov 22 10:00:00 host
 * sshd[123]: "), or the line itself (sshd -E). A prefix from another
 * program (a local user's `logger`) is not sshd's: no message.
 */
static bool
sshd_message(struct slice line, struct slice *msg)
{
	long p = find(line, 0, "sshd[");
	if (p < 0)
		p = find(line, 0, "sshd-session[");
	if (p < 0)
		p = find(line, 0, "sshd:");
	if (p >= 0) {
		long c = find(line, (size_t)p, ": ");
		if (c < 0)
			return false;
		*msg = from(line, (size_t)c + 2);
		return true;
	}
	/* No program name: sshd's own -E file, where lines start with the
	 * message; a syslog line of another program has its ": ". */
	static const char *const starts_ok[] = { "Failed ", "Invalid user ", "Illegal user ",
		"maximum authentication", "User ", "Authentication failure", "authentication failure",
		"Did not receive identification", "ROOT LOGIN REFUSED", NULL };
	for (size_t i = 0; starts_ok[i]; i++)
		if (starts(line, starts_ok[i])) {
			*msg = line;
			return true;
		}
	return false;
}

/* The address after the last " from " (sshd writes it after the user). */
static bool
sshd_from(struct slice m, struct watch_hit *h, size_t user_off)
{
	long f = rfind(m, " from ");
	size_t end;
	if (f < 0 || (size_t)f < user_off || !addr_at(m, (size_t)f + 6, &h->addr, &end))
		return false;
	/* What sshd writes after the address, and nothing else:
	 * [ port N][ sshN][ [preauth]]. */
	struct slice rest = from(m, end);
	if (starts(rest, " port ")) {
		size_t i = 6;
		while (i < rest.n && rest.p[i] >= '0' && rest.p[i] <= '9')
			i++;
		if (i == 6)
			return false;
		rest = from(rest, i);
	}
	if (starts(rest, " ssh")) {
		size_t i = 4;
		while (i < rest.n && rest.p[i] >= '0' && rest.p[i] <= '9')
			i++;
		rest = from(rest, i);
	}
	if (starts(rest, " [preauth]"))
		rest = from(rest, 10);
	while (rest.n && (rest.p[rest.n - 1] == ' ' || rest.p[rest.n - 1] == '\r'))
		rest.n--;
	if (rest.n)
		return false;
	h->user = slice_sub(m, user_off, (size_t)f - user_off);
	return true;
}

bool
watch_parse_sshd(struct slice line, struct watch_hit *h)
{
	struct slice m;

	memset(h, 0, sizeof(*h));
	if (line.n > WATCH_LINE_MAX || !sshd_message(line, &m))
		return false;
	if (starts(m, "Failed ")) {
		long sp = find(m, 7, " ");
		if (sp < 0 || find(m, 7, "publickey ") == 7)
			return false;	/* a key refused is a client trying its keys */
		size_t u = (size_t)sp + 1;
		if (!starts(from(m, u), "for "))
			return false;
		u += 4;
		bool invalid = starts(from(m, u), "invalid user ");
		if (invalid)
			u += 13;
		what(h, invalid ? "failed password, invalid user" : "failed password");
		return sshd_from(m, h, u);
	}
	static const struct {
		const char *prefix, *what;
	} simple[] = {
		{ "Invalid user ", "invalid user" },
		{ "Illegal user ", "invalid user" },
		{ "maximum authentication attempts exceeded for ", "too many attempts" },
		{ "Authentication failure for ", "authentication failure" },
		{ "authentication failure for ", "authentication failure" },
		{ "User not known to the underlying authentication module for ", "unknown user" },
		{ "Did not receive identification string", "no identification (scanner)" },
		{ "ROOT LOGIN REFUSED", "root login refused" },
	};
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
		if (starts(m, simple[i].prefix)) {
			what(h, simple[i].what);
			size_t u = strlen(simple[i].prefix);
			if (simple[i].prefix[strlen(simple[i].prefix) - 1] != ' ')
				u = 0;
			if (i == 7) {	/* "ROOT LOGIN REFUSED FROM <addr>" */
				long f = find(m, 0, " FROM ");
				size_t end;
				return f >= 0 && addr_at(m, (size_t)f + 6, &h->addr, &end);
			}
			return sshd_from(m, h, u);
		}
	if (starts(m, "User ") && find(m, 5, " not allowed because") > 0) {
		what(h, "user not allowed");
		long na = find(m, 5, " not allowed because");
		struct slice head = slice_sub(m, 0, (size_t)na);
		long f = rfind(head, " from ");
		size_t end;
		if (f < 0 || !addr_at(head, (size_t)f + 6, &h->addr, &end) || end != head.n)
			return false;
		h->user = slice_sub(m, 5, (size_t)f - 5);
		return true;
	}
	return false;
}

/* ---- Asterisk ----------------------------------------------------------- */

/*
 * "[Nov 22 10:00:00] NOTICE[1234][C-00000001] chan_sip.c: msg", with the
 * module part "file.c:", "file.c:123" or "file.c:123 in func:". A line
 * without a level tag is the message itself.
 */
static struct slice
ast_message(struct slice line)
{
	static const char *const levels[] = { "NOTICE[", "SECURITY[", "WARNING[", "ERROR[",
		"VERBOSE[", NULL };
	long p = -1;
	for (size_t i = 0; levels[i] && p < 0; i++)
		p = find(line, 0, levels[i]);
	if (p < 0)
		return line;
	long sp = find(line, (size_t)p, " ");	/* after the tag and its [..] */
	if (sp < 0)
		return slice_sub(line, line.n, 0);
	long c = find(line, (size_t)sp + 1, ": ");
	if (c < 0)
		return slice_sub(line, line.n, 0);
	return from(line, (size_t)c + 2);
}

/* Security events: Name="value" fields, none holding a quote. */
static bool
ast_security_event(struct slice m, struct watch_hit *h)
{
	static const char *const bad[] = { "FailedACL", "InvalidAccountID",
		"ChallengeResponseFailed", "InvalidPassword", NULL };
	size_t i = 0;
	bool failure = false, addr = false;

	while (i < m.n) {
		long eq = find(m, i, "=\"");
		if (eq < 0)
			return false;
		struct slice name = slice_sub(m, i, (size_t)eq - i);
		long q = find(m, (size_t)eq + 2, "\"");
		if (q < 0)
			return false;
		struct slice v = slice_sub(m, (size_t)eq + 2, (size_t)q - (size_t)eq - 2);
		i = (size_t)q + 1;
		if (i < m.n && m.p[i] != ',')
			return false;	/* a quote inside a value: not Asterisk's line */
		i++;
		if (slice_eq_cstr(name, "SecurityEvent")) {
			for (size_t b = 0; bad[b]; b++)
				if (slice_eq_cstr(v, bad[b])) {
					failure = true;
					what(h, bad[b]);
				}
		} else if (slice_eq_cstr(name, "AccountID")) {
			h->user = v;
		} else if (slice_eq_cstr(name, "RemoteAddress") && !addr) {
			/* IPV4/UDP/1.2.3.4/5060 */
			long s1 = find(v, 0, "/"), s2 = s1 < 0 ? -1 : find(v, (size_t)s1 + 1, "/");
			size_t end;
			if (s2 < 0 || !addr_at(v, (size_t)s2 + 1, &h->addr, &end))
				return false;
			addr = true;
		}
	}
	return failure && addr;
}

bool
watch_parse_asterisk(struct slice line, struct watch_hit *h)
{
	size_t end;

	memset(h, 0, sizeof(*h));
	if (line.n > WATCH_LINE_MAX)
		return false;
	struct slice m = ast_message(line);
	while (m.n && (m.p[m.n - 1] == ' ' || m.p[m.n - 1] == '\r'))
		m.n--;
	if (starts(m, "SecurityEvent=\""))
		return ast_security_event(m, h);

	/* chan_sip: "Registration from '<sip:..>' failed for 'ADDR:PORT' - Wrong password" */
	static const char *const reg_reasons[] = { "Wrong password", "Username/auth name mismatch",
		"No matching peer found", "Not a local domain", "Device does not match ACL",
		"Peer is not supposed to register", "ACL error (permit/deny)", NULL };
	if (starts(m, "Registration from '"))
		for (size_t i = 0; reg_reasons[i]; i++) {
			char tail[64];
			snprintf(tail, sizeof(tail), "' - %s", reg_reasons[i]);
			if (!ends(m, tail))
				continue;
			struct slice head = slice_sub(m, 0, m.n - strlen(tail));
			long f = rfind(head, "' failed for '");
			if (f < 0 || !addr_at(head, (size_t)f + 14, &h->addr, &end) || end != head.n)
				return false;
			what(h, reg_reasons[i]);
			return true;
		}

	/* chan_pjsip: "Request 'INVITE' from '<sip:..>' failed for 'ADDR:PORT'
	 * (callid: ID) - No matching endpoint found" */
	static const char *const req_reasons[] = { "No matching endpoint found",
		"Not match Endpoint ACL", "Not match Endpoint Contact ACL", "Failed to authenticate",
		"Error to authenticate", NULL };
	if (starts(m, "Request "))
		for (size_t i = 0; req_reasons[i]; i++) {
			char tail[64];
			snprintf(tail, sizeof(tail), ") - %s", req_reasons[i]);
			if (!ends(m, tail))
				continue;
			struct slice head = slice_sub(m, 0, m.n - strlen(tail));
			/* The From before and the call ID after are both the
			 * caller's: a line where either repeats our words is
			 * ambiguous, and an ambiguous line bans nobody. */
			long c = rfind(head, "' (callid: ");
			if (c < 0 || find(head, 0, "' (callid: ") != c ||
			    find(m, 0, "' failed for '") != rfind(m, "' failed for '") ||
			    memchr(head.p + c, ')', head.n - (size_t)c))
				return false;
			struct slice before = slice_sub(head, 0, (size_t)c);
			long f = rfind(before, "' failed for '");
			if (f < 0 || !addr_at(before, (size_t)f + 14, &h->addr, &end) ||
			    end != before.n)
				return false;
			what(h, req_reasons[i]);
			return true;
		}

	/* chan_iax2: "No registration for peer 'x' (from ADDR)" */
	if (starts(m, "No registration for peer '") && ends(m, ")")) {
		long f = rfind(m, " (from ");
		if (f < 0 || !addr_at(m, (size_t)f + 7, &h->addr, &end) || end != m.n - 1)
			return false;
		what(h, "no registration for peer");
		return true;
	}

	/* chan_sip: "Call from '...' (UDP:ADDR:PORT) to extension '...' rejected
	 * because extension not found in context '...'." */
	if (starts(m, "Call from '") && find(m, 0, "rejected because extension not found") > 0) {
		long q = find(m, 11, "' (");
		if (q < 0)
			return false;
		size_t a = (size_t)q + 3;
		if (starts(from(m, a), "UDP:") || starts(from(m, a), "TCP:"))
			a += 4;
		if (!addr_at(m, a, &h->addr, &end) || !starts(from(m, end), ") to extension '"))
			return false;
		what(h, "extension not found");
		return true;
	}

	/* chan_iax2 and the AMI: "[Host ]ADDR failed to authenticate as 'x'",
	 * "Host ADDR failed MD5 authentication for 'x'", "ADDR tried to
	 * authenticate with nonexistent user 'x'". */
	size_t a = starts(m, "Host ") ? 5 : 0;
	if (addr_at(m, a, &h->addr, &end)) {
		struct slice rest = from(m, end);
		if (starts(rest, " failed to authenticate") || starts(rest, " failed MD5 authentication") ||
		    starts(rest, " tried to authenticate with nonexistent user")) {
			what(h, "failed to authenticate");
			return true;
		}
		return false;
	}
	if (starts(m, "hacking attempt detected '") && ends(m, "'")) {
		if (!addr_at(m, 26, &h->addr, &end) || end != m.n - 1)
			return false;
		what(h, "hacking attempt");
		return true;
	}
	if (starts(m, "Rejecting unknown SIP connection from ")) {
		if (!addr_at(m, 38, &h->addr, &end) || end != m.n)
			return false;
		what(h, "unknown SIP connection");
		return true;
	}
	return false;
}

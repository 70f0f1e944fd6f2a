#include "core/ports.h"

#include <stdio.h>
#include <string.h>

/* Adds one port unless the same protocol and port is there already (a
 * second address on one port adds nothing to a firewall). */
static size_t
add(struct port_use *out, size_t n, size_t max, enum transport_proto p, unsigned lo,
    unsigned hi, bool loop, bool sip, const char *fmt, const char *arg)
{
	for (size_t i = 0; i < n; i++)
		if (out[i].r.proto == p && out[i].r.lo == lo && out[i].r.hi == hi) {
			out[i].loopback &= loop;
			out[i].sip |= sip;
			return n;
		}
	if (n == max)
		return n;
	out[n].r = (struct port_range){ p, lo, hi };
	out[n].loopback = loop;
	out[n].sip = sip;
	snprintf(out[n].why, sizeof(out[n].why), fmt, arg);
	return n + 1;
}

size_t
ports_listeners(const struct config *c, struct port_use *out, size_t max)
{
	static const char *const names[] = { "udp", "tcp", "tls" };
	char a[80], w[96];
	size_t n = 0;

	for (size_t i = 0; i < c->n_transports; i++) {
		const struct transport_spec *t = &c->transports[i];
		unsigned p = addr_port(&t->addr);
		addr_str(&t->addr, a, sizeof(a));
		snprintf(w, sizeof(w), "%s:%s", names[t->proto], a);
		n = add(out, n, max, t->proto == TP_UDP ? TP_UDP : TP_TCP, p, p,
		    addr_is_loopback(&t->addr), true, t->proto == TP_UDP ? "SIP over UDP (%s)" :
		    t->proto == TP_TCP ? "SIP over TCP (%s)" : "SIP over TLS (%s)", w);
	}
	if (c->iax2.enabled) {
		unsigned p = addr_port(&c->iax2.bind);
		addr_str(&c->iax2.bind, a, sizeof(a));
		n = add(out, n, max, TP_UDP, p, p, addr_is_loopback(&c->iax2.bind), false,
		    "IAX2 (%s)", a);
	}
	if (c->ami.enabled) {
		unsigned p = addr_port(&c->ami.bind);
		addr_str(&c->ami.bind, a, sizeof(a));
		n = add(out, n, max, TP_TCP, p, p, addr_is_loopback(&c->ami.bind), false,
		    "the AMI, TLS or TCP (%s)", a);
		if (c->ami.tls_only_listener) {
			p = addr_port(&c->ami.tls_bind);
			addr_str(&c->ami.tls_bind, a, sizeof(a));
			n = add(out, n, max, TP_TCP, p, p, addr_is_loopback(&c->ami.tls_bind), false,
			    "the AMI over TLS (%s)", a);
		}
	}
	if (c->http.enabled)
		for (size_t i = 0; i < c->http.nlisten; i++) {
			const struct http_listen *l = &c->http.listen[i];
			unsigned p = addr_port(&l->addr);
			addr_str(&l->addr, a, sizeof(a));
			n = add(out, n, max, TP_TCP, p, p, addr_is_loopback(&l->addr), false, l->tls ?
			    "the admin page over HTTPS (%s)" : "HTTP, redirected to HTTPS (%s)", a);
		}
	return n;
}

unsigned
ports_ssh(const struct config *c)
{
	if (c->fw.ssh_port >= 0)
		return (unsigned)c->fw.ssh_port;
	/* sshd_config's first Port line, as sshd reads it (keywords are
	 * case-insensitive); 22 without one. */
	FILE *f = fopen("/etc/ssh/sshd_config", "re");
	char line[512];
	unsigned port = 22;
	while (f && fgets(line, sizeof(line), f)) {
		/* "Port 2222", keyword and argument split by blanks. */
		for (char *t = line; *t; t++)
			if (*t == '\t')
				*t = ' ';
		struct slice arg, kw = slice_cut(slice_trim(slice_cstr(line)), ' ', &arg);
		uint64_t p;
		if (slice_caseeq_cstr(kw, "port") && slice_to_u64(slice_trim(arg), 1, 65535, &p)) {
			port = (unsigned)p;
			break;
		}
	}
	if (f)
		fclose(f);
	return port;
}

size_t
ports_firewall(const struct config *c, struct port_use *out, size_t max)
{
	size_t n = ports_listeners(c, out, max);
	unsigned ssh = ports_ssh(c);
	char w[32];

	if (ssh) {
		snprintf(w, sizeof(w), "%u", ssh);
		n = add(out, n, max, TP_TCP, ssh, ssh, false, false, c->fw.ssh_port > 0 ?
		    "SSH ([firewall] ssh-port = %s)" : "SSH (sshd's port %s)", w);
	}
	if (c->fw.rtp.hi)
		n = add(out, n, max, TP_UDP, c->fw.rtp.lo, c->fw.rtp.hi, false, false,
		    "RTP media (%s)", "[firewall] rtp-ports, Asterisk's rtp.conf range");
	for (size_t i = 0; i < c->fw.n_open; i++)
		n = add(out, n, max, c->fw.open[i].proto, c->fw.open[i].lo, c->fw.open[i].hi, false,
		    false, "%s", "[firewall] open");
	return n;
}

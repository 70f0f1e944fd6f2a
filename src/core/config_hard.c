/*
 * The hardening sections of pbxguard.conf: [password-policy],
 * [voicemail-policy], [firewall] and [watch]. Same reader, same error
 * collection as config.c; kept apart so each file has one job.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config_int.h"

void
cfg_hard_defaults(struct config *c)
{
	/* NIST SP 800-63B-4 3.1.1.2: 15 characters for a password used alone
	 * (a SIP, IAX2, AMI or web secret is), at least 64 allowed, a
	 * blocklist, no composition rules unless asked for. */
	c->pw.enforce = true;
	c->pw.min_length = 15;
	c->pw.max_length = 128;
	c->pw.classes = 0;
	snprintf(c->pw.blocklist, sizeof(c->pw.blocklist), "%s", CONFIG_DEFAULT_BLOCKLIST);
	c->pw.min_score = 3;
	c->pw.max_repeat = 3;
	c->pw.max_sequence = 4;
	c->pw.digits_only = false;
	c->pw.generated_length = 20;

	c->pin.min_length = 6;
	c->pin.max_length = 16;
	c->pin.max_repeat = 2;
	c->pin.max_sequence = 3;

	c->fw.ssh_port = -1;
	c->fw.rtp = (struct port_range){ TP_UDP, 10000, 20000 };	/* rtp.conf's */
	c->fw.sip_udp_rate = 50;

	/* chan_sip/chan_pjsip, chan_iax2, the AMI and Asterisk's HTTP server. */
	static const struct port_range ast[] = {
		{ TP_UDP, 5060, 5060 }, { TP_TCP, 5060, 5061 }, { TP_UDP, 4569, 4569 },
		{ TP_TCP, 5038, 5039 }, { TP_TCP, 8088, 8089 },
	};
	memcpy(c->watch.asterisk_ports, ast, sizeof(ast));
	c->watch.n_asterisk_ports = sizeof(ast) / sizeof(ast[0]);
}

bool
config_parse_ports(struct slice s, enum transport_proto dflt, struct port_range *out)
{
	struct port_range r = { .proto = dflt };
	uint64_t lo, hi;

	if (slice_startswith_case(s, "udp:")) {
		r.proto = TP_UDP;
		s = slice_sub(s, 4, s.n - 4);
	} else if (slice_startswith_case(s, "tcp:")) {
		r.proto = TP_TCP;
		s = slice_sub(s, 4, s.n - 4);
	}
	const char *dash = memchr(s.p, '-', s.n);
	size_t n1 = dash ? (size_t)(dash - s.p) : s.n;
	if (!slice_to_u64(slice_sub(s, 0, n1), 1, 65535, &lo))
		return false;
	hi = lo;
	if (dash && !slice_to_u64(slice_sub(s, n1 + 1, s.n - n1 - 1), lo, 65535, &hi))
		return false;
	r.lo = (unsigned)lo;
	r.hi = (unsigned)hi;
	*out = r;
	return true;
}

/* ---- [password-policy] -------------------------------------------------- */

static void
add_class(struct cfg_ctx *x, struct slice w)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
		{ "upper", PW_CLASS_UPPER }, { "lower", PW_CLASS_LOWER },
		{ "digit", PW_CLASS_DIGIT }, { "special", PW_CLASS_SPECIAL },
	};
	if (slice_caseeq_cstr(w, "none"))
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (slice_caseeq_cstr(w, names[i].name)) {
			x->c->pw.classes |= names[i].bit;
			return;
		}
	cfg_error(x, "character-classes: '%.*s' is not upper, lower, digit, special or none",
	    (int)(w.n > 32 ? 32 : w.n), w.p);
}

static void
set_pw(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_pwpolicy *p = &x->c->pw;

	if (strcmp(k, "mode") == 0) {
		if (strcasecmp(v, "enforce") == 0)
			p->enforce = true;
		else if (strcasecmp(v, "advise") == 0)
			p->enforce = false;
		else
			cfg_error(x, "mode: expected enforce or advise, got '%s'", v);
	} else if (strcmp(k, "min-length") == 0) {
		cfg_uint(x, k, v, 1, 128, &p->min_length);
	} else if (strcmp(k, "max-length") == 0) {
		cfg_uint(x, k, v, 64, 4096, &p->max_length);
	} else if (strcmp(k, "character-classes") == 0) {
		p->classes = 0;
		cfg_words(x, v, add_class);
	} else if (strcmp(k, "blocklist") == 0) {
		cfg_str(x, k, strcasecmp(v, "none") == 0 ? "" : v, p->blocklist,
		    sizeof(p->blocklist));
	} else if (strcmp(k, "min-zxcvbn-score") == 0) {
		cfg_uint(x, k, v, 0, 4, &p->min_score);
	} else if (strcmp(k, "max-repeat") == 0) {
		cfg_uint(x, k, v, 1, 128, &p->max_repeat);
	} else if (strcmp(k, "max-sequence") == 0) {
		cfg_uint(x, k, v, 2, 128, &p->max_sequence);
	} else if (strcmp(k, "allow-digits-only") == 0) {
		cfg_bool(x, k, v, &p->digits_only);
	} else if (strcmp(k, "generated-length") == 0) {
		cfg_uint(x, k, v, 12, 64, &p->generated_length);
	} else if (strcmp(k, "override-log") == 0) {
		cfg_str(x, k, v, p->override_log, sizeof(p->override_log));
	} else {
		cfg_error(x, "[password-policy]: unknown key '%s'", k);
	}
}

static void
set_pin(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_pinpolicy *p = &x->c->pin;

	if (strcmp(k, "min-length") == 0)
		cfg_uint(x, k, v, 4, 32, &p->min_length);
	else if (strcmp(k, "max-length") == 0)
		cfg_uint(x, k, v, 4, 80, &p->max_length);
	else if (strcmp(k, "max-repeat") == 0)
		cfg_uint(x, k, v, 1, 32, &p->max_repeat);
	else if (strcmp(k, "max-sequence") == 0)
		cfg_uint(x, k, v, 2, 32, &p->max_sequence);
	else
		cfg_error(x, "[voicemail-policy]: unknown key '%s'", k);
}

/* ---- [firewall] --------------------------------------------------------- */

static void
add_allowed(struct cfg_ctx *x, struct slice w)
{
	struct config_firewall *f = &x->c->fw;
	const char *why;

	if (f->n_allowed == CONFIG_MAX_CIDRS) {
		cfg_error(x, "allowed-hosts: more than %d networks", CONFIG_MAX_CIDRS);
		return;
	}
	if (!cidr_parse(w, &f->allowed[f->n_allowed], &why)) {
		cfg_error(x, "allowed-hosts: '%.*s': %s", (int)(w.n > 64 ? 64 : w.n), w.p, why);
		return;
	}
	f->n_allowed++;
}

static void
add_open(struct cfg_ctx *x, struct slice w)
{
	struct config_firewall *f = &x->c->fw;

	if (f->n_open == CONFIG_MAX_PORTS) {
		cfg_error(x, "open: more than %d ports", CONFIG_MAX_PORTS);
		return;
	}
	if (!slice_startswith_case(w, "udp:") &&
	    !slice_startswith_case(w, "tcp:")) {
		cfg_error(x, "open: '%.*s': write tcp:PORT or udp:PORT (or a range LO-HI)",
		    (int)(w.n > 64 ? 64 : w.n), w.p);
		return;
	}
	if (!config_parse_ports(w, TP_TCP, &f->open[f->n_open])) {
		cfg_error(x, "open: '%.*s': not a port or a range of ports",
		    (int)(w.n > 64 ? 64 : w.n), w.p);
		return;
	}
	f->n_open++;
}

static void
set_fw(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_firewall *f = &x->c->fw;

	if (strcmp(k, "allowed-hosts") == 0) {
		f->n_allowed = 0;
		x->allowed_set = true;
		cfg_words(x, v, add_allowed);
	} else if (strcmp(k, "ssh-port") == 0) {
		unsigned p;
		if (strcasecmp(v, "none") == 0)
			f->ssh_port = 0;
		else if (strcasecmp(v, "auto") == 0)
			f->ssh_port = -1;
		else if (cfg_uint(x, k, v, 1, 65535, &p))
			f->ssh_port = (int)p;
	} else if (strcmp(k, "rtp-ports") == 0) {
		if (strcasecmp(v, "none") == 0)
			f->rtp.hi = 0;
		else if (!config_parse_ports(slice_cstr(v), TP_UDP, &f->rtp) ||
		    f->rtp.proto != TP_UDP)
			cfg_error(x, "rtp-ports: expected a UDP range like 10000-20000, or none, "
			    "got '%s'", v);
	} else if (strcmp(k, "sip-udp-rate") == 0) {
		cfg_uint(x, k, v, 0, 100000, &f->sip_udp_rate);
	} else if (strcmp(k, "open") == 0) {
		f->n_open = 0;
		cfg_words(x, v, add_open);
	} else {
		cfg_error(x, "[firewall]: unknown key '%s'", k);
	}
}

/* ---- [watch] ------------------------------------------------------------ */

static void
add_source(struct cfg_ctx *x, struct slice w)
{
	struct config_watch *wt = &x->c->watch;

	if (wt->n == CONFIG_MAX_WATCH) {
		cfg_error(x, "[watch]: more than %d sources", CONFIG_MAX_WATCH);
		return;
	}
	if (slice_eq_cstr(w, "journal")) {
		cfg_error(x, "%s: journal: reading journald is not in this version of pbxguard; "
		    "give a log file (rsyslog's /var/log/auth.log, or sshd -E FILE)",
		    x->watch_kind == WATCH_SSHD ? "sshd" : "asterisk");
		return;
	}
	if (w.n == 0 || w.p[0] != '/' || memchr(w.p, '\n', w.n)) {
		cfg_error(x, "%s: '%.*s': expected an absolute path",
		    x->watch_kind == WATCH_SSHD ? "sshd" : "asterisk", (int)(w.n > 64 ? 64 : w.n),
		    w.p);
		return;
	}
	if (w.n >= sizeof(wt->src[0].path)) {
		cfg_error(x, "[watch]: path too long");
		return;
	}
	wt->src[wt->n].kind = x->watch_kind;
	memcpy(wt->src[wt->n].path, w.p, w.n);
	wt->src[wt->n].path[w.n] = '\0';
	wt->n++;
}

static void
add_ast_port(struct cfg_ctx *x, struct slice w)
{
	struct config_watch *wt = &x->c->watch;

	if (wt->n_asterisk_ports == CONFIG_MAX_PORTS) {
		cfg_error(x, "asterisk-ports: more than %d ports", CONFIG_MAX_PORTS);
		return;
	}
	if (!config_parse_ports(w, TP_UDP, &wt->asterisk_ports[wt->n_asterisk_ports]))
		cfg_error(x, "asterisk-ports: '%.*s': expected udp:PORT or tcp:PORT (or LO-HI)",
		    (int)(w.n > 64 ? 64 : w.n), w.p);
	else
		wt->n_asterisk_ports++;
}

static void
set_watch(struct cfg_ctx *x, const char *k, const char *v)
{
	struct config_watch *wt = &x->c->watch;

	if (strcmp(k, "sshd") == 0 || strcmp(k, "asterisk") == 0) {
		x->watch_kind = k[0] == 's' ? WATCH_SSHD : WATCH_ASTERISK;
		cfg_words(x, v, add_source);
	} else if (strcmp(k, "asterisk-ports") == 0) {
		wt->n_asterisk_ports = 0;
		cfg_words(x, v, add_ast_port);
	} else if (strcmp(k, "state") == 0) {
		cfg_str(x, k, v, wt->state, sizeof(wt->state));
	} else {
		cfg_error(x, "[watch]: unknown key '%s' (sshd, asterisk, asterisk-ports, state)", k);
	}
}

bool
cfg_hard_set(struct cfg_ctx *x, const char *section, const char *k, const char *v)
{
	if (strcmp(section, "password-policy") == 0)
		set_pw(x, k, v);
	else if (strcmp(section, "voicemail-policy") == 0)
		set_pin(x, k, v);
	else if (strcmp(section, "firewall") == 0)
		set_fw(x, k, v);
	else if (strcmp(section, "watch") == 0)
		set_watch(x, k, v);
	else
		return false;
	return true;
}

void
cfg_hard_finish(struct cfg_ctx *x)
{
	struct config *c = x->c;

	if (c->pw.min_length > c->pw.max_length)
		cfg_error(x, "[password-policy] min-length is above max-length");
	if (c->pw.generated_length < c->pw.min_length)
		c->pw.generated_length = c->pw.min_length;
	if (c->pin.min_length > c->pin.max_length)
		cfg_error(x, "[voicemail-policy] min-length is above max-length");
	if (!x->allowed_set) {
		/* The hosts never banned are the ones the firewall always lets in;
		 * loopback passes on its own, listing it again would be noise. */
		for (size_t i = 0; i < c->n_ignoreip && c->fw.n_allowed < CONFIG_MAX_CIDRS; i++)
			if (!cidr_is_loopback(&c->ignoreip[i]))
				c->fw.allowed[c->fw.n_allowed++] = c->ignoreip[i];
	}
	cfg_state_path(x, c->pw.override_log, sizeof(c->pw.override_log),
	    "policy-overrides.log");
	cfg_state_path(x, c->watch.state, sizeof(c->watch.state), "watch.state");
}

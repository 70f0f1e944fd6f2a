/*
 * The AMI message parser and everything that reads what it returns: a
 * session fed the input before and after login (whole, then in small
 * pieces), the upstream side's routing and ActionID restoring, the guarded
 * actions' checks, and the manager.conf reader on the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ami/frame.h"
#include "ami/perm.h"
#include "ami/policy.h"
#include "ami/relay.h"
#include "ami/session.h"
#include "core/log.h"
#include "store/mgrusers.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct guard *g;
static struct mgr_users *users;
static struct ami_ctx ctx;
static size_t written;

static void
sink(void *conn, const char *p, size_t n)
{
	(void)conn;
	/* Every answer is whole lines: a CRLF never missing at the end. */
	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		abort();
	written += n;
}

static void
init(void)
{
	struct config_errors e = { 0 };
	char err[256];
	static const char u[] = "[admin]\nsecret = s3cret\nread = all\nwrite = all\n";

	log_set_level(LOG_ERR);
	config_load(&cfg, NULL, &e);
	config_errors_free(&e);
	cfg.ami.plaintext_login = true;
	struct store *st = store_file_open("tests/vectors/userdb", err, sizeof(err));
	if (!st || !(g = guard_new(&cfg, st)))
		abort();
	users = mgr_users_parse(u, sizeof(u) - 1, "fuzz", &cfg, err, sizeof(err));
	if (!users)
		abort();
	ctx.cfg = &cfg;
	ctx.guard = g;
	ctx.users = users;
}

static void
session(struct slice in, bool logged_in, size_t piece)
{
	struct ami_session s;
	struct addr a;

	addr_parse(slice_cstr("127.0.0.1:5038"), &a);
	ctx.unauth++;
	if (!ami_session_init(&s, &ctx, 1, &a, &a, true, sink, NULL))
		abort();
	if (logged_in) {
		s.authenticated = true;
		ctx.unauth--;
		s.readperm = s.writeperm = s.send_events = AMI_ALL;
	}
	size_t off = 0;
	while (off < in.n) {
		size_t n = in.n - off < piece ? in.n - off : piece, used;
		enum ami_next next = ami_session_input(&s, slice_sub(in, off, n), &used);
		if (used > n)
			abort();
		off += used;
		if (next == AMI_CLOSE_LATER)
			ami_session_deferred(&s);
		if (next != AMI_CONTINUE)
			break;
		if (used < n)
			abort(); /* going on, everything was taken */
	}
	if (!s.authenticated)
		ctx.unauth--;
	ami_session_destroy(&s);
}

static void
upstream_side(struct slice in)
{
	struct ami_reader r;
	struct dbuf b;
	size_t off = 0, used;
	bool oom;
	uint64_t sid;
	const char *why;

	if (!ami_reader_init(&r, 65536, 8192))
		abort();
	while (off < in.n) {
		const struct ami_msg *m = ami_reader_feed(&r, slice_sub(in, off, in.n - off), &used,
		    &oom);
		off += used;
		if (!m)
			break;
		dbuf_init(&b, 1 << 20);
		if (ami_relay_route(m, &sid) == AMI_ROUTE_SESSION)
			ami_relay_restore(m, &b);
		ami_relay_text(m, &b);
		ami_relay_action(m, 42, &b);
		dbuf_free(&b);
		(void)ami_relay_category(m);
		struct slice act = ami_get_nonempty(m, "Action");
		(void)ami_policy_allows(m, act, ami_perm_mask(ami_get(m, "Privilege")), AMI_ALL, 0,
		    &why);
	}
	ami_reader_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct slice in = { (const char *)data, size };

	if (!g)
		init();
	session(in, false, size ? size : 1);
	session(in, true, size ? size : 1);
	session(in, true, 7);
	upstream_side(in);
	struct mgr_users *u = mgr_users_parse(in.p, in.n, "fuzz", &cfg, err, sizeof(err));
	if (!u && strncmp(err, "fuzz", 4) != 0)
		abort(); /* every error names the file */
	mgr_users_free(u);
	return 0;
}

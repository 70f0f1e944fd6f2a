#include "daemon/watchd.h"

#include <stdlib.h>
#include <time.h>

#include "core/log.h"
#include "watch/follow.h"
#include "watch/parse.h"

/* A second's worth of log at most per tick: a flood of lines cannot hold
 * the event loop (the rest is read at the next tick). */
#define WATCH_BYTES_PER_TICK (4u << 20)

struct watchd {
	struct follow *f;
	struct guard *g;
	struct event *ev;
	unsigned long long lines, hits;
};

static void
on_line(void *arg, enum watch_kind kind, const char *path, struct slice line)
{
	struct watchd *w = arg;
	struct watch_hit h;
	char as[IPKEY_STRLEN], u[LOG_ESCAPED_SIZE(64)];

	w->lines++;
	if (!(kind == WATCH_SSHD ? watch_parse_sshd(line, &h) : watch_parse_asterisk(line, &h)))
		return;
	w->hits++;
	bool counted = guard_watch_failure(w->g, &h.addr, time(NULL));
	log_info("watch: %s: %s from %s%s%s%s%s", kind == WATCH_SSHD ? "sshd" : "asterisk",
	    h.what, ipkey_str(&h.addr, as, sizeof(as)), h.user.n ? " (user '" : "",
	    h.user.n ? log_escape(slice_sub(h.user, 0, h.user.n > 64 ? 64 : h.user.n), u,
	    sizeof(u)) : "", h.user.n ? "')" : "", counted ? "" : ", not counted (ignoreip)");
	(void)path;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct watchd *w = arg;
	char err[512];
	(void)fd;
	(void)what;
	follow_poll(w->f, WATCH_BYTES_PER_TICK, on_line, w);
	if (!follow_save(w->f, err, sizeof(err)))
		log_warn("watch: cannot save the read positions: %s", err);
}

struct watchd *
watchd_start(const struct config *cfg, struct event_base *base, struct guard *g, bool *fatal)
{
	struct watchd *w = NULL;
	char err[256];

	*fatal = false;
	if (cfg->watch.n == 0)
		return NULL;
	if (!(w = calloc(1, sizeof(*w))) || !(w->f = follow_new(&cfg->watch, err, sizeof(err))))
		goto fail;
	w->g = g;
	if (!(w->ev = event_new(base, -1, EV_PERSIST, on_tick, w)))
		goto fail;
	struct timeval one = { 1, 0 };
	if (event_add(w->ev, &one) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->watch.n; i++)
		log_notice("watch: %s log %s feeds the bans", cfg->watch.src[i].kind == WATCH_SSHD ?
		    "sshd" : "Asterisk", cfg->watch.src[i].path);
	on_tick(-1, 0, w);	/* the first positions now, not a second later */
	return w;
fail:
	log_err("watch: cannot start (out of memory)");
	*fatal = true;
	watchd_stop(w);
	return NULL;
}

void
watchd_stop(struct watchd *w)
{
	if (!w)
		return;
	if (w->ev) {
		char err[512];
		event_free(w->ev);
		if (!follow_save(w->f, err, sizeof(err)))
			log_warn("watch: cannot save the read positions: %s", err);
		log_notice("watch: %llu lines read, %llu failures", w->lines, w->hits);
	}
	follow_free(w->f);
	free(w);
}

#include "daemon/control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "core/log.h"

#define CTL_LINE_MAX 512

struct control {
	struct evconnlistener *lev;
	struct guard *g;
	control_hook hook;
	void *hook_arg;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static void
list_bans(struct guard *g, time_t now, struct evbuffer *out)
{
	size_t n = guard_bans_list(g, now, NULL, 0);
	struct ban_info *bi = calloc(n ? n : 1, sizeof(*bi));
	char as[IPKEY_STRLEN];

	if (!bi) {
		evbuffer_add_printf(out, "error: out of memory\n");
		return;
	}
	n = guard_bans_list(g, now, bi, n); /* nothing runs in between: same n */
	evbuffer_add_printf(out, "ok %zu ban%s\n", n, n == 1 ? "" : "s");
	evbuffer_add_printf(out, "%-40s %9s %-8s %4s %8s\n", "ADDRESS", "REMAINING", "REASON",
	    "BANS", "DROPPED");
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(out, "%-40s %8llds %-8s %4u %8llu\n",
		    ipkey_str(&bi[i].addr, as, sizeof(as)), (long long)(bi[i].until - now),
		    ban_reason_name(bi[i].reason), bi[i].count, (unsigned long long)bi[i].hits);
	free(bi);
}

void
control_run(struct guard *g, const char *line, struct evbuffer *out)
{
	char w[4][128];
	int nw = 0;
	time_t now = time(NULL);
	struct ipkey k;
	unsigned secs = 0;

	for (const char *p = line; *p && nw < 4;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n = strcspn(p, " \t");
		if (n == 0)
			break;
		if (n >= sizeof(w[0])) {
			evbuffer_add_printf(out, "error: argument too long\n");
			return;
		}
		memcpy(w[nw], p, n);
		w[nw++][n] = '\0';
		p += n;
	}
	if (nw == 2 && strcmp(w[0], "bans") == 0 && strcmp(w[1], "list") == 0) {
		list_bans(g, now, out);
		return;
	}
	bool ban = nw >= 3 && strcmp(w[0], "bans") == 0 && strcmp(w[1], "ban") == 0 && nw <= 4;
	bool unban = nw == 3 && strcmp(w[0], "bans") == 0 && strcmp(w[1], "unban") == 0;
	if (!ban && !unban) {
		evbuffer_add_printf(out, "error: expected 'bans list', 'bans ban ADDR [TIME]' or "
		    "'bans unban ADDR'\n");
		return;
	}
	if (!ipkey_parse(slice_cstr(w[2]), &k)) {
		evbuffer_add_printf(out, "error: '%s' is not a numeric IPv4 or IPv6 address\n",
		    w[2]);
		return;
	}
	if (unban) {
		if (guard_unban(g, &k, now))
			evbuffer_add_printf(out, "ok unbanned %s\n", w[2]);
		else
			evbuffer_add_printf(out, "error: %s is not banned\n", w[2]);
		return;
	}
	if (nw == 4 && (!config_parse_duration(slice_cstr(w[3]), &secs) || secs == 0)) {
		evbuffer_add_printf(out, "error: '%s' is not a time (600, 10m, 1h, 1d, 1w)\n", w[3]);
		return;
	}
	struct ban_info bi;
	switch (guard_ban(g, &k, secs, now, &bi)) {
	case GUARD_BAN_OK:
		evbuffer_add_printf(out, "ok banned %s for %llds\n", w[2],
		    (long long)(bi.until - now));
		break;
	case GUARD_BAN_IGNORED:
		evbuffer_add_printf(out, "error: %s is in ignoreip: never banned\n", w[2]);
		break;
	case GUARD_BAN_FAILED:
		evbuffer_add_printf(out, "error: out of memory\n");
		break;
	}
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		bufferevent_free(bev);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	(void)what;
	bufferevent_free(bev);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct control *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);

	if (!line) {
		if (evbuffer_get_length(in) > CTL_LINE_MAX)
			bufferevent_free(bev);
		return;
	}
	if (!c->hook || !c->hook(c->hook_arg, line, bufferevent_get_output(bev)))
		control_run(c->g, line, bufferevent_get_output(bev));
	explicit_bzero(line, n); /* it may hold a key's passcode */
	free(line);
	bufferevent_disable(bev, EV_READ);
	bufferevent_setcb(bev, NULL, on_drained, on_event, c);
	on_drained(bev, c);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct control *c = arg;
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	socklen_t len = sizeof(cred);
	(void)lev;
	(void)sa;
	(void)salen;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		log_warn("control socket: refused a client of uid %ld (root or uid %ld only)",
		    (long)cred.uid, (long)geteuid());
		evutil_closesocket(fd);
		return;
	}
	struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(c->lev), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		evutil_closesocket(fd);
		return;
	}
	struct timeval t = { 5, 0 };
	bufferevent_set_timeouts(bev, &t, &t);
	bufferevent_setcb(bev, on_read, NULL, on_event, c);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* A socket file left by a pbxguard that died is removed; a live one is not. */
static bool
clear_stale(const struct sockaddr_un *sun)
{
	struct stat st;
	if (lstat(sun->sun_path, &st) < 0)
		return true;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("control socket %s exists and is not a socket", sun->sun_path);
		return false;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		close(fd);
		log_err("another pbxguard answers on %s: not starting a second one",
		    sun->sun_path);
		return false;
	}
	if (fd >= 0)
		close(fd);
	unlink(sun->sun_path);
	return true;
}

struct control *
control_start(struct event_base *base, const char *path, struct guard *g)
{
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (!c)
		return NULL;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control-socket %s: longer than %zu characters", path,
		    sizeof(sun.sun_path) - 1);
		free(c);
		return NULL;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (!clear_stale(&sun)) {
		free(c);
		return NULL;
	}
	c->g = g;
	snprintf(c->path, sizeof(c->path), "%s", path);
	mode_t old = umask(0177); /* the socket is born 0600 */
	c->lev = evconnlistener_new_bind(base, on_accept, c,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 8, (struct sockaddr *)&sun,
	    (int)sizeof(sun));
	umask(old);
	if (!c->lev) {
		log_err("control socket %s: %s", path, strerror(errno));
		free(c);
		return NULL;
	}
	return c;
}

void
control_stop(struct control *c)
{
	if (!c)
		return;
	evconnlistener_free(c->lev);
	unlink(c->path);
	free(c);
}

void
control_set_hook(struct control *c, control_hook fn, void *arg)
{
	c->hook = fn;
	c->hook_arg = arg;
}

#include "core/secevent.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static FILE *seclog;
static secevent_sink sink;
static void *sink_arg;

static const char *const names[] = {
	[SECEVENT_SUCCESSFUL_AUTH] = "SuccessfulAuth",
	[SECEVENT_INVALID_ACCOUNT_ID] = "InvalidAccountID",
	[SECEVENT_CHALLENGE_RESPONSE_FAILED] = "ChallengeResponseFailed",
	[SECEVENT_INVALID_PASSWORD] = "InvalidPassword",
	[SECEVENT_REQUEST_BAD_FORMAT] = "RequestBadFormat",
	[SECEVENT_FAILED_ACL] = "FailedACL",
	[SECEVENT_REQUEST_NOT_ALLOWED] = "RequestNotAllowed",
	[SECEVENT_INVALID_TRANSPORT] = "InvalidTransport",
	[SECEVENT_SESSION_LIMIT] = "SessionLimit",
	[SECEVENT_BAN] = "Ban",
	[SECEVENT_UNBAN] = "Unban",
};

/* Severity "Informational" in the line, INFO in the log; the rest are errors. */
static bool
informational(enum secevent_type t)
{
	return t == SECEVENT_SUCCESSFUL_AUTH || t == SECEVENT_UNBAN;
}

const char *
secevent_name(enum secevent_type t)
{
	return names[t];
}

bool
secevent_open(const char *path)
{
	FILE *f;

	if (!path || !*path)
		return true;
	/* User names and addresses: not for everyone's eyes (umask may narrow more). */
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "a"))) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	secevent_close();
	seclog = f;
	return true;
}

void
secevent_close(void)
{
	if (seclog)
		fclose(seclog);
	seclog = NULL;
}

/* Appends to a bounded buffer; a line that does not fit is cut, never overrun.
 * ami: "Key: value\r\n" fields instead of the log's ,Key="value". */
struct out {
	char *p;
	size_t n, cap;
	bool ami;
};

static void
put(struct out *o, const char *s)
{
	size_t k = strlen(s);
	if (o->n + k >= o->cap)
		k = o->cap - o->n - 1;
	memcpy(o->p + o->n, s, k);
	o->n += k;
	o->p[o->n] = '\0';
}

static void
put_field(struct out *o, const char *key, const char *val)
{
	put(o, o->ami ? "" : ",");
	put(o, key);
	put(o, o->ami ? ": " : "=\"");
	put(o, val);
	put(o, o->ami ? "\r\n" : "\"");
}

static void
put_untrusted(struct out *o, const char *key, struct slice val)
{
	char esc[LOG_ESCAPED_SIZE(128)];
	put_field(o, key, log_escape(val, esc, sizeof(esc)));
}

static void
put_addr(struct out *o, const char *key, const char *transport, const struct addr *a)
{
	char host[ADDR_STRLEN], buf[ADDR_STRLEN + 32];
	if (!a)
		return;
	snprintf(buf, sizeof(buf), "%s/%s/%s/%u", addr_is_v6(a) ? "IPV6" : "IPV4",
	    transport ? transport : "UDP", addr_host_str(a, host, sizeof(host)), addr_port(a));
	put_field(o, key, buf);
}

/* The fields after the event's name, shared by both forms. */
static void
put_fields(struct out *o, const struct secevent *ev)
{
	char tv[64];
	struct timeval now;
	struct tm tm;

	gettimeofday(&now, NULL);
	gmtime_r(&now.tv_sec, &tm);
	strftime(tv, sizeof(tv), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tv + strlen(tv), sizeof(tv) - strlen(tv), ".%06ld+0000", (long)now.tv_usec);
	put_field(o, "EventTV", tv);
	bool info = informational(ev->type);
	put_field(o, "Severity", info ? "Informational" : "Error");
	put_field(o, "Service", ev->service ? ev->service : "SIP");
	put_field(o, "EventVersion", ev->type == SECEVENT_SUCCESSFUL_AUTH ? "2" : "1");
	put_untrusted(o, "AccountID", ev->account);
	put_untrusted(o, "SessionID", ev->session);
	put_addr(o, "LocalAddress", ev->transport, ev->local);
	put_addr(o, "RemoteAddress", ev->transport, ev->remote);
	switch (ev->type) {
	case SECEVENT_SUCCESSFUL_AUTH:
		put_field(o, "UsingPassword", ev->by_certificate ? "0" : "1");
		break;
	case SECEVENT_CHALLENGE_RESPONSE_FAILED:
		put_untrusted(o, "Challenge", ev->challenge);
		put_untrusted(o, "ReceivedChallenge", ev->received_challenge);
		put_untrusted(o, "ReceivedHash", ev->received_hash);
		break;
	case SECEVENT_REQUEST_BAD_FORMAT:
	case SECEVENT_REQUEST_NOT_ALLOWED:
		put_untrusted(o, "RequestType", ev->request_type);
		put_untrusted(o, "RequestParams", ev->request_params);
		break;
	case SECEVENT_FAILED_ACL:
		put_field(o, "ACLName", ev->acl_name ? ev->acl_name : "");
		break;
	case SECEVENT_INVALID_TRANSPORT:
		put_field(o, "AttemptedTransport",
		    ev->attempted_transport ? ev->attempted_transport : "");
		break;
	case SECEVENT_BAN: {
		char secs[16];
		snprintf(secs, sizeof(secs), "%u", ev->ban_seconds);
		put_field(o, "BanTime", secs);
		put_field(o, "Reason", ev->reason ? ev->reason : "");
		break;
	}
	case SECEVENT_UNBAN:
		put_field(o, "Reason", ev->reason ? ev->reason : "");
		break;
	default:
		break;
	}
}

size_t
secevent_format(const struct secevent *ev, char *dst, size_t dstsz)
{
	struct out o = { dst, 0, dstsz, false };
	char when[32], sid[24];
	time_t now = time(NULL);
	struct tm tm;

	if (dstsz == 0)
		return 0;
	dst[0] = '\0';
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(sid, sizeof(sid), "%ld", (long)getpid());
	put(&o, "[");
	put(&o, when);
	put(&o, "] SECURITY[");
	put(&o, sid);
	put(&o, "] pbxguard: SecurityEvent=\"");
	put(&o, names[ev->type]);
	put(&o, "\"");
	put_fields(&o, ev);
	return o.n;
}

size_t
secevent_format_ami(const struct secevent *ev, char *dst, size_t dstsz)
{
	struct out o = { dst, 0, dstsz, true };

	if (dstsz < 128)
		return 0;
	dst[0] = '\0';
	put(&o, "Event: ");
	put(&o, names[ev->type]);
	put(&o, "\r\nPrivilege: security,all\r\n");
	/* A cut field must still end its line and the event: AMI framing is
	 * all a client has to find the next message. */
	o.cap -= 4;
	put_fields(&o, ev);
	o.cap += 4;
	if (o.n < 2 || memcmp(o.p + o.n - 2, "\r\n", 2) != 0)
		put(&o, "\r\n");
	put(&o, "\r\n");
	return o.n;
}

void
secevent_set_sink(secevent_sink fn, void *arg)
{
	sink = fn;
	sink_arg = arg;
}

void
secevent_emit(const struct secevent *ev)
{
	char line[2048];
	bool info = informational(ev->type);

	secevent_format(ev, line, sizeof(line));
	if (seclog) {
		fprintf(seclog, "%s\n", line);
		fflush(seclog);
	}
	/* The operational log gets it too, minus its own timestamp prefix. */
	const char *rest = strchr(line, ']');
	log_msg(info ? LOG_INFO : LOG_NOTICE, "%s",
	    rest ? rest + 2 : line);
	if (sink)
		sink(sink_arg, ev);
}

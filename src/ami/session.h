/*
 * One AMI session's protocol, as Asterisk's manager.c speaks it: greeting,
 * Challenge and Login, the actions a user may run, events it may read.
 * No sockets here: bytes come in through ami_session_input, go out through
 * the session's writer, and what the connection must do next is returned,
 * so the whole protocol runs in unit tests.
 */
#ifndef PBX_AMI_SESSION_H
#define PBX_AMI_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ami/frame.h"
#include "core/addr.h"
#include "core/config.h"
#include "core/slice.h"
#include "guard/guard.h"
#include "store/mgrusers.h"

struct ami_session;
struct ami_upstream;

/* What pbxguard's own actions read from the rest of the daemon (the SIP
 * registrar, key directory, reload) without ami/ knowing those parts. Each
 * item is written as "Key: Value" pairs by emit. */
typedef void (*ami_emit_fn)(void *ectx, const char *key, const char *val);
struct ami_hooks {
	void *arg;
	/* Calls emit for each field of each item; item_done after each item.
	 * Returns the number of items, or -1 with why filled. */
	long (*registrations)(void *arg, ami_emit_fn emit, void (*item_done)(void *ectx),
	    void *ectx, char *why, size_t whysz);
	long (*keys)(void *arg, ami_emit_fn emit, void (*item_done)(void *ectx), void *ectx,
	    char *why, size_t whysz);
	/* Re-reads the AMI users and the credential store; false with why. */
	bool (*reload)(void *arg, char *why, size_t whysz);
	/* Extra "Key: Value" lines for Status (the SIP side's counters). */
	void (*status)(void *arg, ami_emit_fn emit, void *ectx);
};

/* Everything sessions share. */
struct ami_ctx {
	const struct config *cfg;
	struct guard *guard;
	const struct mgr_users *users;		/* from the users file, or */
	struct store *store;			/* from SQL (users NULL then) */
	struct ami_upstream *up;		/* NULL: no [manager] upstream */
	struct ami_hooks hooks;
	time_t started, reloaded;
	unsigned unauth;			/* sessions not logged in, now */
	unsigned nsessions;
	/* Is name logged in on a session other than except? (allowmultiplelogin) */
	bool (*logged_in)(void *srv, const char *name, const struct ami_session *except);
	void *srv;
	char upstream_version[32];		/* the upstream's greeting version, once seen */
};

typedef void (*ami_write_fn)(void *conn, const char *p, size_t n);

enum ami_next {
	AMI_CONTINUE,
	AMI_CLOSE,		/* flush what was written, then close */
	AMI_CLOSE_LATER,	/* wait a second, then ami_session_deferred */
	AMI_WAIT,		/* the store is fetching the user: read nothing more,
				 * ami_session_resume once it is ready */
};

#define AMI_PREAUTH_HEADERS 32	/* tighter before login than Asterisk's 128 after */
/* Refused or malformed messages before login, then the connection closes:
 * each is a security event, and a stranger may not fill the log with them. */
#define AMI_PREAUTH_ERRORS 16

struct ami_session {
	struct ami_ctx *ctx;
	uint64_t id;			/* never reused: routes the upstream's answers */
	struct addr remote, local;
	bool tls;
	ami_write_fn write;
	void *conn;
	struct ami_reader rd;
	time_t authstart;
	bool authenticated;
	char username[80];
	char challenge[24];
	int readperm, writeperm, write_explicit, send_events;
	bool displayconnects;
	pcre2_code *include[MGR_MAX_FILTERS], *exclude[MGR_MAX_FILTERS];
	size_t ninclude, nexclude;
	pcre2_match_data *md;
	unsigned refused;		/* before login: messages refused so far */
	char *deferred;			/* the answer a failed login gets after its second */
	size_t ndeferred;
	const struct ami_msg *parked;	/* AMI_WAIT: the Login, still in rd */
};

/* The session's first bytes are the greeting; false when out of memory. */
bool ami_session_init(struct ami_session *s, struct ami_ctx *ctx, uint64_t id,
    const struct addr *remote, const struct addr *local, bool tls, ami_write_fn write,
    void *conn);
void ami_session_destroy(struct ami_session *s);
/* Consumes what it can of in (*used); stops after a message that ends the
 * session. */
enum ami_next ami_session_input(struct ami_session *s, struct slice in, size_t *used);
/* After AMI_WAIT, when the store has answers: the parked message again.
 * AMI_CONTINUE when nothing is parked. */
enum ami_next ami_session_resume(struct ami_session *s);
/* After AMI_CLOSE_LATER's second: the deferred answer; then close. */
void ami_session_deferred(struct ami_session *s);
/*
 * An event for whoever may read it: category is its class mask (from its
 * Privilege), text the whole event with its blank line. Asterisk's rule:
 * every class of the event must be in the user's read and Events masks,
 * then the user's eventfilter lines decide.
 */
void ami_session_event(struct ami_session *s, int category, struct slice text);
/* An answer from the upstream for this session (ActionID already restored). */
void ami_session_relay(struct ami_session *s, struct slice text);

/* The "Authentication failed" wait: Asterisk's sleep(1). */
#define AMI_FAIL_DELAY_MS 1000

#endif

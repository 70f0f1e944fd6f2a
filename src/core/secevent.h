/*
 * Security events, one line each, in the format of Asterisk's
 * res_security_log so that fail2ban's stock "asterisk" filter and every
 * tool built for it reads pbxguard unchanged. Network-supplied strings
 * are escaped (a '"' never appears inside a value, so a crafted user name
 * cannot forge a RemoteAddress="..." field and get somebody else banned).
 */
#ifndef PBX_SECEVENT_H
#define PBX_SECEVENT_H

#include <stdbool.h>

#include "core/addr.h"
#include "core/slice.h"

enum secevent_type {
	SECEVENT_SUCCESSFUL_AUTH,
	SECEVENT_INVALID_ACCOUNT_ID,
	SECEVENT_CHALLENGE_RESPONSE_FAILED,
	SECEVENT_INVALID_PASSWORD,
	SECEVENT_REQUEST_BAD_FORMAT,
	SECEVENT_FAILED_ACL,		/* Asterisk's, with ACLName */
	SECEVENT_REQUEST_NOT_ALLOWED,	/* Asterisk's: RequestType, RequestParams */
	SECEVENT_INVALID_TRANSPORT,	/* Asterisk's: AttemptedTransport */
	SECEVENT_SESSION_LIMIT,		/* Asterisk's */
	/* pbxguard's own, in the same format (fail2ban's filter ignores them): */
	SECEVENT_BAN,
	SECEVENT_UNBAN,
};

struct secevent {
	enum secevent_type type;
	const char *service;		/* "SIP", "AMI" */
	const char *transport;		/* "UDP", "TCP", "TLS" */
	const struct addr *local, *remote;
	struct slice account;		/* AccountID, as the peer gave it */
	struct slice session;		/* SessionID: the SIP Call-ID */
	struct slice challenge;		/* nonce we expected/issued */
	struct slice received_challenge;/* nonce the peer answered */
	struct slice received_hash;	/* the peer's response */
	struct slice request_type;	/* RequestBadFormat, RequestNotAllowed */
	struct slice request_params;
	const char *attempted_transport;/* InvalidTransport */
	const char *acl_name;		/* FailedACL */
	bool by_certificate;		/* SuccessfulAuth: UsingPassword="0" */
	unsigned ban_seconds;		/* Ban */
	const char *reason;		/* Ban, Unban */
};

const char *secevent_name(enum secevent_type t);
/* NULL: events go only to the operational log. Returns false on open error. */
bool secevent_open(const char *path);
void secevent_close(void);
/* Formats the line into dst (for tests); returns its length. */
size_t secevent_format(const struct secevent *ev, char *dst, size_t dstsz);
/*
 * The same fields as an AMI event, the way Asterisk's manager delivers its
 * security events ("Event: InvalidPassword", "Privilege: security,all",
 * then "Key: Value" lines and the blank line that ends it).
 */
size_t secevent_format_ami(const struct secevent *ev, char *dst, size_t dstsz);
void secevent_emit(const struct secevent *ev);
/*
 * One more reader of every event, after the log (the AMI front end hands
 * them to users with read=security). NULL fn removes it.
 */
typedef void (*secevent_sink)(void *arg, const struct secevent *ev);
void secevent_set_sink(secevent_sink fn, void *arg);

#endif

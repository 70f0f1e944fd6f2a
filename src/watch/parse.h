/*
 * Failure lines of programs pbxguard does not front: sshd's (what
 * fail2ban's sshd filter counts in its normal mode, plus DenyHosts' "did
 * not receive identification") and Asterisk's (what fail2ban's asterisk
 * filter counts: chan_sip, chan_pjsip, chan_iax2, the AMI, security
 * events). Bounded, allocation-free matchers over one line.
 */
#ifndef PBX_WATCH_PARSE_H
#define PBX_WATCH_PARSE_H

#include <stdbool.h>

#include "core/cidr.h"
#include "core/slice.h"

#define WATCH_LINE_MAX 8192

struct watch_hit {
	struct ipkey addr;
	char what[48];		/* "invalid user", "wrong password", ... */
	struct slice user;	/* inside the line; may be empty */
};

/* True when line is a failure with the address it came from. */
bool watch_parse_sshd(struct slice line, struct watch_hit *h);
bool watch_parse_asterisk(struct slice line, struct watch_hit *h);

#endif

/*
 * The ports pbxguard serves, each with why: what the firewall wizard
 * opens and what kernel bans cover.
 */
#ifndef PBX_PORTS_H
#define PBX_PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define PORTS_MAX 64

struct port_use {
	struct port_range r;
	char why[96];		/* "SIP over UDP (udp:0.0.0.0:5060)" */
	bool loopback;		/* only bound to loopback: nothing to open */
	bool sip;		/* a SIP listener (UDP ones get the flood limit) */
};

/* pbxguard's listeners: SIP, IAX2, the AMI and the web page. */
size_t ports_listeners(const struct config *c, struct port_use *out, size_t max);
/* Listeners, then what the firewall opens besides them: SSH (sshd_config's
 * Port when ssh-port = auto), the RTP range, [firewall] open. */
size_t ports_firewall(const struct config *c, struct port_use *out, size_t max);
/* The ssh port [firewall] means: its own, sshd_config's, or 22; 0: none. */
unsigned ports_ssh(const struct config *c);

#endif

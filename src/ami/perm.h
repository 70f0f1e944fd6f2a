/*
 * Asterisk's manager permission classes, with its names and bits, so that
 * read/write lines from an existing manager.conf mean what they meant.
 */
#ifndef PBX_AMI_PERM_H
#define PBX_AMI_PERM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/slice.h"

enum {
	AMI_SYSTEM = 1 << 0, AMI_CALL = 1 << 1, AMI_LOG = 1 << 2, AMI_VERBOSE = 1 << 3,
	AMI_COMMAND = 1 << 4, AMI_AGENT = 1 << 5, AMI_USER = 1 << 6, AMI_CONFIG = 1 << 7,
	AMI_DTMF = 1 << 8, AMI_REPORTING = 1 << 9, AMI_CDR = 1 << 10, AMI_DIALPLAN = 1 << 11,
	AMI_ORIGINATE = 1 << 12, AMI_AGI = 1 << 13, AMI_HOOKRESPONSE = 1 << 14, AMI_CC = 1 << 15,
	AMI_AOC = 1 << 16, AMI_TEST = 1 << 17, AMI_SECURITY = 1 << 18, AMI_MESSAGE = 1 << 19,
};
/* Every named class ("all", Asterisk's INT_MAX, means these). */
#define AMI_ALL 0x7fffffff

/*
 * A read/write line: "system,call" (Asterisk's get_perm: names it does not
 * know are skipped, and put in unknown when given), "all", "none".
 * explicit_out: only the classes named one by one, without "all" — what a
 * guarded action needs (see ami/policy.h).
 */
int ami_perm_parse(struct slice s, int *explicit_out, char *unknown, size_t unknownsz);
/*
 * An Events: / EventMask: value (Asterisk's strings_to_mask): digits are a
 * mask, on/yes all, off/no none, else class names. -1 if empty.
 */
int ami_perm_mask(struct slice s);
/* Asterisk's authority_to_str: "system,call,all", or "<none>". */
void ami_perm_str(int mask, char *dst, size_t dstsz);

#endif

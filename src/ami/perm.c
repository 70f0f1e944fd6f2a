#include "ami/perm.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int bit;
	const char *name;
} classes[] = {
	{ AMI_SYSTEM, "system" }, { AMI_CALL, "call" }, { AMI_LOG, "log" },
	{ AMI_VERBOSE, "verbose" }, { AMI_COMMAND, "command" }, { AMI_AGENT, "agent" },
	{ AMI_USER, "user" }, { AMI_CONFIG, "config" }, { AMI_DTMF, "dtmf" },
	{ AMI_REPORTING, "reporting" }, { AMI_CDR, "cdr" }, { AMI_DIALPLAN, "dialplan" },
	{ AMI_ORIGINATE, "originate" }, { AMI_AGI, "agi" }, { AMI_CC, "cc" },
	{ AMI_AOC, "aoc" }, { AMI_TEST, "test" }, { AMI_SECURITY, "security" },
	{ AMI_MESSAGE, "message" },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

int
ami_perm_parse(struct slice s, int *explicit_out, char *unknown, size_t unknownsz)
{
	int mask = 0, expl = 0;
	struct slice rest;

	if (unknown && unknownsz)
		unknown[0] = '\0';
	while (s.n) {
		struct slice w = slice_trim(slice_cut(s, ',', &rest));
		s = rest;
		bool found = false;
		if (w.n == 0)
			continue;
		for (size_t i = 0; i < NCLASSES; i++)
			if (slice_caseeq_cstr(w, classes[i].name)) {
				mask |= classes[i].bit;
				expl |= classes[i].bit;
				found = true;
			}
		if (slice_caseeq_cstr(w, "all")) {
			mask |= AMI_ALL;
			found = true;
		} else if (slice_caseeq_cstr(w, "none")) {
			found = true;
		}
		if (!found && unknown && unknownsz) {
			size_t used = strlen(unknown);
			snprintf(unknown + used, unknownsz - used, "%s%.*s", used ? "," : "",
			    (int)w.n, w.p);
		}
	}
	if (explicit_out)
		*explicit_out = expl;
	return mask;
}

int
ami_perm_mask(struct slice s)
{
	static const char *const on[] = { "on", "yes", "true", "y", "t", "1", NULL };
	static const char *const off[] = { "off", "no", "false", "n", "f", "0", NULL };
	uint64_t n;

	s = slice_trim(s);
	if (s.n == 0)
		return -1;
	if (slice_to_u64(s, 0, AMI_ALL, &n))
		return (int)n;
	for (int i = 0; on[i]; i++) {
		if (slice_caseeq_cstr(s, on[i]))
			return AMI_ALL;
		if (slice_caseeq_cstr(s, off[i]))
			return 0;
	}
	return ami_perm_parse(s, NULL, NULL, 0);
}

void
ami_perm_str(int mask, char *dst, size_t dstsz)
{
	size_t o = 0;

	if (dstsz == 0)
		return;
	dst[0] = '\0';
	for (size_t i = 0; i < NCLASSES && mask && o < dstsz; i++)
		if (mask & classes[i].bit)
			o += (size_t)snprintf(dst + o, dstsz - o, "%s%s", o ? "," : "",
			    classes[i].name);
	if (mask && o < dstsz)
		snprintf(dst + o, dstsz - o, "%sall", o ? "," : "");
	else if (!mask)
		snprintf(dst, dstsz, "<none>");
}

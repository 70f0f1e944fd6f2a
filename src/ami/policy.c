#include "ami/policy.h"

#include <string.h>

#include "ami/perm.h"

/* Case-insensitive substring, for application names (Asterisk's strcasestr). */
static bool
has_case(struct slice s, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= s.n; i++)
		if (slice_caseeq_cstr(slice_sub(s, i, k), needle))
			return true;
	return false;
}

static bool
has(struct slice s, const char *needle)
{
	size_t k = strlen(needle);
	for (size_t i = 0; i + k <= s.n; i++)
		if (memcmp(s.p + i, needle, k) == 0)
			return true;
	return false;
}

/* Dialplan functions that read or write files or run commands. */
static bool
dangerous_expr(struct slice v)
{
	static const char *const fns[] = { "SHELL", "EVAL", "FILE", "STAT", "ODBC", "CURL",
		"SYSINFO", "EXEC", "SPEECH", "DB_DELETE", NULL };
	for (int i = 0; fns[i]; i++)
		if (has(v, fns[i]))
			return true;
	return false;
}

/* Any header of this name (several Variable: lines are usual). */
static bool
any_header(const struct ami_msg *m, const char *key, bool (*bad)(struct slice))
{
	size_t kl = strlen(key);
	for (size_t i = 0; i < m->n; i++) {
		struct slice h = m->h[i];
		if (h.n > kl && h.p[kl] == ':' && slice_caseeq_cstr(slice_sub(h, 0, kl), key) &&
		    bad(slice_sub(h, kl + 1, h.n - kl - 1)))
			return true;
	}
	return false;
}

static bool
any_function(struct slice v)
{
	return slice_find(v, '(') >= 0 || dangerous_expr(v);
}

/* Asterisk's own list for Originate (manager.c): applications that reach a
 * shell, run a program or another application. */
static bool
shell_application(struct slice app)
{
	static const char *const apps[] = { "system", "exec", "agi", "mixmonitor",
		"externalivr", "originate", NULL };
	for (int i = 0; apps[i]; i++)
		if (has_case(app, apps[i]))
			return true;
	return false;
}

struct guarded {
	const char *action;
	int need;		/* named explicitly in write */
	/* NULL: always guarded; else only when this says the message is risky */
	bool (*risky)(const struct ami_msg *m);
	const char *why;
};

static bool
originate_risky(const struct ami_msg *m)
{
	struct slice app = ami_get(m, "Application");
	return (app.n && shell_application(app)) || dangerous_expr(ami_get(m, "Data")) ||
	    any_header(m, "Variable", dangerous_expr);
}

static bool
var_risky(const struct ami_msg *m)
{
	return any_function(ami_get(m, "Variable")) || dangerous_expr(ami_get(m, "Value"));
}

static bool
mixmonitor_risky(const struct ami_msg *m)
{
	return ami_get(m, "Command").n > 0 || dangerous_expr(ami_get(m, "File"));
}

static const struct guarded guarded[] = {
	{ "Command", AMI_COMMAND, NULL, "runs any CLI command (a shell with '!')" },
	{ "Originate", AMI_SYSTEM, originate_risky,
	  "an application or expression that reaches a shell or files" },
	{ "Getvar", AMI_SYSTEM, var_risky, "a dialplan function that reads files or runs commands" },
	{ "Setvar", AMI_SYSTEM, var_risky, "a dialplan function that writes files or runs commands" },
	{ "MixMonitor", AMI_SYSTEM, mixmonitor_risky, "a command run when recording ends" },
	{ "GetConfig", AMI_CONFIG, NULL, "reads configuration files (secrets)" },
	{ "GetConfigJSON", AMI_CONFIG, NULL, "reads configuration files (secrets)" },
	{ "UpdateConfig", AMI_CONFIG, NULL, "rewrites configuration files" },
	{ "CreateConfig", AMI_CONFIG, NULL, "creates configuration files" },
	{ "ListCategories", AMI_CONFIG, NULL, "reads configuration files" },
	{ "ModuleLoad", AMI_SYSTEM, NULL, "loads and unloads Asterisk modules" },
	{ "AGI", AMI_AGI, NULL, "runs AGI commands (EXEC) on a channel" },
	{ "DialplanExtensionAdd", AMI_DIALPLAN, NULL, "adds dialplan that may run anything" },
	{ "DialplanExtensionRemove", AMI_DIALPLAN, NULL, "changes the dialplan" },
	{ "JabberSend", AMI_SYSTEM, NULL, "sends messages as the PBX" },
};

bool
ami_policy_allows(const struct ami_msg *m, struct slice action, int authority,
    int writeperm, int write_explicit, const char **why)
{
	*why = NULL;
	if (authority > 0 && !(writeperm & authority)) {
		*why = "the user's write classes do not include the action's";
		return false;
	}
	for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
		const struct guarded *g = &guarded[i];
		if (!slice_caseeq_cstr(action, g->action) || (g->risky && !g->risky(m)))
			continue;
		if (!(write_explicit & g->need)) {
			*why = g->why;
			return false;
		}
	}
	return true;
}

bool
ami_policy_session_action(struct slice action)
{
	static const char *const own[] = { "Login", "Logoff", "Challenge", "Events", "Filter",
		"WaitEvent", NULL };
	for (int i = 0; own[i]; i++)
		if (slice_caseeq_cstr(action, own[i]))
			return true;
	return false;
}

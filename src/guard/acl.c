#include "guard/acl.h"

bool
acl_allows(const struct acl_group *g, const struct ipkey *k)
{
	if (g->n == 0)
		return true;
	bool allow = !g->rules[0].permit;
	for (size_t i = 0; i < g->n; i++)
		if (cidr_match(&g->rules[i].net, k))
			allow = g->rules[i].permit;
	return allow;
}

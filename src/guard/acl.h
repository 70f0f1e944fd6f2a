/* ACL groups ([acl:NAME]): does a group let this address in? */
#ifndef PBX_ACL_H
#define PBX_ACL_H

#include <stdbool.h>

#include "core/cidr.h"
#include "core/config.h"

/*
 * Rules apply in order and the last one that matches decides, as Asterisk's
 * permit/deny do. When none matches, the group decides the opposite of its
 * first rule: a list that starts with permit lets in only what it permits
 * (the seed's "list of hosts permitted"), one that starts with deny lets in
 * all but what it denies.
 */
bool acl_allows(const struct acl_group *g, const struct ipkey *k);

#endif

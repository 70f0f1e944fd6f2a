/*
 * Kernel enforcement of bans with nftables (libnftables). pbxguard owns one
 * table, "inet pbxguard", and touches no other (fail2ban's, sshguard's...).
 * In it the daemon owns the ban sets and the chain "input", made anew in
 * one transaction at start; each ban is a set element with its own
 * timeout, so the kernel lifts it even if pbxguard dies. Only traffic to
 * pbxguard's ports (and to the ports of what [watch] guards) is dropped.
 * `pbxguard firewall --apply` owns the chain "firewall" of the same table,
 * which drops the banned everywhere; each leaves the other's chain alone.
 */
#ifndef PBX_NFT_H
#define PBX_NFT_H

#include <stdbool.h>
#include <time.h>

#include "core/config.h"
#include "guard/bans.h"

struct nft;

/* The ban sets, declared the same way by the daemon and the firewall (an
 * "add set" that differs from the set in place is an error). */
#define NFT_SET_BANNED4 "banned4 { type ipv4_addr; flags timeout; counter; }"
#define NFT_SET_BANNED6 "banned6 { type ipv6_addr; flags timeout; counter; }"

/*
 * nftables=auto: NULL with one warning when the table cannot be made (no
 * CAP_NET_ADMIN): bans stay in userspace. nftables=yes: *fatal is set too.
 * bans/nbans: those in force now, put in the new table.
 */
struct nft *nft_start(const struct config *cfg, const struct ban_info *bans, size_t nbans,
    time_t now, bool *fatal);
/* A bans_hook: adds or removes the element. */
void nft_on_ban(void *arg, const struct ban_info *bi, enum ban_change what, time_t now,
    const char *why);
/* Deletes the table, unless nftables-on-exit = keep. */
void nft_stop(struct nft *n);

#endif

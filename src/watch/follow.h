/*
 * Following log files as `tail -F` does, across rotation (rename and a
 * new file: the old one is read to its end first; copytruncate: from the
 * start again), with a state file so that a restart goes on where the
 * last run stopped and never reads a line twice. A file seen for the first
 * time is read from its end: its history is not today's attack.
 */
#ifndef PBX_WATCH_FOLLOW_H
#define PBX_WATCH_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/slice.h"

struct follow;

/* NULL with err only when out of memory; a missing file is waited for. */
struct follow *follow_new(const struct config_watch *cfg, char *err, size_t errsz);
void follow_free(struct follow *f);

/*
 * Reads what was appended since the last call (at most max_bytes in all),
 * calling fn for each whole line of each file. Returns the lines read.
 */
size_t follow_poll(struct follow *f, size_t max_bytes,
    void (*fn)(void *arg, enum watch_kind kind, const char *path, struct slice line),
    void *arg);
/* Writes the state file if anything moved (atomically); false on error. */
bool follow_save(struct follow *f, char *err, size_t errsz);

#endif

/*
 * The list of messages a loader hands back with what it loaded ("file:line:
 * why" for what it skipped or warns about): a char ** and its count, grown
 * one message at a time. Out of memory loses the message, never the list.
 */
#ifndef PBX_MSGLIST_H
#define PBX_MSGLIST_H

#include <stdarg.h>
#include <stddef.h>

void msglist_addf(char ***list, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void msglist_vaddf(char ***list, size_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void msglist_free(char **list, size_t n);
/* Each message as a warning after prefix, escaped: a user's row quotes
 * what came off the wire (the name) and out of a database (the values). */
void msglist_log(const char *prefix, char *const *list, size_t n);

#endif

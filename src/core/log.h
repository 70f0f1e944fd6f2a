/*
 * Operational logging (stderr or a file) and escaping of anything that
 * came from the network before it reaches a log line.
 */
#ifndef PBX_LOG_H
#define PBX_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "core/slice.h"

enum log_level { LOG_ERR, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_set_stream(FILE *f);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                  \
	do {                                            \
		if (log_get_level() >= LOG_DEBUG)       \
			log_msg(LOG_DEBUG, __VA_ARGS__); \
	} while (0)

/*
 * Escape untrusted bytes for a log line: printable ASCII other than '"'
 * and '\\' passes, everything else becomes \xNN. Output is truncated (with
 * "...") to fit dst, always NUL-terminated. Returns dst.
 */
char *log_escape(struct slice s, char *dst, size_t dstsz);

/* Size of a buffer that holds the escape of n bytes without truncation. */
#define LOG_ESCAPED_SIZE(n) ((n) * 4 + 1)

#endif

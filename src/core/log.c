#include "core/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level level = LOG_INFO;
static FILE *stream;

static const char *const names[] = { "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG" };

void
log_set_level(enum log_level lvl)
{
	level = lvl;
}

enum log_level
log_get_level(void)
{
	return level;
}

void
log_set_stream(FILE *f)
{
	stream = f;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	FILE *out = stream ? stream : stderr;
	char when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (lvl > level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "[%s] %s[%ld]: ", when, names[lvl], (long)getpid());
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static inline size_t
escaped_len(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? 1 : 4;
}

char *
log_escape(struct slice s, char *dst, size_t dstsz)
{
	static const char hx[] = "0123456789abcdef";
	size_t total = 0, limit, o = 0;
	bool cut;

	if (dstsz == 0)
		return dst;
	for (size_t i = 0; i < s.n; i++)
		total += escaped_len((unsigned char)s.p[i]);
	cut = total > dstsz - 1;
	limit = dstsz - 1 - (cut && dstsz > 4 ? 3 : 0);
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		size_t need = escaped_len(c);
		if (o + need > limit)
			break;
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hx[c >> 4];
			dst[o++] = hx[c & 15];
		}
	}
	if (cut && dstsz > 4) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	return dst;
}

#include "watch/follow.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomicfile.h"
#include "core/dbuf.h"
#include "core/log.h"
#include "watch/parse.h"

#define CHUNK 65536

struct wfile {
	char path[PATH_MAX];
	enum watch_kind kind;
	int fd;			/* -1: not open (not there yet) */
	uint64_t dev, ino;
	uint64_t off;		/* consumed: the end of the last whole line */
	bool skipping;		/* inside a line longer than CHUNK */
	/* From the state file, until the file is first opened. */
	bool have_state;
	uint64_t st_dev, st_ino, st_off;
};

struct follow {
	struct wfile *f;
	size_t n;
	char state[PATH_MAX];
	bool dirty;
	char buf[CHUNK];
};

/* State lines: "dev ino offset path". Unknown or odd lines are ignored:
 * the worst a lost state costs is starting at a file's end. */
static void
load_state(struct follow *fl)
{
	char *data = NULL, err[256];
	size_t n = 0;

	if (file_read_all(fl->state, 1u << 20, &data, &n, err, sizeof(err)) != 0)
		return;
	struct slice rest = { data, n };
	while (rest.n) {
		struct slice line = slice_cut(rest, '\n', &rest), f[3];
		uint64_t v[3];
		bool ok = true;
		for (int k = 0; k < 3; k++) {
			f[k] = slice_cut(line, ' ', &line);
			ok = ok && slice_to_u64(f[k], 0, UINT64_MAX, &v[k]);
		}
		for (size_t k = 0; ok && k < fl->n; k++)
			if (slice_eq_cstr(line, fl->f[k].path)) {
				fl->f[k].have_state = true;
				fl->f[k].st_dev = v[0];
				fl->f[k].st_ino = v[1];
				fl->f[k].st_off = v[2];
			}
	}
	free(data);
}

struct follow *
follow_new(const struct config_watch *cfg, char *err, size_t errsz)
{
	struct follow *fl = calloc(1, sizeof(*fl));
	if (!fl)
		goto nomem;
	snprintf(fl->state, sizeof(fl->state), "%s", cfg->state);
	if (cfg->n && !(fl->f = calloc(cfg->n, sizeof(*fl->f))))
		goto nomem;
	for (size_t i = 0; i < cfg->n; i++) {
		struct wfile *w = &fl->f[fl->n++];
		snprintf(w->path, sizeof(w->path), "%s", cfg->src[i].path);
		w->kind = cfg->src[i].kind;
		w->fd = -1;
	}
	load_state(fl);
	return fl;
nomem:
	snprintf(err, errsz, "watch: out of memory");
	free(fl);
	return NULL;
}

void
follow_free(struct follow *fl)
{
	if (!fl)
		return;
	for (size_t i = 0; i < fl->n; i++)
		if (fl->f[i].fd >= 0)
			close(fl->f[i].fd);
	free(fl->f);
	free(fl);
}

/* Whole lines of fd from w->off, at most *budget bytes. */
static size_t
drain(struct follow *fl, struct wfile *w, size_t *budget,
    void (*fn)(void *, enum watch_kind, const char *, struct slice), void *arg)
{
	size_t lines = 0;

	while (*budget > 0) {
		ssize_t r = pread(w->fd, fl->buf, sizeof(fl->buf), (off_t)w->off);
		if (r <= 0)
			break;
		size_t i = 0, got = (size_t)r;
		while (i < got) {
			char *nl = memchr(fl->buf + i, '\n', got - i);
			if (!nl)
				break;
			size_t end = (size_t)(nl - fl->buf);
			if (!w->skipping) {
				fn(arg, w->kind, w->path, (struct slice){ fl->buf + i, end - i });
				lines++;
			}
			w->skipping = false;
			i = end + 1;
		}
		if (i == 0 && got == sizeof(fl->buf)) {
			/* A line longer than the buffer is nobody's log line: skip it. */
			w->skipping = true;
			i = got;
		}
		if (i == 0)
			break;		/* a partial line: wait for its end */
		w->off += i;
		fl->dirty = true;
		*budget = *budget > i ? *budget - i : 0;
	}
	return lines;
}

static bool
open_file(const char *path, int *fd, struct stat *st)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0)
		return false;
	if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(*fd);
		*fd = -1;
		return false;
	}
	return true;
}

/*
 * The first open of a file this run. With a state for the same file: go
 * on from its offset. With a state for another inode (rotated while
 * pbxguard was down): finish the rotated copy (PATH.1) if it is that
 * inode, then read the new file from its start. Without a state: its end.
 */
static void
first_open(struct follow *fl, struct wfile *w, int fd, const struct stat *st, size_t *budget,
    void (*fn)(void *, enum watch_kind, const char *, struct slice), void *arg)
{
	w->fd = fd;
	w->dev = (uint64_t)st->st_dev;
	w->ino = (uint64_t)st->st_ino;
	if (!w->have_state) {
		w->off = (uint64_t)st->st_size;
		log_notice("watch: %s: first seen, read from its end (%" PRIu64 " bytes skipped)",
		    w->path, w->off);
		fl->dirty = true;
		return;
	}
	w->have_state = false;
	if (w->st_dev == w->dev && w->st_ino == w->ino) {
		w->off = w->st_off <= (uint64_t)st->st_size ? w->st_off : 0;
		return;
	}
	char rotated[PATH_MAX + 4];
	struct stat rst;
	int rfd;
	snprintf(rotated, sizeof(rotated), "%s.1", w->path);
	if (open_file(rotated, &rfd, &rst)) {
		if ((uint64_t)rst.st_dev == w->st_dev && (uint64_t)rst.st_ino == w->st_ino) {
			struct wfile old = *w;
			old.fd = rfd;
			old.off = w->st_off;
			drain(fl, &old, budget, fn, arg);
			log_notice("watch: %s: rotated while pbxguard was stopped; the rest of %s "
			    "read", w->path, rotated);
		}
		close(rfd);
	}
	w->off = 0;
	fl->dirty = true;
}

size_t
follow_poll(struct follow *fl, size_t max_bytes,
    void (*fn)(void *, enum watch_kind, const char *, struct slice), void *arg)
{
	size_t lines = 0, budget = max_bytes;

	for (size_t i = 0; i < fl->n; i++) {
		struct wfile *w = &fl->f[i];
		struct stat st;
		int fd;
		if (w->fd < 0) {
			if (!open_file(w->path, &fd, &st))
				continue;
			if (w->dev == 0 && w->ino == 0) {
				first_open(fl, w, fd, &st, &budget, fn, arg);
			} else {
				/* A new file after a rotation: all of it is new. */
				w->fd = fd;
				w->dev = (uint64_t)st.st_dev;
				w->ino = (uint64_t)st.st_ino;
				w->off = 0;
				fl->dirty = true;
			}
		}
		if (fstat(w->fd, &st) == 0 && (uint64_t)st.st_size < w->off) {
			log_notice("watch: %s: truncated (copytruncate?), read from its start",
			    w->path);
			w->off = 0;
			fl->dirty = true;
		}
		lines += drain(fl, w, &budget, fn, arg);
		/* Renamed away or replaced: the old one is read to its end above;
		 * the new one is opened at the next poll. */
		struct stat now;
		if (stat(w->path, &now) != 0 || (uint64_t)now.st_ino != w->ino ||
		    (uint64_t)now.st_dev != w->dev) {
			if (budget > 0) {
				close(w->fd);
				w->fd = -1;
				if (stat(w->path, &now) == 0)
					log_notice("watch: %s: rotated, following the new file", w->path);
			}
		}
	}
	return lines;
}

bool
follow_save(struct follow *fl, char *err, size_t errsz)
{
	struct dbuf b;

	if (!fl->dirty)
		return true;
	dbuf_init(&b, 1u << 20);
	for (size_t i = 0; i < fl->n; i++) {
		const struct wfile *w = &fl->f[i];
		if (w->dev || w->ino)
			dbuf_printf(&b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", w->dev, w->ino,
			    w->off, w->path);
		else if (w->have_state)	/* not seen this run: keep what we knew */
			dbuf_printf(&b, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s\n", w->st_dev,
			    w->st_ino, w->st_off, w->path);
	}
	bool ok = !b.failed &&
	    atomicfile_write(fl->state, b.p ? b.p : "", b.n, 0600, err, errsz) == 0;
	if (b.failed)
		snprintf(err, errsz, "out of memory");
	dbuf_free(&b);
	if (ok)
		fl->dirty = false;
	return ok;
}

/*
 * Whole-file replacement that never leaves a half-written file behind:
 * a temporary file in the same directory, fsync, rename over the target,
 * fsync of the directory. Owner and mode of the old file are kept.
 * A sibling "<path>.lock" serialises read-modify-write cycles between
 * processes (flock), since the target's inode changes on every rename.
 */
#ifndef PBX_ATOMICFILE_H
#define PBX_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

/* Take the exclusive lock for path. Returns an fd to pass to unlock, or -1. */
int atomicfile_lock(const char *path, char *err, size_t errsz);
void atomicfile_unlock(int lockfd);

/*
 * Replace path with data. newmode applies only when path does not exist yet.
 * Returns 0, or -1 with a message in err; on failure the old file is intact.
 */
int atomicfile_write(const char *path, const void *data, size_t n, mode_t newmode,
    char *err, size_t errsz);

/* mkdir -p: the last component with mode, missing parents 0755. */
int mkdir_parents(const char *path, mode_t mode);
/* mkdir -p of the directory a file goes in. */
int mkdir_parent_of(const char *path, mode_t mode);
/* write(2) until all of p is out (EINTR retried); -1 with errno. */
int fd_write_all(int fd, const char *p, size_t n);

/* Read a whole file (at most maxsz bytes) into a malloc'd buffer. */
int file_read_all(const char *path, size_t maxsz, char **data, size_t *n,
    char *err, size_t errsz);

#endif

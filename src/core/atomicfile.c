#include "core/atomicfile.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int
atomicfile_lock(const char *path, char *err, size_t errsz)
{
	char lockpath[PATH_MAX];
	int fd;

	if ((size_t)snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >= sizeof(lockpath)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", lockpath, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) < 0) {
		snprintf(err, errsz, "%s: lock: %s", lockpath, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
atomicfile_unlock(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd); /* releases the flock */
}

int
fd_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
atomicfile_write(const char *path, const void *data, size_t n, mode_t newmode,
    char *err, size_t errsz)
{
	char tmp[PATH_MAX], dirbuf[PATH_MAX];
	struct stat st;
	int fd = -1, dfd = -1, rc = -1, have_old;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp) ||
	    (size_t)snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= sizeof(dirbuf)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -1;
	}
	have_old = stat(path, &st) == 0;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: cannot create temporary file: %s", path, strerror(errno));
		return -1;
	}
	/* Mode first, so the secret never sits in a wider-open file. */
	if (fchmod(fd, have_old ? (st.st_mode & 07777) : newmode) < 0 ||
	    (have_old && geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)) {
		snprintf(err, errsz, "%s: cannot set owner/mode: %s", tmp, strerror(errno));
		goto out;
	}
	if (fd_write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		snprintf(err, errsz, "%s: write failed, file left unchanged: %s", path,
		    strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errsz, "%s: write failed, file left unchanged: %s", path,
		    strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errsz, "%s: rename failed, file left unchanged: %s", path,
		    strerror(errno));
		goto out;
	}
	tmp[0] = '\0'; /* nothing left to unlink */
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd); /* make the rename itself durable */
		close(dfd);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0])
		unlink(tmp);
	return rc;
}

int
file_read_all(const char *path, size_t maxsz, char **data, size_t *n, char *err,
    size_t errsz)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > maxsz) {
		snprintf(err, errsz, "%s: larger than %zu bytes", path, maxsz);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		snprintf(err, errsz, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*data = buf;
	*n = got;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
mkdir_parent_of(const char *path, mode_t mode)
{
	char dir[PATH_MAX];
	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return mkdir_parents(dir, mode);
}

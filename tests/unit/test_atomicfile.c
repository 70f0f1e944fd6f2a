#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "core/atomicfile.h"

static char dir[64], path[128];

static int
count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void
test_write_keeps_mode(void **state)
{
	char err[256], *data;
	size_t n;
	struct stat st;
	(void)state;

	assert_int_equal(atomicfile_write(path, "one\n", 4, 0600, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	chmod(path, 0640);
	assert_int_equal(atomicfile_write(path, "two\n", 4, 0600, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(file_read_all(path, 100, &data, &n, err, sizeof(err)), 0);
	assert_string_equal(data, "two\n");
	free(data);
	assert_int_equal(file_read_all(path, 2, &data, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
}

/*
 * A full disk during a rewrite: RLIMIT_FSIZE makes write() fail (EFBIG) the
 * way ENOSPC would. The old file must be intact and no temporary left over.
 */
static void
test_full_disk_loses_nothing(void **state)
{
	char err[256], *data, big[8192];
	size_t n;
	struct rlimit old, lim = { 1024, 1024 };
	(void)state;

	assert_int_equal(atomicfile_write(path, "precious\n", 9, 0600, err, sizeof(err)), 0);
	int before = count_entries();
	memset(big, 'x', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = atomicfile_write(path, big, sizeof(big), 0600, err, sizeof(err));
	setrlimit(RLIMIT_FSIZE, &old);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "file left unchanged"));
	assert_int_equal(file_read_all(path, 100, &data, &n, err, sizeof(err)), 0);
	assert_string_equal(data, "precious\n");
	free(data);
	assert_int_equal(count_entries(), before);
}

static void
test_lock_is_exclusive(void **state)
{
	char err[256];
	(void)state;
	int fd = atomicfile_lock(path, err, sizeof(err));
	assert_true(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* The child must not get the lock while the parent holds it. */
		char lp[160];
		snprintf(lp, sizeof(lp), "%s.lock", path);
		int cfd = open(lp, O_RDWR);
		_exit(flock(cfd, LOCK_EX | LOCK_NB) == 0 ? 1 : 0);
	}
	int status;
	waitpid(pid, &status, 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	atomicfile_unlock(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_keeps_mode),
		cmocka_unit_test(test_full_disk_loses_nothing),
		cmocka_unit_test(test_lock_is_exclusive),
	};
	snprintf(path, sizeof(path), "%s/file", test_tmpdir(dir, sizeof(dir)));
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char lp[160];
	snprintf(lp, sizeof(lp), "%s.lock", path);
	unlink(lp);
	unlink(path);
	rmdir(dir);
	return rc;
}

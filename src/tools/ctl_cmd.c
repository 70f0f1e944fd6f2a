/* pbxguard ctl: one command to the running daemon over its control socket. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/config.h"
#include "daemon/cmds.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: pbxguard ctl [-c FILE | -s SOCKET] bans list\n"
	    "       pbxguard ctl [-c FILE | -s SOCKET] bans ban ADDR [TIME]\n"
	    "       pbxguard ctl [-c FILE | -s SOCKET] bans unban ADDR\n"
	    "The socket is [global] control-socket of FILE (default: that of the embedded\n"
	    "configuration). TIME: seconds, or 10m, 1h, 1d, 1w; default: bantime, grown\n"
	    "by bantime.increment.\n");
}

int
ctl_exchange(const char *sock, const char *line, size_t n, void (*each)(void *, const char *,
    size_t), void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd = -1, rc = -2;

	if (strlen(sock) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "pbxguard: %s: path too long for a socket\n", sock);
		return -2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (!each)
			fprintf(stderr, "pbxguard: cannot reach the daemon at %s: %s\n", sock,
			    strerror(errno));
		goto out;
	}
	if (write(fd, line, n) != (ssize_t)n) {
		fprintf(stderr, "pbxguard: %s: %s\n", sock, strerror(errno));
		goto out;
	}
	/* "ok ..." or "error: ..." first; the rest is passed on as it comes. */
	bool first = true;
	ssize_t got;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		if (first) {
			rc = got >= 3 && strncmp(buf, "ok", 2) == 0 ? 0 : -1;
			first = false;
		}
		if (each)
			each(arg, buf, (size_t)got);
		else
			fwrite(buf, 1, (size_t)got, rc == 0 ? stdout : stderr);
	}
	if (first) {
		fprintf(stderr, "pbxguard: the daemon closed the connection without answering "
		    "(not root or its user?)\n");
		rc = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
cmd_ctl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *sock = NULL;
	struct config cfg;
	struct config_errors errs = { 0 };
	char line[600];
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "+c:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 4 || strcmp(argv[0], "bans") != 0) {
		usage(stderr);
		return 2;
	}
	size_t at = 0;
	for (int i = 0; i < argc; i++) {
		int n = snprintf(line + at, sizeof(line) - at, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - at - 1 || strpbrk(argv[i], " \t\r\n")) {
			fprintf(stderr, "pbxguard: bad argument '%s'\n", argv[i]);
			return 2;
		}
		at += (size_t)n;
	}
	line[at++] = '\n';

	config_defaults(&cfg);
	if (!sock) {
		if (!config_load(&cfg, conf, &errs)) {
			for (size_t i = 0; i < errs.n; i++)
				fprintf(stderr, "%s\n", errs.msg[i]);
			goto out;
		}
		sock = cfg.control_socket;
	}
	rc = ctl_exchange(sock, line, at, NULL, NULL) == 0 ? 0 : 1;
out:
	config_free(&cfg);
	config_errors_free(&errs);
	return rc;
}

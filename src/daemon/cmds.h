/* Subcommands of the pbxguard binary; each returns the exit status. */
#ifndef PBX_CMDS_H
#define PBX_CMDS_H

int cmd_serve(int argc, char **argv);
int cmd_userdb(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_htpasswd(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_firewall(int argc, char **argv);

#include <stdbool.h>
#include <stddef.h>
/* A passphrase: the first line of file, or asked on the terminal without
 * echo (twice when confirm). -1 (said on stderr) when none was had. */
int keys_ask_passphrase(const char *file, const char *prompt, bool confirm, char *buf,
    size_t bufsz);
/*
 * One line to the control socket. 0: "ok"; -1: the daemon said "error"
 * (or nothing); -2: not reachable (silent when each is given). The answer
 * goes to each, or to stdout/stderr.
 */
int ctl_exchange(const char *sock, const char *line, size_t n,
    void (*each)(void *arg, const char *buf, size_t n), void *arg);

/*
 * The configuration a tool works with: path, else $PBXGUARD_CONFIG, else
 * /etc/pbxguard/pbxguard.conf when it exists, else the embedded default.
 * -1 (errors said on stderr) when it does not load.
 */
struct config;
int tool_load_config(const char *path, struct config *cfg);
/* The password policy of cfg; NULL (said) when its blocklist is unreadable. */
struct pwpolicy;
struct pwpolicy *tool_policy(const struct config *cfg);
/*
 * A new secret through the policy: 0 to go on (acceptable, advise mode, or
 * --force-weak with its line in the override log), -1 refused with every
 * reason said on stderr. cmd/file/account name the change in the trail.
 */
struct pw_context;
int tool_policy_gate(const struct config *cfg, const struct pwpolicy *p, const char *secret,
    const struct pw_context *who, bool force_weak, const char *cmd, const char *file,
    const char *account);

#endif

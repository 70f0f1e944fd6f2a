/* Subcommands of the pbxguard binary; each returns the exit status. */
#ifndef PBX_CMDS_H
#define PBX_CMDS_H

int cmd_serve(int argc, char **argv);
int cmd_userdb(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_cert(int argc, char **argv);
int cmd_htpasswd(int argc, char **argv);

#endif

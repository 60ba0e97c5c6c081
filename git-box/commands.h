#ifndef COMMANDS_H
#define COMMANDS_H

/*
 * One function per subcommand, each in its own cmd-*.c (hooks and the
 * filter live in hooks/ and filters/). argv[0] is the command's name;
 * the return value is the exit code (util.h).
 */
int cmd_init(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_hook(int argc, char **argv);
int cmd_filter_process(int argc, char **argv);

#endif

#ifndef CHILD_H
#define CHILD_H

#include <stdio.h>
#include <sys/types.h>

/*
 * Starting a program as a child process: posix_spawn with an argv,
 * never a shell, the program looked up on PATH as execvp would. The parent's ends of any pipes are close-on-exec, so a
 * child started by another thread never holds them open.
 */

enum child_stdio {
	CHILD_INHERIT,     /* the parent's own descriptor */
	CHILD_NULL,        /* /dev/null */
	CHILD_PIPE,        /* a pipe, the parent's end in struct child */
	CHILD_SOCKET,      /* a socket pair: writes to it can fail with EPIPE, never SIGPIPE */
};

struct child_options {
	const char *const *argv;     /* argv[0] is looked up on PATH (the parent's) */
	char *const *env;            /* NULL: the parent's environment */
	const char *dir;             /* NULL: the parent's folder */
	enum child_stdio in, out, err;
};

struct child {
	pid_t pid;
	int in, out, err;            /* the parent's ends, or -1 */
};

#define CHILD_INIT { -1, -1, -1, -1 }

/* Returns 0, or -1 with box_error set (naming argv[0]) when it cannot start. */
int child_start(struct child *c, const struct child_options *o);

/*
 * Close the parent's ends and wait for the child. `status` gets the raw
 * wait status (WIFEXITED...); returns -1 only when waiting failed.
 */
int child_finish(struct child *c, int *status);

/*
 * The common case: run argv with /dev/null as its input and read what it
 * prints through *out; its standard error is ours. child_read_finish()
 * closes *out, waits, and fails (box_error naming the program) unless it
 * exited with 0.
 */
int child_read_start(struct child *c, FILE **out, const char *const *argv);
int child_read_finish(struct child *c, FILE *out, const char *const *argv);

/*
 * The full path of a program as execvp would find it on PATH, or NULL; a
 * name with a '/' is returned as it is.
 */
char *child_find_program(const char *name);

/*
 * The same, in the absolute folders of PATH only: a relative folder ("",
 * ".", "bin") is looked up from the folder git box runs in, often the
 * work tree, whose files must not be run by surprise. A name with a '/'
 * is not looked up (NULL).
 */
char *child_find_program_absolute(const char *name);

/* The parent's environment without the variables in `drop`, plus `add` ("NAME=value"). */
char **child_env(const char *const *drop, const char *const *add);
void child_env_free(char **env);

#endif

#ifndef CHILD_H
#define CHILD_H

#include <stdio.h>
#include <sys/types.h>

/*
 * Running a program as a child and reading what it prints, never through
 * a shell: the argv goes to posix_spawnp as it is. git box runs git
 * itself where git does a job faster or more exactly than libgit2 can
 * (reading a large index with every extension git may have written, or
 * streaming a blob of several GiB), always with git's own environment,
 * so that GIT_DIR and GIT_INDEX_FILE mean what they meant to the caller.
 */

struct child {
	pid_t pid;
	FILE *out;        /* the child's standard output */
	char *name;       /* "git diff-index", for messages */
};

#define CHILD_INIT { -1, NULL, NULL }

/*
 * Start argv[0] (looked up on PATH) with argv. Its standard input is
 * /dev/null, its standard output is c->out, its standard error is ours.
 * Returns 0, or -1 with box_error set.
 */
int child_start(struct child *c, const char *const argv[]);

/*
 * Close c->out and wait for the child. Returns 0 when it exited with 0,
 * -1 with box_error set otherwise (its exit code or signal named).
 */
int child_finish(struct child *c);

#endif

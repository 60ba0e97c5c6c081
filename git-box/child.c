#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

extern char **environ;

static void close_pair(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* fds[0] is the child's end, fds[1] the parent's. */
static int make_stdio(int fds[2], enum child_stdio how, int child_reads)
{
	int p[2];

	fds[0] = fds[1] = -1;
	switch (how) {
	case CHILD_INHERIT:
		return 0;
	case CHILD_NULL:
		fds[0] = open("/dev/null", (child_reads ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
		break;
	case CHILD_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0)
			break;
		fds[0] = child_reads ? p[0] : p[1];
		fds[1] = child_reads ? p[1] : p[0];
		break;
	case CHILD_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
			break;
		fds[0] = p[0];
		fds[1] = p[1];
		break;
	}
	if (fds[0] < 0) {
		box_error_set("cannot make a pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int child_start(struct child *c, const struct child_options *o)
{
	posix_spawn_file_actions_t actions;
	int fds[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	const enum child_stdio how[3] = { o->in, o->out, o->err };
	char *program;
	int err, ret = -1;

	c->pid = -1;
	c->in = c->out = c->err = -1;
	/*
	 * Look the program up first: a program that is not there is then the
	 * same clear error however posix_spawnp reports it (some systems,
	 * and valgrind, only let the child exit with 127).
	 */
	program = child_find_program(o->argv[0]);
	if (!program) {
		box_error_set("cannot run '%s': %s", o->argv[0], strerror(ENOENT));
		return -1;
	}
	if (posix_spawn_file_actions_init(&actions)) {
		free(program);
		box_error_set("cannot start '%s': out of memory", o->argv[0]);
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		if (make_stdio(fds[i], how[i], i == 0) < 0)
			goto out;
		/* dup2 onto 0, 1, 2 clears close-on-exec for the child alone. */
		if (fds[i][0] >= 0 && posix_spawn_file_actions_adddup2(&actions, fds[i][0], i)) {
			box_error_set("cannot start '%s': out of memory", o->argv[0]);
			goto out;
		}
	}
	if (o->dir && posix_spawn_file_actions_addchdir_np(&actions, o->dir)) {
		box_error_set("cannot start '%s': out of memory", o->argv[0]);
		goto out;
	}
	err = posix_spawn(&c->pid, program, &actions, NULL, (char *const *)o->argv,
			  o->env ? o->env : environ);
	if (err) {
		box_error_set("cannot run '%s': %s", o->argv[0], strerror(err));
		c->pid = -1;
		goto out;
	}
	c->in = fds[0][1];
	c->out = fds[1][1];
	c->err = fds[2][1];
	fds[0][1] = fds[1][1] = fds[2][1] = -1;
	ret = 0;
out:
	for (int i = 0; i < 3; i++)
		close_pair(fds[i]);
	posix_spawn_file_actions_destroy(&actions);
	free(program);
	return ret;
}

int child_finish(struct child *c, int *status)
{
	int ret = 0;

	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	c->in = c->out = c->err = -1;
	*status = 0;
	if (c->pid > 0) {
		while (waitpid(c->pid, status, 0) < 0) {
			if (errno != EINTR) {
				box_error_set("cannot wait for a child process: %s", strerror(errno));
				ret = -1;
				break;
			}
		}
	}
	c->pid = -1;
	return ret;
}

int child_read_start(struct child *c, FILE **out, const char *const *argv)
{
	struct child_options o = { argv, NULL, NULL, CHILD_NULL, CHILD_PIPE, CHILD_INHERIT };
	int status;

	*out = NULL;
	if (child_start(c, &o) < 0)
		return -1;
	*out = fdopen(c->out, "r");
	if (!*out) {
		box_error_set("cannot read from '%s': %s", argv[0], strerror(errno));
		child_finish(c, &status);
		return -1;
	}
	c->out = -1;   /* *out owns it now */
	return 0;
}

int child_read_finish(struct child *c, FILE *out, const char *const *argv)
{
	int status;

	if (out)
		fclose(out);
	if (child_finish(c, &status) < 0)
		return -1;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	if (WIFEXITED(status))
		box_error_set("'%s%s%s' failed with exit code %d", argv[0], argv[1] ? " " : "",
			      argv[1] ? argv[1] : "", WEXITSTATUS(status));
	else
		box_error_set("'%s%s%s' was killed by signal %d", argv[0], argv[1] ? " " : "",
			      argv[1] ? argv[1] : "", WTERMSIG(status));
	return -1;
}

static char *find_on_path(const char *name, int absolute_only)
{
	const char *path = getenv("PATH"), *p;

	for (p = path ? path : "/usr/bin:/bin"; ; p++) {
		size_t len = strcspn(p, ":");
		char *candidate = NULL;
		struct stat st;

		if (!absolute_only)
			candidate = len ? xstrfmt("%.*s/%s", (int)len, p, name) : xstrfmt("./%s", name);
		else if (*p == '/')
			candidate = xstrfmt("%.*s/%s", (int)len, p, name);
		if (candidate && !stat(candidate, &st) && S_ISREG(st.st_mode) && !access(candidate, X_OK))
			return candidate;
		free(candidate);
		p += len;
		if (!*p)
			return NULL;
	}
}

char *child_find_program(const char *name)
{
	/* A path is taken as it is: relative to the child's folder, which may not be ours. */
	if (strchr(name, '/'))
		return xstrdup(name);
	return find_on_path(name, 0);
}

char *child_find_program_absolute(const char *name)
{
	return strchr(name, '/') ? NULL : find_on_path(name, 1);
}

static int dropped(const char *entry, const char *const *drop)
{
	for (size_t i = 0; drop && drop[i]; i++) {
		size_t len = strlen(drop[i]);

		if (!strncmp(entry, drop[i], len) && entry[len] == '=')
			return 1;
	}
	return 0;
}

char **child_env(const char *const *drop, const char *const *add)
{
	size_t n = 0, nadd = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (add && add[nadd])
		nadd++;
	env = xcalloc(n + nadd + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (!dropped(environ[i], drop))
			env[k++] = xstrdup(environ[i]);
	for (size_t i = 0; i < nadd; i++)
		env[k++] = xstrdup(add[i]);
	env[k] = NULL;
	return env;
}

void child_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

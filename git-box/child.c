#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"
#include "banned.h"

extern char **environ;

int child_start(struct child *c, const char *const argv[])
{
	posix_spawn_file_actions_t actions;
	int fds[2], err;

	c->pid = -1;
	c->out = NULL;
	c->name = argv[1] ? xstrfmt("%s %s", argv[0], argv[1]) : xstrdup(argv[0]);
	if (pipe2(fds, O_CLOEXEC) < 0) {
		box_error_set("cannot run '%s': %s", c->name, strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
	err = posix_spawnp(&c->pid, argv[0], &actions, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(fds[1]);
	if (err) {
		box_error_set("cannot run '%s': %s", c->name, strerror(err));
		close(fds[0]);
		c->pid = -1;
		return -1;
	}
	c->out = fdopen(fds[0], "r");
	if (!c->out) {
		box_error_set("cannot read from '%s': %s", c->name, strerror(errno));
		close(fds[0]);
		child_finish(c);
		return -1;
	}
	return 0;
}

int child_finish(struct child *c)
{
	int status, ret = -1;
	pid_t got;

	if (c->out)
		fclose(c->out);
	c->out = NULL;
	if (c->pid < 0)
		goto out;
	while ((got = waitpid(c->pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (got < 0)
		box_error_set("cannot wait for '%s': %s", c->name, strerror(errno));
	else if (WIFEXITED(status) && !WEXITSTATUS(status))
		ret = 0;
	else if (WIFEXITED(status))
		box_error_set("'%s' failed with exit code %d", c->name, WEXITSTATUS(status));
	else
		box_error_set("'%s' was killed by signal %d", c->name, WTERMSIG(status));
	c->pid = -1;
out:
	free(c->name);
	c->name = NULL;
	return ret;
}

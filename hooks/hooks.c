/*
 * `git box hook NAME`: the one entry point of every hook shim.
 *
 * Hooks that carry no rule of their own accept: git runs them for every
 * commit and ref update, and a box with no rule to enforce at that point
 * must not be slowed down or blocked by one. pre-receive is a server's
 * hook: `git box install` never writes its shim in a clone, and
 * contrib/server/ sets it up in a bare repository.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "hooks.h"
#include "install.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

int hooks_open_repo(git_repository **out)
{
	const char *env = getenv("GIT_INDEX_FILE");
	char *index_file = env ? xstrdup(env) : NULL;
	int ret;

	if (index_file)
		unsetenv("GIT_INDEX_FILE");
	ret = repo_open_from_env(out);
	if (index_file) {
		setenv("GIT_INDEX_FILE", index_file, 1);
		free(index_file);
	}
	return ret;
}

static const char *const synopsis[] = {
	"git box hook <name> [<args>...]",
	NULL,
};

static const struct command_usage usage = { "hook", synopsis };

struct hook {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct hook hooks[] = {
	{ "pre-commit", hook_pre_commit },
	{ "pre-merge-commit", hook_pre_commit },
	{ "commit-msg", hook_commit_msg },
	{ "post-checkout", hook_post_checkout },
	{ "post-merge", hook_post_checkout },
	{ "post-commit", hook_post_commit },
	{ "post-index-change", hook_post_index_change },
	{ "reference-transaction", hook_reference_transaction },
	{ "pre-receive", hook_pre_receive },
};

static const char *const server_hook_names[] = {
	"pre-receive",
	NULL,
};

int cmd_hook(int argc, char **argv)
{
	int known = 0;

	if (argc < 2)
		return usage_error(&usage, "which hook?");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage_show(&usage, stdout);
		return BOX_OK;
	}
	for (size_t i = 0; box_hook_names[i]; i++)
		known |= !strcmp(box_hook_names[i], argv[1]);
	for (size_t i = 0; server_hook_names[i]; i++)
		known |= !strcmp(server_hook_names[i], argv[1]);
	if (!known) {
		struct buf names = BUF_INIT;

		error("'%s' is not a hook git box handles", argv[1]);
		for (size_t i = 0; box_hook_names[i]; i++)
			buf_addf(&names, " %s", box_hook_names[i]);
		for (size_t i = 0; server_hook_names[i]; i++)
			buf_addf(&names, " %s", server_hook_names[i]);
		fputc('\n', stderr);
		fprintf_ln(stderr, "The hooks are:%s", names.ptr);
		buf_release(&names);
		return BOX_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		if (!strcmp(hooks[i].name, argv[1]))
			return hooks[i].run(argc - 1, argv + 1);
	return BOX_OK;
}

/*
 * `git box hook NAME`: the one entry point of every hook shim.
 *
 * Hooks that carry no rule of their own yet accept: git runs them for
 * every commit and ref update, and a box with no rule to enforce at that
 * point must not be slowed down or blocked by one.
 */
#include <string.h>

#include "commands.h"
#include "hooks.h"
#include "install.h"
#include "output.h"
#include "banned.h"

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
	{ "post-checkout", hook_post_checkout },
	{ "post-merge", hook_post_checkout },
	{ "post-commit", hook_post_commit },
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
	if (!known) {
		error("'%s' is not a hook git box handles", argv[1]);
		fprintf(stderr, "\nThe hooks are:");
		for (size_t i = 0; box_hook_names[i]; i++)
			fprintf(stderr, " %s", box_hook_names[i]);
		fprintf(stderr, "\n");
		return BOX_ERROR;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hooks); i++)
		if (!strcmp(hooks[i].name, argv[1]))
			return hooks[i].run(argc - 1, argv + 1);
	return BOX_OK;
}

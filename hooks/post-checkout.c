/*
 * post-checkout, post-merge and post-index-change: git has just written
 * files into the work tree with ordinary modes; make the inputs read-only
 * again. post-index-change covers what runs neither of the others (git
 * reset --hard, and the --abort of merge, cherry-pick, rebase and am).
 * These hooks cannot stop anything (git ignores their exit code), so a
 * failure is reported as a warning with the way to fix it.
 */
#include <string.h>

#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

int hook_post_checkout(int argc, char **argv)
{
	struct box box = BOX_INIT;
	git_repository *repo = NULL;
	size_t tightened;
	int not_a_box;

	(void)argc;
	(void)argv;
	if (repo_open_from_env(&repo) < 0)
		return BOX_OK;
	if (box_open(&box, repo, &not_a_box) < 0) {
		if (!not_a_box)
			warning("%s", box_error_last());
		box_release(&box);
		return BOX_OK;
	}
	if (box_make_inputs_readonly(&box, &tightened) < 0) {
		warning("inputs may be writable: %s", box_error_last());
		hint("run 'git box install' to make them read-only again");
	}
	box_release(&box);
	return BOX_OK;
}

/*
 * git writes the index for every add, commit and status; only a write
 * that also updated the work tree ("1" as the first argument) concerns
 * the inputs' modes, and any other returns at once.
 */
int hook_post_index_change(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "1"))
		return BOX_OK;
	return hook_post_checkout(argc, argv);
}

/*
 * reference-transaction: the last layer in a clone, below every git
 * command that moves a ref, whether or not it ran the commit hooks:
 * commit --no-verify, cherry-pick, revert, rebase, am, merge, reset,
 * update-ref, branch, notes, tag. In the "prepared" state git has locked
 * the refs and waits for our answer; a refusal aborts the whole
 * transaction, and no ref moves.
 *
 * git calls this hook for every transaction of every command, so it
 * looks at the ref names first and opens nothing unless a branch,
 * refs/notes/box or a box tag is being updated. The old value git gives
 * is the one its caller expected (all zeros when it expected none, as
 * `git update-ref REF NEW` does), so the value each ref holds now is read
 * from the repository instead. The judging itself is guard.c's.
 */
#include <string.h>

#include "guard.h"
#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

int hook_reference_transaction(int argc, char **argv)
{
	struct box box = BOX_INIT;
	struct guard g = GUARD_INIT;
	struct violations v = VIOLATIONS_INIT;
	struct hooks_update *updates = NULL;
	git_repository *repo = NULL;
	size_t nr = 0;
	git_oid freeze;
	int not_a_box, ret = BOX_ERROR;

	if (argc < 2)
		return error("reference-transaction: which state?");
	if (strcmp(argv[1], "prepared"))
		return BOX_OK;   /* committed or aborted: it is done, nothing to judge */
	if (hooks_read_updates(&updates, &nr, stdin, 0) < 0)
		goto out;
	if (!nr) {
		ret = BOX_OK;
		goto out;
	}
	if (hooks_open_repo(&repo) < 0) {
		error_last(NULL);
		goto out;
	}
	if (box_open(&box, repo, &not_a_box) < 0) {
		if (not_a_box)
			ret = BOX_OK;
		else
			error_last("cannot read the box, so no ref of it may change");
		goto out;
	}
	guard_init(&g, box.repo, &box.policy, &box.tip, 0);
	guard_set_box(&g, &box.id);
	for (size_t i = 0; i < nr; i++)
		guard_pending(&g, updates[i].ref, git_oid_is_zero(&updates[i].new) ? NULL : &updates[i].new);
	for (size_t i = 0; i < nr; i++) {
		git_oid old;
		int has_old = guard_ref_value(&old, box.repo, updates[i].ref);

		if (has_old < 0 || guard_check_update(&v, &g, updates[i].ref, has_old ? &old : NULL,
						      git_oid_is_zero(&updates[i].new) ? NULL
						      : &updates[i].new) < 0) {
			error_last(NULL);
			hint("no ref was changed");
			goto out;
		}
	}
	ret = BOX_OK;
	if (v.nr) {
		int has_freeze = !box_freeze_commit(&freeze, &box);

		hooks_report(&v, HOOKS_REF_UPDATE, has_freeze ? &freeze : NULL);
		ret = BOX_FAILED;
	}
out:
	violations_release(&v);
	guard_release(&g);
	hooks_free_updates(updates, nr);
	if (box.repo)
		box_release(&box);
	else
		git_repository_free(repo);
	return ret;
}

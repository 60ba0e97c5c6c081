/*
 * pre-commit and pre-merge-commit: judge what is about to be committed,
 * the index against HEAD, before git asks for a message.
 *
 * git hands us the index it will commit in GIT_INDEX_FILE: the real one,
 * or the temporary one `commit -a`, `commit PATH` and `--only` build, so
 * every way of choosing what to commit is judged on what will be in the
 * commit. A protected path that changes, a commit on a sealed box branch
 * and a broken policy rule each refuse the commit, and the index, the
 * work tree and the refs stay as they were.
 */
#include <string.h>

#include "changes.h"
#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "rules.h"
#include "banned.h"

/* Is HEAD the box branch, and is that branch sealed? */
static int head_is_sealed_box(const struct box *b)
{
	git_reference *head = NULL;
	enum box_state state;
	int sealed = 0;

	if (!git_reference_lookup(&head, b->repo, "HEAD") &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    !strcmp(git_reference_symbolic_target(head), b->branch_ref) &&
	    !box_state(&state, b) && box_state_sealed(state))
		sealed = 1;
	git_error_clear();
	git_reference_free(head);
	return sealed;
}

int hook_pre_commit(int argc, char **argv)
{
	struct box box = BOX_INIT;
	struct changes changes = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;
	git_repository *repo = NULL;
	git_oid freeze;
	int not_a_box, has_freeze = 0, ret = BOX_ERROR;

	(void)argc;
	(void)argv;
	if (hooks_open_repo(&repo) < 0)
		return error_last(NULL);
	if (box_open(&box, repo, &not_a_box) < 0) {
		if (not_a_box) {
			ret = BOX_OK;
		} else {
			error_last("cannot read the box");
			hint("nothing was committed");
		}
		goto out;
	}
	if (head_is_sealed_box(&box))
		violations_add(&v, NULL, NULL, NULL, 0, RULE_SEALED,
			       "'%s' was sealed at %.12s; nothing may follow a seal",
			       box.policy.branch, git_oid_tostr_s(&box.tip));
	if (changes_staged(&changes, box.repo) < 0) {
		error_last("cannot read what is staged");
		goto out;
	}
	for (size_t i = 0; i < changes.nr; i++) {
		const struct change *c = &changes.items[i];
		struct buf what = BUF_INIT;

		if (!policy_is_protected(&box.policy, c->path))
			continue;
		change_describe(&what, c);
		violations_add(&v, NULL, NULL, c->path, 0, rules_protected_name(c->path), "%s",
			       what.ptr);
		buf_release(&what);
	}
	if (rules_check_changes(&v, box.repo, &box.policy, &changes, NULL) < 0) {
		error_last("cannot check the policy's rules");
		goto out;
	}
	ret = BOX_OK;
	if (v.nr) {
		has_freeze = !box_freeze_commit(&freeze, &box);
		hooks_report(&v, HOOKS_COMMIT, has_freeze ? &freeze : NULL);
		ret = BOX_FAILED;
	}
out:
	violations_release(&v);
	changes_release(&changes);
	if (box.repo)
		box_release(&box);
	else
		git_repository_free(repo);
	return ret;
}

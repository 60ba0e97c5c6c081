/*
 * pre-receive: the server side, the last layer that a client cannot
 * skip. git receive-pack runs it once per push, with every ref the push
 * updates on standard input and the pushed objects in quarantine (which
 * libgit2 sees through GIT_OBJECT_DIRECTORY and
 * GIT_ALTERNATE_OBJECT_DIRECTORIES). Refusing refuses the whole push:
 * no ref moves and the objects are thrown away.
 *
 * Every ref is judged here, not only branches: whatever a push brings is
 * on the server once accepted. A push to a repository that is not a box
 * yet is judged by the policy it brings on the branch that policy names.
 * The judging itself is guard.c's.
 */
#include <string.h>

#include "guard.h"
#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

#define POLICY_MAX (1024 * 1024)

/*
 * A first push makes the box: find the branch update whose new tip holds
 * a policy naming that branch. Returns 1 and fills `p`, 0 when the push
 * brings no box, -1 when its policy cannot be read.
 */
static int pushed_policy(struct policy *p, git_repository *repo, const struct hooks_update *u,
			 size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		struct buf data = BUF_INIT;
		char *origin;
		int ret;

		if (!starts_with(u[i].ref, "refs/heads/") || git_oid_is_zero(&u[i].new) ||
		    !repo_commit_has_path(repo, &u[i].new, POLICY_PATH))
			continue;
		if (repo_read_blob_at(&data, repo, &u[i].new, POLICY_PATH, POLICY_MAX) < 0)
			return -1;
		origin = xstrfmt("%s:%s", u[i].ref, POLICY_PATH);
		ret = policy_parse(p, origin, data.ptr ? data.ptr : "", data.len);
		free(origin);
		buf_release(&data);
		if (ret < 0)
			return -1;
		if (!strcmp(p->branch, u[i].ref + strlen("refs/heads/")))
			return 1;
		policy_release(p);
	}
	return 0;
}

int hook_pre_receive(int argc, char **argv)
{
	struct box box = BOX_INIT;
	struct policy pushed = POLICY_INIT;
	struct guard g = GUARD_INIT;
	struct violations v = VIOLATIONS_INIT;
	struct hooks_update *updates = NULL;
	git_repository *repo = NULL;
	size_t nr = 0;
	git_oid freeze;
	int not_a_box, found, has_freeze = 0, ret = BOX_ERROR;

	(void)argc;
	(void)argv;
	if (hooks_read_updates(&updates, &nr, stdin, 1) < 0)
		goto out;
	if (repo_open_from_env(&repo) < 0) {
		error_last(NULL);
		goto out;
	}
	if (!box_open(&box, repo, &not_a_box)) {
		guard_init(&g, box.repo, &box.policy, &box.tip, 1);
		guard_set_box(&g, &box.id);
		has_freeze = !box_freeze_commit(&freeze, &box);
	} else if (not_a_box) {
		found = pushed_policy(&pushed, box.repo, updates, nr);
		if (found < 0) {
			error_last("the push brings a box whose policy cannot be read");
			goto out;
		}
		if (!found) {
			ret = BOX_OK;   /* not a box, and the push does not make one */
			goto out;
		}
		guard_init(&g, box.repo, &pushed, NULL, 1);
	} else {
		error_last("cannot read the box, so nothing may be pushed to it");
		goto out;
	}

	/* the box a first push makes is the one its box branch holds */
	for (size_t i = 0; i < nr; i++)
		guard_pending(&g, updates[i].ref, git_oid_is_zero(&updates[i].new) ? NULL : &updates[i].new);
	for (size_t i = 0; i < nr; i++) {
		const git_oid *old = git_oid_is_zero(&updates[i].old) ? NULL : &updates[i].old;
		const git_oid *new = git_oid_is_zero(&updates[i].new) ? NULL : &updates[i].new;

		if (guard_check_update(&v, &g, updates[i].ref, old, new) < 0) {
			error_last(NULL);
			goto out;
		}
	}
	ret = BOX_OK;
	if (v.nr) {
		hooks_report(&v, HOOKS_PUSH, has_freeze ? &freeze : NULL);
		ret = BOX_FAILED;
	}
out:
	violations_release(&v);
	guard_release(&g);
	policy_release(&pushed);
	hooks_free_updates(updates, nr);
	if (box.repo)
		box_release(&box);
	else
		git_repository_free(repo);
	return ret;
}

#ifndef REPO_H
#define REPO_H

#include <git2.h>

#include "policy.h"
#include "util.h"

/*
 * Finding and reading a box. A box is a repository whose box branch
 * carries a committed .box/policy.yaml; its identity is the init commit,
 * the first commit of the branch's first-parent history to have one.
 */

#define BOX_EVENT_TRAILER "Box-Event"

enum box_state {
	BOX_CREATED,       /* init and imports only */
	BOX_IN_PROGRESS,   /* any later commit */
	BOX_COMPLETED,     /* sealed */
};

struct box {
	git_repository *repo;
	struct policy policy;   /* as committed at the tip of the box branch */
	char *branch_ref;       /* "refs/heads/main" */
	git_oid tip;
	git_oid id;             /* the init commit */
};

#define BOX_INIT { NULL, POLICY_INIT, NULL, { { 0 } }, { { 0 } } }

/*
 * Open the repository git would use from the current folder, honouring
 * GIT_DIR and friends as hooks receive them.
 */
int repo_open_from_env(git_repository **out);

/*
 * Open the box in `repo` (which the box takes over and frees).
 * Returns 0, or -1 with box_error set; `*not_a_box` tells the caller
 * whether the repository simply has no box (so "run git box init").
 */
int box_open(struct box *out, git_repository *repo, int *not_a_box);
void box_release(struct box *b);

/* Read a blob at `path` in `commit`'s tree into `out`, refusing blobs over max bytes. */
int repo_read_blob_at(struct buf *out, git_repository *repo, const git_oid *commit,
		      const char *path, size_t max);

/* Does `commit`'s tree have an entry at `path`? */
int repo_commit_has_path(git_repository *repo, const git_oid *commit, const char *path);

/* The value of `Key: value` in the last paragraph of a commit message, or NULL. */
char *commit_trailer(const char *message, const char *key);

/* The lifecycle as far as the commits tell it (events from notes come later). */
int box_state(enum box_state *out, const struct box *b);
const char *box_state_name(enum box_state s);

/* Count files and bytes under a box path ("input/" or "input/a.csv") in a commit. */
int box_count_path(size_t *files, uint64_t *bytes, const struct box *b, const git_oid *commit,
		   const char *path);

/*
 * Author or committer for a commit git box makes: GIT_AUTHOR_* or
 * GIT_COMMITTER_* from the environment as git reads them, else
 * user.name and user.email.
 */
int repo_signature(git_signature **out, git_repository *repo, int committer);

/* The folder git runs hooks from: core.hooksPath, else $GIT_COMMON_DIR/hooks. */
int repo_hooks_dir(struct buf *out, git_repository *repo);

/*
 * Make every tracked input (and the policy) read-only in the work tree:
 * files 0444 (0555 when executable), their folders inside an input
 * folder 0555. Looks only at the index entries under protected paths.
 * `changed` counts what it had to tighten.
 */
int box_make_inputs_readonly(const struct box *b, size_t *changed);

#endif

#ifndef REPO_H
#define REPO_H

#include <git2.h>

#include "policy.h"
#include "util.h"

/*
 * Finding and reading a box. A box is a repository whose box branch
 * carries a committed .box/policy.yaml; its identity is the init commit
 * (box_find_init()).
 */

/*
 * The commits git box makes for the events that change the tree or close
 * the box (init, import, seal) carry this trailer; the hooks read it to
 * know the lifecycle without reading notes. It is a claim, not proof:
 * verify checks it against the signed manifest on the same commit, and
 * the commit-msg hook refuses it in messages people write.
 */
#define BOX_EVENT_TRAILER "Box-Event"

/* Is `value` a Box-Event trailer git box writes: "init", "import" or "seal"? */
int box_event_trailer_valid(const char *value);

/* Where manifests live: one note per event commit (gitbox-manifest(5)). */
#define BOX_NOTES_REF "refs/notes/box"
/* Timestamp tags: refs/tags/box/<event>-<n>. */
#define BOX_TAG_PREFIX "refs/tags/box/"
/* A note is the payload, then zero or more signatures starting with this line. */
#define BOX_SIGNATURE_BEGIN "-----BEGIN PGP SIGNATURE-----"

enum box_state {
	BOX_CREATED,       /* init and imports only */
	BOX_IN_PROGRESS,   /* any later commit */
	BOX_SEALED,        /* sealed: locked, but the seal lacks signatures or its timestamp */
	BOX_COMPLETED,     /* sealed, with all the policy wants of the seal */
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
/*
 * The same, with the policy read at the box's init commit instead of the
 * tip: verify opens a box so, since a policy changed or broken after the
 * freeze is a finding of its own, not a reason it cannot run. The
 * branch must still carry a policy at its tip.
 */
#define BOX_OPEN_POLICY_AT_INIT 1
int box_open_flags(struct box *out, git_repository *repo, int *not_a_box, unsigned flags);
void box_release(struct box *b);

/*
 * The box's identity, the one definition every reader uses (box_open(),
 * the guards, verify, status): the init commit is where the policy
 * begins on the first-parent line down from `tip`, the commit holding
 * .box/policy.yaml whose first parent holds none, or which has no parent.
 * It must say Box-Event: init, and no other commit of the box may say so
 * or be a root (guard_check_identity()). A repository made a box keeps
 * its older history below the init commit; no rule of the box covers it.
 * Walks the whole first-parent line: for opening a box, not per commit.
 */
int box_find_init(git_oid *out, git_repository *repo, const git_oid *tip);

/*
 * The box id this clone recorded when git box init or git box install
 * set it up (BOX_ID_CONFIG in the repository's own config, never
 * committed): 1 and *out, 0 when none is recorded, -1 with box_error.
 */
#define BOX_ID_CONFIG "box.id"
int box_recorded_id(git_oid *out, git_repository *repo);
/* Record `id` as this clone's box id. */
int box_record_id(git_repository *repo, const git_oid *id);
/* Forget it (git box uninstall): 1 when one was recorded, 0 when none was, -1. */
int box_forget_id(git_repository *repo);

/*
 * The copies of the box branch fetched from remotes
 * (refs/remotes/<remote>/<branch>) that hold another box: each ref's
 * name goes to `refs`, and the box it holds (its init commit, hex) to
 * `ids`, or "" when it holds none. A copy still at the history the box
 * was made over (an ancestor of the init commit) is this box, not pushed
 * yet.
 */
int box_foreign_copies(struct strlist *refs, struct strlist *ids, const struct box *b);

/* Read a blob at `path` in `commit`'s tree into `out`, refusing blobs over max bytes. */
int repo_read_blob_at(struct buf *out, git_repository *repo, const git_oid *commit,
		      const char *path, size_t max);

/* Does `commit`'s tree have an entry at `path`? */
int repo_commit_has_path(git_repository *repo, const git_oid *commit, const char *path);

/* The value of `Key: value` in the last paragraph of a commit message, or NULL. */
char *commit_trailer(const char *message, const char *key);

/* The Box-Event trailer of a commit ("init", "import", "seal"), or NULL. */
char *commit_event(git_commit *commit);

/*
 * The lifecycle as the box branch's commits tell it: SEALED when its
 * tip is a seal (nothing may follow one), CREATED when every commit from
 * the tip back to init is an init or import, IN_PROGRESS otherwise.
 * Walks back only while commits are imports, so it costs one or two
 * commit reads once the work has started. It never says COMPLETED:
 * that takes the seal's signatures and timestamp checked
 * (lifecycle.h), which the hooks need not know to keep a sealed box
 * locked.
 */
int box_state(enum box_state *out, const struct box *b);
const char *box_state_name(enum box_state s);
/* Is the box locked by a seal (SEALED or COMPLETED)? */
int box_state_sealed(enum box_state s);

/*
 * The commit that froze the inputs and the policy: the last init or
 * import on the box branch's first-parent history. While the box is
 * CREATED that is the tip. Walks the history since the freeze: for
 * messages and reports, not for every hook call.
 */
int box_freeze_commit(git_oid *out, const struct box *b);

/*
 * Split a note into its payload and its signatures: the payload is every
 * byte before the first line that is exactly BOX_SIGNATURE_BEGIN (as git
 * lays out a signed tag). Returns the payload's length.
 */
size_t box_note_payload_len(const char *note, size_t len);

/*
 * Read the note on `commit` in BOX_NOTES_REF into its two parts (either
 * out-parameter may be NULL). Returns 0, 1 when the commit has no note,
 * or -1 with box_error set.
 */
int box_note_read(struct buf *payload, struct buf *signatures, git_repository *repo,
		  const git_oid *commit);

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

/* The same for one protected path (a file) and the folders that hold it. */
int box_make_input_readonly(const struct box *b, const char *path, size_t *changed);

/*
 * Visit what box_make_inputs_readonly() protects: every tracked protected
 * file that is not a link, then each folder that holds it inside its
 * input folder, up to that folder ("input/"); a folder may come more than
 * once. `abs` is the path in the work tree, `rel` the repository path.
 * A negative return from `fn` stops the walk and is returned.
 */
typedef int (*box_input_fn)(const char *abs, const char *rel, int is_dir, void *data);
int box_walk_inputs(const struct box *b, box_input_fn fn, void *data);

#endif

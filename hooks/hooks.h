#ifndef HOOKS_H
#define HOOKS_H

#include <stdio.h>

#include <git2.h>

#include "rules.h"

/*
 * The logic of every git hook, run as `git box hook NAME ARGS...` by the
 * shims in templates/hooks/ (and, on a server, contrib/server/). Each
 * returns the hook's exit code: 0 lets git go on, 1 refuses because a
 * rule is broken, 2 refuses because the box cannot be read (a guard that
 * cannot read its rules lets nothing through).
 */
int hook_post_checkout(int argc, char **argv);       /* and post-merge */
int hook_post_commit(int argc, char **argv);
int hook_post_index_change(int argc, char **argv);
int hook_pre_commit(int argc, char **argv);         /* and pre-merge-commit */
int hook_commit_msg(int argc, char **argv);
int hook_reference_transaction(int argc, char **argv);
int hook_pre_receive(int argc, char **argv);

/*
 * Open the repository as git hands it to a hook, honouring GIT_DIR and
 * the object directories, but without reading the index GIT_INDEX_FILE
 * names: libgit2 reads it whole when it opens the repository (50 ms for
 * 100,000 entries), and the commit hooks never need it (pre-commit asks
 * git diff-index, which inherits the variable). Sets box_error.
 */
int hooks_open_repo(git_repository **out);

/* One line of reference-transaction's or pre-receive's input; a zero id is "none". */
struct hooks_update {
	git_oid old, new;
	char *ref;
};

/*
 * Read every "<old> SP <new> SP <ref> LF" line of `in`, keeping the
 * updates guard_judges_ref() takes. A line that is not of that shape is
 * reported, and makes it return -1 once the input is read.
 */
int hooks_read_updates(struct hooks_update **out, size_t *nr, FILE *in, int server);
void hooks_free_updates(struct hooks_update *u, size_t nr);

/* Where a refusal happens, for the hints that follow it. */
enum hooks_context {
	HOOKS_COMMIT,       /* a commit being made: pre-commit, commit-msg */
	HOOKS_REF_UPDATE,   /* a ref update in this clone: reference-transaction */
	HOOKS_PUSH,         /* a push to a server: pre-receive */
};

/*
 * Print every violation (errors) and what to do next (hints). `freeze`,
 * when known, is the commit that froze the inputs.
 */
void hooks_report(const struct violations *v, enum hooks_context ctx, const git_oid *freeze);

#endif

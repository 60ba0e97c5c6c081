#ifndef CHANGES_H
#define CHANGES_H

#include <git2.h>

#include "util.h"

/*
 * What a commit, or what is staged, changes: one entry per file path
 * whose blob, link or submodule differs between two trees. The cost is
 * in what changed, never in the size of the trees: subtrees with the
 * same id on both sides are skipped without being read, so a commit of
 * one file in a box of 100,000 reads a handful of trees.
 */

struct change {
	char *path;
	git_oid old_id, new_id;
	uint32_t old_mode, new_mode;   /* 0 when the path is absent on that side */
};

struct changes {
	struct change *items;
	size_t nr, alloc;
};

#define CHANGES_INIT { NULL, 0, 0 }

/* Either tree may be NULL, for the empty tree. */
int changes_between_trees(struct changes *out, git_repository *repo, const git_tree *old,
			  const git_tree *new);

/* A commit against its first parent; a root commit adds everything it holds. */
int changes_of_commit(struct changes *out, git_repository *repo, const git_commit *commit);

/*
 * What the index holds against HEAD (against the empty tree on an unborn
 * branch), as `git diff-index --cached` sees it: with GIT_INDEX_FILE
 * honoured, so that `commit -a`, `commit PATH` and `--only` are judged on
 * the index git is about to commit. git reads an index of 100,000 entries
 * several times faster than libgit2, and knows every extension it wrote.
 */
int changes_staged(struct changes *out, git_repository *repo);

void changes_release(struct changes *c);

/* "added", "deleted", "modified", "mode changed", "type changed" */
const char *change_kind(const struct change *c);

/* change_kind(), with the modes when they changed: "mode changed (100644 to 100755)" */
void change_describe(struct buf *out, const struct change *c);

/* Is the new side a regular file (100644 or 100755)? */
int change_is_file(const struct change *c);

#endif

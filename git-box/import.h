#ifndef IMPORT_H
#define IMPORT_H

#include <stdint.h>

#include <git2.h>

#include "util.h"

/*
 * Bringing files from outside into a box, for `git box init --from` and
 * `git box import`: check every source before anything is written, copy
 * each into an input folder under its own name, log every file and
 * folder made so that a failure takes them all back, and stage them.
 *
 * A source is a file or a folder. A symbolic link inside a source is
 * copied as the file it names, and only if that file lies inside the
 * same source; links to folders, links leading out and special files
 * are refused.
 */

/* Everything a run made, oldest first. */
struct import_undo {
	struct strlist made;
};

#define IMPORT_UNDO_INIT { STRLIST_INIT }

/* mkdir, logged; an existing folder is fine. */
int import_make_dir(struct import_undo *u, const char *path);

/*
 * mkdir -p of every folder of `rel` under `workdir`, logging each made;
 * `rel` names a folder when it ends in '/' and a file otherwise.
 */
int import_make_dirs(struct import_undo *u, const char *workdir, const char *rel);

/* Write a file that must not exist yet (write_file_atomic), logged. */
int import_write_new_file(struct import_undo *u, const char *path, const void *data, size_t len);

/* Remove everything logged, newest first; the log is emptied. */
void import_undo(struct import_undo *u);
void import_undo_release(struct import_undo *u);

/*
 * Check the sources against the box at `box_path` (absolute, no final
 * '/') before copying them into `dest` (absolute, ending in '/'): each
 * exists and is readable throughout, none contains the box or lies in
 * it, no two share a name, nothing of that name is in `dest` yet.
 */
int import_check_sources(const struct strlist *from, const char *box_path, const char *dest);

typedef void (*import_progress_fn)(void *data, uint64_t files, uint64_t bytes);

/*
 * Copy each source into `dest` + its name (`dest` is made if needed),
 * logging every file and folder made; the copied files' paths relative
 * to `workdir` go to `copied` if given.
 */
int import_copy_sources(struct import_undo *u, const struct strlist *from, const char *workdir,
			const char *dest, struct strlist *copied, import_progress_fn progress, void *data);

/* Stage every regular file under the box path `rel` ('/' at the end for a folder) as it is on disk. */
int import_stage_path(git_index *index, const char *workdir, const char *rel);

/* Refuse an index that differs from HEAD: a commit git box makes must hold only its own change. */
int import_check_index_clean(git_repository *repo);

#endif

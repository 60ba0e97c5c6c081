#ifndef INSTALL_H
#define INSTALL_H

#include <git2.h>

#include "util.h"

/*
 * What makes a clone enforce the box: the hook shims, the box filter and
 * the refspecs that carry refs/notes/box and the box/ tags. install
 * records every configuration value it adds under box.installed, so that
 * uninstall removes exactly those and nothing a person set.
 */

#define FILTER_PROCESS_VALUE "git box filter-process"
#define SHIM_MARKER "# git-box hook shim v"

extern const char *const box_hook_names[];

struct install_report {
	struct strlist hooks_written;    /* new or upgraded shims */
	struct strlist config_added;     /* "key value" */
	struct strlist hooks_removed;
	struct strlist config_removed;
};

#define INSTALL_REPORT_INIT { STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, STRLIST_INIT }

struct install_state {
	char *hooks_dir;
	struct strlist hooks_missing;    /* none there */
	struct strlist hooks_foreign;    /* someone else's */
	struct strlist hooks_outdated;   /* an older shim of ours */
	int filter;                      /* filter.box.process and .required as needed */
	struct strlist remotes_missing;  /* remotes without the notes and tags refspecs */
};

#define INSTALL_STATE_INIT { NULL, STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, 0, STRLIST_INIT }

/*
 * Install hooks, filter and refspecs. Refuses (returns -1, writing
 * nothing) when a hook that is not ours is in the way or the filter is
 * configured to something else; `conflicts` then names each.
 */
int box_install(git_repository *repo, struct install_report *report, struct strlist *conflicts);
int box_uninstall(git_repository *repo, struct install_report *report);
int box_install_state(git_repository *repo, struct install_state *state);

void install_report_release(struct install_report *r);
void install_state_release(struct install_state *s);

#endif

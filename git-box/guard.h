#ifndef GUARD_H
#define GUARD_H

#include <git2.h>

#include "changes.h"
#include "policy.h"
#include "rules.h"

/*
 * The one judge of what may enter a box's repository, shared by the
 * reference-transaction hook (a clone), the pre-receive hook (a server)
 * and verify (any history):
 *
 *   identity    the box's init commit (box_find_init()) is its one root
 *               and its one init: no other commit may be a root or say
 *               Box-Event: init;
 *   a commit    may change a protected path (an input, the policy) only
 *               if it is the box's init, or an import made while the box
 *               was still being created, and then only as that event
 *               does; a Box-Event trailer is a claim, never a pass: the
 *               commit must be that event as git box makes it, and every
 *               commit keeps the policy's rules (rules.h);
 *   a branch    takes new commits only if each of them may be there;
 *               the box branch also grows by first parents only (its old
 *               tip stays on the new tip's first-parent line; in a clone,
 *               commits that were never pushed and carry no event may
 *               still be rewritten), never moves once sealed, never
 *               takes a commit after a seal, and is never deleted;
 *   notes       refs/notes/box only moves forward, and keeps every note
 *               it holds byte for byte (a note may grow: a co-signer
 *               appends a signature), while new notes may be added;
 *   tags        refs/tags/box/ tags are created, never moved or deleted,
 *               and only as timestamp tags of an event of this box.
 *
 * Only what changed is read: each new commit is compared with its first
 * parent, skipping subtrees that did not change (changes.h), and the
 * history is walked from the new value down to the old one and no further.
 */

struct guard {
	git_repository *repo;
	const struct policy *policy;
	char *box_ref;          /* "refs/heads/main" */
	git_oid box_tip;        /* the box branch before the updates */
	int has_box_tip;        /* 0 while the box branch does not exist yet (a first push) */
	int server;             /* pre-receive: see below */
	git_oid box_id;         /* the box's init commit, once known */
	int has_box_id;
	git_oid box_new;        /* the box branch as the same updates leave it */
	int has_box_new;
	git_oid notes_new;      /* refs/notes/box as the same updates leave it */
	int has_notes_new;
};

#define GUARD_INIT { NULL, NULL, NULL, { { 0 } }, 0, 0, { { 0 } }, 0, { { 0 } }, 0, { { 0 } }, 0 }

/*
 * `box_tip` may be NULL when the box branch does not exist yet. With
 * `server` set (pre-receive), every ref's new commits are judged, not
 * only branches', commits any ref already holds count as judged (they
 * were, when they came), and a deletion is always a deletion. Without it
 * (reference-transaction), branches, refs/notes/box and box tags are
 * judged, and a ref whose loose copy goes while its packed copy holds
 * the same value (git pack-refs, git gc) is not deleted.
 */
void guard_init(struct guard *g, git_repository *repo, const struct policy *p,
		const git_oid *box_tip, int server);
void guard_release(struct guard *g);

/*
 * The box's init commit, when the caller knows it (box.id); else the
 * guard finds it from the box branch, as the updates leave it.
 */
void guard_set_box(struct guard *g, const git_oid *box_id);

/*
 * Tell the guard the value `refname` takes in the same transaction or
 * push (NULL: deleted), before any update is judged: a timestamp tag may
 * come with the note and the commit it stamps.
 */
void guard_pending(struct guard *g, const char *refname, const git_oid *new);

/*
 * Judge the update of `refname` from `old` (NULL: the ref does not exist)
 * to `new` (NULL: the ref is deleted); `old` must be the value the ref
 * holds now, whatever the caller was told. Broken rules are added to
 * `out`. Returns 0, or -1 with box_error set when the repository cannot
 * be read (the caller must then refuse: a judge that cannot read does
 * not let things through).
 */
int guard_check_update(struct violations *out, struct guard *g, const char *refname,
		       const git_oid *old, const git_oid *new);

/*
 * Judge one commit on its own: its identity (guard_check_identity()),
 * what its Box-Event trailer claims, the protected paths it changes
 * against its first parent, and the policy's rules on its changes and,
 * unless it is git box's own init, import or seal, on its message.
 * `ref` names the ref in violations, or NULL.
 */
int guard_check_commit(struct violations *out, struct guard *g, git_commit *commit,
		       const char *ref);

/*
 * The box's identity at one commit: the box's init says Box-Event: init;
 * no other commit says so or is a root (RULE_BOX_IDENTITY). verify asks
 * it of every commit of the history, not only the first-parent line.
 */
int guard_check_identity(struct violations *out, struct guard *g, git_commit *commit,
			 const char *ref);

/*
 * The value `refname` holds now: 1 and *out set, 0 when it does not
 * exist, -1 with box_error set. A symbolic ref is followed.
 */
int guard_ref_value(git_oid *out, git_repository *repo, const char *refname);

/*
 * Is `refname` one the guard judges: a branch, refs/notes/box or a box
 * tag, or, with `server` set, any ref but HEAD. Cheap: hooks ask it
 * before opening anything.
 */
int guard_judges_ref(const char *refname, int server);

#endif

#ifndef EVENTS_H
#define EVENTS_H

#include <git2.h>

#include "hash.h"
#include "manifest.h"
#include "repo.h"
#include "sign.h"
#include "util.h"

/*
 * The box's events: the manifest notes on the first-parent history of
 * the box branch, oldest first, and the chain that links them (each
 * event's `previous` is the SHA-256 of the payload of the newest event
 * before it on that history). Also how an event is recorded: build the
 * manifest, sign it, write the note with one update of refs/notes/box.
 */

/* The exit code for a module's answer: refusals and conflicts 1, anything else 2. */
int box_exit_code(int ret);

/* The commit `rev` names (a revision as git reads it). */
int box_resolve_commit(git_oid *out, git_repository *repo, const char *rev);

struct box_event {
	git_oid commit;
	size_t position;                  /* index in box_events.history */
	char *trailer;                    /* the commit's Box-Event trailer, or NULL */
	git_oid tree;                     /* the commit's tree */
	git_oid note;                     /* the note's blob */
	struct buf payload;               /* the stored bytes, exactly (empty with BOX_EVENTS_LEAN) */
	struct buf signatures;            /* everything after the payload */
	unsigned char payload_sha256[SHA256_LEN];
	struct manifest manifest;         /* the payload as read (its files only with BOX_EVENTS_FULL) */
	char *invalid;                    /* why the note is not a manifest, or NULL */
};

struct box_events {
	git_oid *history;                 /* the first-parent history from init to tip, oldest first */
	size_t history_nr;
	struct box_event *items;          /* the events, oldest first */
	size_t nr, alloc;
	git_oid notes_tip;                /* refs/notes/box as it was read */
	int have_notes;                   /* 0: there is no refs/notes/box */
	git_oid *noted;                   /* every commit refs/notes/box has a note for, sorted */
	size_t noted_nr;
};

#define BOX_EVENTS_INIT { NULL, 0, NULL, 0, 0, { { 0 } }, 0, NULL, 0 }

/*
 * Read the events on the first-parent history of `tip` (the box
 * branch's tip when NULL), all from one state of refs/notes/box.
 * Fails when `tip` does not descend from the box's init commit.
 * BOX_EVENTS_FULL reads every manifest whole (manifest_parse()); without
 * it only what the chain needs is read (manifest_parse_header()), which
 * keeps recording an event quick however many files earlier events name.
 */
#define BOX_EVENTS_FULL 1
/*
 * BOX_EVENTS_LEAN keeps only the header and the payload's hash of each
 * event, not its bytes (payload and signatures stay empty): the caller
 * reads each note again from `note` when it needs it, so that memory is
 * bounded by one manifest however many events there are (verify).
 */
#define BOX_EVENTS_LEAN 2
int box_events_load(struct box_events *out, const struct box *b, const git_oid *tip, unsigned flags);
void box_events_release(struct box_events *ev);

/* The newest event, or NULL. */
const struct box_event *box_events_last(const struct box_events *ev);
/* The event on `commit`, or NULL. */
const struct box_event *box_events_find(const struct box_events *ev, const git_oid *commit);
/* Does refs/notes/box (as read) have a note on `commit`, manifest or not? */
int box_events_noted(const struct box_events *ev, const git_oid *commit);
/* Where `commit` is on the history, or -1. */
long box_events_position(const struct box_events *ev, const git_oid *commit);

/*
 * The chain check: the first event is init on the init commit; every
 * note is a manifest about its own commit, tree and box; its event
 * agrees with the commit's Box-Event trailer; `previous` is the payload
 * hash of the event before it; nothing follows a seal. Returns the
 * number of breaks (0: intact), each described in `problems` if given,
 * the first also in box_error.
 */
size_t box_events_check(const struct box_events *ev, const struct box *b, struct strlist *problems);

/* Does the policy sign this event? none: never; seal: checkpoint and seal; every-commit: all. */
int event_signed_by_policy(const struct policy *p, const char *event);

struct event_request {
	const char *event;                /* "init", "import", "checkpoint" or "seal" */
	const char *message;              /* -m, or NULL */
	struct sign_ctx *signer;          /* NULL: the note is not signed */
	struct sign_key *key;
	const char *role, *reason;
	struct hash_options hash;
};

struct event_result {
	git_oid commit;
	struct manifest manifest;
	struct buf payload;               /* the canonical payload, as stored */
	unsigned char payload_sha256[SHA256_LEN];
	struct buf signature;             /* the armored signature made, or empty */
	struct sign_key signer;           /* who made it, when signed */
	const char *role, *reason;        /* what it means, when signed */
	struct hash_stats stats;
	git_oid notes_tip;                /* refs/notes/box once written */
};

#define EVENT_RESULT_INIT { { { 0 } }, MANIFEST_INIT, BUF_INIT, { 0 }, BUF_INIT, SIGN_KEY_INIT, \
			    NULL, NULL, { 0 }, { { 0 } } }

/* The meaning a signature of this event carries unless told otherwise. */
#define EVENT_DEFAULT_ROLE "author"
#define SIGN_DEFAULT_ROLE "reviewer"
#define SIGN_DEFAULT_REASON "co-sign: reviewed"
const char *event_default_reason(const char *event);

/* gpg, with the key that will sign, checked against the policy's signer list. */
struct event_signer {
	struct sign_ctx *ctx;
	struct sign_key key;
};

#define EVENT_SIGNER_INIT { NULL, SIGN_KEY_INIT }

/*
 * Open the user's keyring and find the signing key (sign_find_key());
 * BOX_EREFUSED when the key is not in the policy's signer list.
 */
int event_signer_open(struct event_signer *out, const struct box *b);
void event_signer_close(struct event_signer *s);

/*
 * Which event a manifest written on `commit` now would record: the
 * init or import the commit's trailer names when that manifest is
 * missing (an interrupted init or import), else a checkpoint.
 * BOX_EREFUSED, with the reason, when no manifest may be written there:
 * the commit is not on the box branch's first-parent history, already
 * has a note, is older than the newest event (events chain in history
 * order), or the box is sealed.
 */
int event_for_commit(const char **event, const struct box *b, const struct box_events *ev,
		     const git_oid *commit);

/*
 * Set up `req` for `event`: the message, the meaning (role and reason,
 * the event's defaults when NULL), default hashing options, and, when
 * the policy signs that event, gpg and the key in `signer`
 * (event_signer_open(): BOX_EREFUSED for a key the policy does not list).
 */
int event_request_init(struct event_request *req, struct event_signer *signer, const struct box *b,
		       const char *event, const char *message, const char *role, const char *reason);

/* Tell the result who signed and as what, taking the key over from `signer`. */
void event_result_set_signer(struct event_result *r, const struct event_request *req,
			     struct event_signer *signer);

struct event_record_options {
	const char *message;              /* -m, or NULL */
	const char *role, *reason;        /* NULL: the event's defaults */
	struct hash_options hash;
};

/*
 * Record the event of `commit` (event_for_commit()), chained to the
 * events of the box branch and signed when the policy signs that event:
 * load the events, check the chain, build, sign, write the note. Returns
 * 0, -1 (environment: exit 2), BOX_EREFUSED or BOX_ECONFLICT (exit 1).
 */
int event_record(struct event_result *out, const struct box *b, const git_oid *commit,
		 const struct event_record_options *o);

/*
 * Build the manifest of `commit` as the next event after `ev`'s newest
 * (whose payload hash becomes `previous`) and sign it if asked. Writes
 * nothing. `commit` may be a commit not yet on the branch (a seal).
 */
int event_prepare(struct event_result *out, const struct box *b, const struct box_events *ev,
		  const git_oid *commit, const struct event_request *req);

/*
 * Write the prepared note (payload, then signature) on its commit: one
 * update of refs/notes/box from the state `ev` read. BOX_ECONFLICT when
 * refs/notes/box moved meanwhile.
 */
int event_write(struct event_result *r, const struct box *b, const struct box_events *ev);

/*
 * Write `note` on `commit` with one update of refs/notes/box, expected
 * to be at `expected` (NULL: expected not to exist). `replace` allows
 * overwriting a note (adding a signature). BOX_ECONFLICT when the ref
 * moved. `out`, if given, gets the new notes commit.
 */
int box_note_write(git_oid *out, git_repository *repo, const git_oid *expected, const git_oid *commit,
		   const char *note, int replace, const char *reflog);

/* Remove the note on `commit`, with the same one-update rule. */
int box_note_remove(git_repository *repo, const git_oid *expected, const git_oid *commit, const char *reflog);

/*
 * Take back the note just written on `commit`: set refs/notes/box back
 * from `ours` to `before` (NULL: delete it), or, if a note was added
 * on top meanwhile, remove ours in a new notes commit.
 */
int box_note_take_back(git_repository *repo, const git_oid *ours, const git_oid *before,
		       const git_oid *commit, const char *reflog);

/*
 * A seal whose note was written but whose branch was not moved (a seal
 * that was interrupted, or one running now): a commit with a seal
 * manifest chained to `ev`'s newest event whose first parent is `ev`'s
 * tip. Returns 1 and its id, 0 when there is none, -1 on error.
 */
int box_pending_seal(git_oid *out, const struct box *b, const struct box_events *ev);

/* The names ("box/seal-1") of the refs/tags/box/ tags on `commit`, sorted. */
int box_event_tags(struct strlist *out, git_repository *repo, const git_oid *commit);

/*
 * What was recorded, for people: a few lines, each ending in a newline,
 * the strings from outside in them escaped (print_lines() prints them).
 */
void event_result_describe(struct buf *out, const struct event_result *r);
/* The same as JSON. */
json_t *event_result_json(const struct event_result *r);

void event_result_release(struct event_result *r);

#endif

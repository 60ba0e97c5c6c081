#ifndef LIFECYCLE_H
#define LIFECYCLE_H

#include <jansson.h>
#include <time.h>

#include "events.h"
#include "repo.h"
#include "sign.h"

/*
 * Where a sealed box stands, for status and log (git-box(1),
 * LIFECYCLE): a seal locks the box (SEALED), and the box is COMPLETED
 * once the seal has all the policy wants of it: the quorum of good
 * signatures by the policy's signers and, when the policy wants the
 * seal timestamped, a timestamp tag that checks. Here signatures are
 * checked in the user's keyring against the policy's signer list, and
 * timestamps against the policy's own anchors (timestamp.ca); verify
 * decides the same from its own checks, against the auditor's roots.
 * No printing.
 */

/* Per event: the earliest genTime of its timestamp tags that check, 0 when none. */
struct event_stamps {
	time_t *gen_time;
	time_t *proven;       /* room for event_stamps_window() */
	size_t nr;
};

#define EVENT_STAMPS_INIT { NULL, NULL, 0 }

/*
 * Check every box/ timestamp tag on the events of `ev` against the
 * policy's anchors (none when the policy names none: then no event is
 * stamped). A tag that does not check is not counted; it is not an error.
 */
int event_stamps_load(struct event_stamps *out, const struct box *b, const struct box_events *ev);
void event_stamps_release(struct event_stamps *s);

/*
 * The times the signatures of event `i` are held to (sign.h): not
 * before its payload's time, and judged at the genTime of a timestamp
 * of that event or of a later one, whose payload names it through the
 * chain. `w` points into `s`, which must outlive it.
 */
void event_stamps_window(struct sign_window *w, struct event_stamps *s, const struct box_events *ev,
			 size_t i);

/* What the seal has of what the policy wants, and what it lacks. */
struct seal_lack {
	int sealed;                 /* the newest event is a seal */
	int quorum;                 /* the policy's */
	size_t have;                /* distinct listed signers with a good signature */
	struct strlist missing;     /* listed signers with none */
	int stamp_wanted;           /* the policy wants the seal timestamped */
	int stamped;                /* a tag that checks stamps it */
};

#define SEAL_LACK_INIT { 0, 0, 0, STRLIST_INIT, 0, 0 }

/*
 * The one computation of what the seal still lacks: the seal's
 * signatures checked in `gpg`'s keyring, held to its window, counted
 * against the policy's signers; its timestamp from `st`. Nothing lacks
 * when the box is not sealed.
 */
int seal_lack_read(struct seal_lack *out, const struct box *b, const struct box_events *ev,
		   struct event_stamps *st, struct sign_ctx *gpg);
void seal_lack_release(struct seal_lack *l);

/* How many signatures the seal still needs (0 when it needs none). */
size_t seal_lack_signatures(const struct seal_lack *l);
/* Does the seal lack anything? */
int seal_lacks(const struct seal_lack *l);

/* The state: a sealed `state` is COMPLETED when the seal lacks nothing, else SEALED. */
enum box_state seal_lack_state(enum box_state state, const struct seal_lack *l);

/*
 * "1 more signature from: FPR, and a timestamp", for people; empty when
 * nothing lacks. With `uids` (in the order of `missing`, "" when
 * unknown), each fingerprint is followed by its user id.
 */
void seal_lack_describe(struct buf *out, const struct seal_lack *l, const struct strlist *uids);

/* {"signatures": n, "signers": [fpr...], "timestamp": bool}, or null when nothing lacks. */
json_t *seal_lack_json(const struct seal_lack *l);

#endif

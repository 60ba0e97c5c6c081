#ifndef TSA_H
#define TSA_H

#include <stdint.h>
#include <time.h>

#include <git2.h>

#include "http.h"
#include "policy.h"
#include "repo.h"
#include "util.h"

/*
 * RFC 3161 timestamps of a box's events (gitbox-manifest(5), TIMESTAMP
 * TAG): the request, the checks of a response or of a stored token, and
 * the annotated tag refs/tags/box/<event>-<n> that keeps a response.
 * No printing: every function returns 0 or negative with box_error set.
 */

#define TSA_BEGIN "-----BEGIN RFC3161 TIMESTAMP RESPONSE-----"
#define TSA_END "-----END RFC3161 TIMESTAMP RESPONSE-----"
#define TSA_QUERY_TYPE "application/timestamp-query"
/* How far a TSA's clock may be from ours, on top of the token's accuracy. */
#define TSA_CLOCK_SKEW 300

/* What went wrong, when something did: the command maps these to exit codes. */
enum tsa_result {
	TSA_OK = 0,
	TSA_ERROR = -1,        /* configuration, repository or system error: exit 2 */
	TSA_UNANSWERED = -2,   /* no TSA gave a timestamp (unreachable, timeout, HTTP error, refusal): exit 2 */
	TSA_INVALID = -3,      /* a TSA answered, and the answer failed a check: exit 1 */
};

/* The checks, in the order they are made; tsa_check_name() gives each its name. */
enum tsa_check_id {
	TSA_CHECK_TAG,        /* "tag": a stored tag names its event and the payload's SHA-256 */
	TSA_CHECK_FORMAT,     /* "format": a DER TimeStampResp, nothing after it */
	TSA_CHECK_STATUS,     /* "status": granted (or grantedWithMods) */
	TSA_CHECK_TOKEN,      /* "token": SignedData of one signer over a TSTInfo v1 */
	TSA_CHECK_SIGNER,     /* "signer": the signer's certificate is at hand */
	TSA_CHECK_EKU,        /* "eku": it has the critical timeStamping extended key usage, only */
	TSA_CHECK_CHAIN,      /* "chain": it chains to a trust anchor, as of genTime */
	TSA_CHECK_ESS,        /* "ess": an ESSCertID or ESSCertIDv2 binds it */
	TSA_CHECK_SIGNATURE,  /* "signature": the signature and the content digest hold */
	TSA_CHECK_NAME,       /* "name": the TSTInfo's tsa name, when given, is the signer's */
	TSA_CHECK_HASH,       /* "hash": the imprint's algorithm is SHA-256 or stronger, never SHA-1 */
	TSA_CHECK_IMPRINT,    /* "imprint": the imprint is the data's */
	TSA_CHECK_NONCE,      /* "nonce": the request's nonce (fresh responses only) */
	TSA_CHECK_TIME,       /* "time": genTime is plausible */
	TSA_CHECK_NR
};

enum tsa_outcome {
	TSA_SKIPPED = 0,      /* not made: not applicable, or an earlier check it needs failed */
	TSA_PASSED,
	TSA_FAILED,
};

struct tsa_check {
	enum tsa_outcome outcome;
	char *detail;         /* why it failed or was skipped, or NULL */
};

/* What a token says, and how each check went. */
struct tsa_token {
	struct tsa_check checks[TSA_CHECK_NR];
	int failed;           /* the first failed check (enum tsa_check_id), or -1 */
	char *tsa_name;       /* the TSTInfo's tsa name (a claim), else the signer's subject */
	char *signer;         /* the signer certificate's subject: whom to name */
	time_t gen_time;
	char gen_time_text[40];   /* RFC 3339, UTC: "2026-11-23T12:31:31Z" */
	char *serial;         /* "0x..." */
	char *policy;         /* the TSA policy OID */
	char *hash;           /* the imprint's algorithm, "sha256" */
};

#define TSA_TOKEN_INIT { .failed = -1 }

const char *tsa_check_name(enum tsa_check_id id);
void tsa_token_release(struct tsa_token *t);

/* Trust anchors: every certificate of a PEM file is one (as openssl's -partial_chain). */
struct tsa_anchors;

int tsa_anchors_load(struct tsa_anchors **out, const char *pem, size_t len, const char *origin);
int tsa_anchors_load_file(struct tsa_anchors **out, const char *path);
void tsa_anchors_free(struct tsa_anchors *a);
/* The anchors the policy's timestamp.ca names, read from `commit`'s tree; -1 when it names none. */
int tsa_policy_anchors(struct tsa_anchors **out, git_repository *repo, const struct policy *p,
		       const git_oid *commit);

/* What a token must match. */
struct tsa_expect {
	const void *data;             /* the stamped bytes, hashed with the token's algorithm */
	size_t len;
	const unsigned char *digest;  /* or, when data is NULL, the imprint itself */
	size_t digest_len;
	const char *digest_hash;      /* ...and its algorithm ("sha256"), or NULL for any */
	int has_nonce;                /* a fresh response: compare the nonce */
	uint64_t nonce;
	int fresh;                    /* genTime must be within TSA_CLOCK_SKEW of now */
	time_t not_before;            /* genTime may not precede this by more than the skew (0: no bound) */
	time_t now;                   /* the verifier's clock (0: time(NULL)) */
};

/*
 * Check a DER TimeStampResp (tsa_check_response) or a bare TimeStampToken,
 * a CMS ContentInfo (tsa_check_token), against `expect` and `anchors`.
 * Every check that can be made is made and recorded in `out` (a token
 * from TSA_TOKEN_INIT or released; it is reset first). Returns 0
 * when all pass, else -1 with box_error "<check>: <why>" for the first
 * that failed.
 */
int tsa_check_response(struct tsa_token *out, const unsigned char *der, size_t len,
		       const struct tsa_expect *expect, const struct tsa_anchors *anchors);
int tsa_check_token(struct tsa_token *out, const unsigned char *der, size_t len,
		    const struct tsa_expect *expect, const struct tsa_anchors *anchors);

/* A TimeStampReq: SHA-256 imprint of the data, a random 63-bit nonce, certReq true. */
struct tsa_request {
	unsigned char *der;
	size_t len;
	unsigned char digest[32];
	uint64_t nonce;
};

#define TSA_REQUEST_INIT { NULL, 0, { 0 }, 0 }

int tsa_request_make(struct tsa_request *out, const void *data, size_t len);
void tsa_request_release(struct tsa_request *r);

/*
 * POST a request to one TSA and check the answer fully against the
 * request, the anchors and this machine's clock; genTime may not precede
 * `not_before` (the event commit's time; 0: no bound) beyond the skew.
 * On TSA_OK `response` holds the DER TimeStampResp; otherwise box_error
 * says why, and the result is TSA_UNANSWERED or TSA_INVALID.
 */
int tsa_ask(struct tsa_token *token, struct buf *response, const char *url,
	    const struct tsa_request *req, time_t not_before, const struct tsa_anchors *anchors,
	    const struct http_options *http);

/* ---- timestamp tags ------------------------------------------------------ */

/* A parsed tag message (gitbox-manifest(5), TIMESTAMP TAG). */
struct tsa_tag {
	char *event;                  /* "seal" */
	char payload_sha256[65];      /* lower-case hex */
	char *url;                    /* the TSA asked */
	char *gen_time;               /* as written, RFC 3339 */
	unsigned char *der;           /* the TimeStampResp */
	size_t der_len;
};

#define TSA_TAG_INIT { NULL, { 0 }, NULL, NULL, NULL, 0 }

/* The message of a timestamp tag, exactly as git box writes it. */
int tsa_tag_message(struct buf *out, const char *event, const char *payload_sha256,
		    const char *url, const char *gen_time, const unsigned char *der, size_t len);
/* Parse a tag message strictly; -1 with box_error on anything unexpected. */
int tsa_tag_parse(struct tsa_tag *out, const char *message, size_t len);
void tsa_tag_release(struct tsa_tag *t);

/* Split "box/seal-12" (or "refs/tags/box/seal-12") into "seal" and 12; -1 if it is not one. */
int tsa_tag_name_parse(char **event, unsigned long *n, const char *name);

/* ---- events ------------------------------------------------------------- */

/* Is `name` an event name a manifest may carry? */
int tsa_event_name_ok(const char *name);

/*
 * The event a manifest payload records: it must be a JSON object whose
 * "event" is an event name and whose "commit" is `commit`. Returns the
 * name in *event (to free), or -1 with box_error.
 */
int tsa_payload_event(char **event, const char *payload, size_t len, const git_oid *commit);

/* Does the policy's timestamp.when ask for a timestamp on this event? */
int tsa_policy_wants(const struct policy *p, const char *event);

struct tsa_event {
	git_oid commit;
	char *event;          /* "init", "seal"... */
	char *tag;            /* "box/seal-1" when a timestamp tag stamps it, else NULL */
	int wanted;           /* the policy asks for a timestamp on it */
};

/*
 * The events on the box branch's first-parent history, newest first:
 * every commit with a note in refs/notes/box that is a manifest (other
 * notes are left to verify), with its timestamp tag if any.
 */
int tsa_events(struct tsa_event **out, size_t *nr, const struct box *b);
/* Only those the policy wants stamped and that have no timestamp tag. */
int tsa_pending(struct tsa_event **out, size_t *nr, const struct box *b);
void tsa_events_free(struct tsa_event *events, size_t nr);

/* The timestamp tag ("box/seal-1") that stamps `commit`, or NULL in *tag. */
int tsa_find_tag(char **tag, git_repository *repo, const git_oid *commit);

/* ---- stamping an event -------------------------------------------------- */

struct tsa_stamp_options {
	const struct strlist *tsa;    /* URLs to ask in order; NULL or empty: the policy's */
	const char *tsa_ca;           /* a PEM file of anchors; NULL: the policy's timestamp.ca */
	long timeout_ms;              /* each try; 0: 30 seconds */
};

#define TSA_STAMP_OPTIONS_INIT { NULL, NULL, 0 }

struct tsa_attempt {
	char *url;
	int result;                   /* TSA_OK, TSA_UNANSWERED or TSA_INVALID */
	char *error;                  /* why not, or NULL */
};

struct tsa_stamp {
	int stored;                   /* 1: this call wrote the tag; 0: another stamper's tag stamps it */
	char *tag;                    /* "box/seal-1" */
	char *url;                    /* the TSA whose answer is stored */
	char payload_sha256[65];
	struct tsa_token token;
	struct tsa_attempt *attempts; /* every TSA asked, in order */
	size_t attempts_nr;
};

#define TSA_STAMP_INIT { 0, NULL, NULL, { 0 }, TSA_TOKEN_INIT, NULL, 0 }

/*
 * Timestamp one event: ask the TSAs in order for a timestamp of the
 * payload's SHA-256, check each answer fully, and store the first good
 * one as the annotated tag box/<event>-<n> on `commit` (n one more than
 * the highest for that event). Nothing is stored unless a response
 * passed every check. A tag is created, never moved: if `commit` has a
 * timestamp tag already, no TSA is asked, `out->tag` names that tag and
 * `out->url` is NULL; if another stamper's tag for it appears while the
 * TSA answers, that one stands. Either way `stored` is 0.
 *
 * The anchors are opts->tsa_ca, else the file the policy's
 * timestamp.ca names, read from `commit`'s tree. `out` is
 * TSA_STAMP_INIT or released; it is reset first.
 *
 * Returns TSA_OK, TSA_ERROR (no TSA or no anchors configured, or the
 * tag could not be written), TSA_UNANSWERED or TSA_INVALID (see enum
 * tsa_result); `out->attempts` says what each TSA did.
 */
int tsa_stamp_event(struct tsa_stamp *out, git_repository *repo, const struct policy *policy,
		    const git_oid *commit, const char *event, const char *payload, size_t len,
		    const struct tsa_stamp_options *opts);
void tsa_stamp_release(struct tsa_stamp *s);

/*
 * Check a stored timestamp from the tag and the trust anchors alone:
 * the tag's message, the event commit's manifest note, and every check
 * of a fresh stamp but the nonce. genTime may not precede the commit's
 * committer time (beyond the skew) nor follow `now`. `out_tag` (may be
 * NULL) receives the parsed tag. Returns 0 when every check passed, else
 * -1 with box_error naming the first that failed.
 */
int tsa_check_tag(struct tsa_token *out, struct tsa_tag *out_tag, git_repository *repo,
		  const char *tag_name, const struct tsa_anchors *anchors, time_t now);

#endif

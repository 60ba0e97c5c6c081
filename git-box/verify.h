#ifndef VERIFY_H
#define VERIFY_H

#include <git2.h>
#include <jansson.h>
#include <stdarg.h>

#include "hash.h"
#include "util.h"

/*
 * The auditor's check of a box, git-box-verify(1): every claim the box
 * makes is recomputed from git's objects and checked against the trust
 * roots the auditor gives, and every finding is one entry of a report.
 * No printing: cmd-verify.c (a clone) and the bundle reader (a temporary
 * bare repository made from a git bundle) print the report as they
 * please, with verify_report_json() for the documented JSON.
 *
 * Nothing is fetched and nothing of the repository is run: libgit2 reads
 * the objects (it never honours refs/replace/ or info/grafts, nor runs
 * hooks, filters or fsmonitor), `git cat-file` streams the blobs with
 * replacements off (catfile.h), and the signatures are checked in a
 * private, temporary GnuPG home built from the trust roots alone. A
 * shallow clone, a partial clone and a repository that borrows objects
 * (objects/info/alternates) are refused: verify reads only the objects
 * the repository holds itself, all of them.
 */

#define VERIFY_SCHEMA "git-box/verify/v1"

struct verify_report;

/*
 * The trust roots, what to pin, and the auditor's floor
 * (git-box-verify(1), TRUST ROOTS and THE FLOOR). At least one root
 * (trust_signers, keyring, tsa_ca) is needed unless self_check is set,
 * which takes none: verify_options_check().
 */
struct verify_options {
	struct strlist trust_signers;  /* full primary fingerprints (--trust-signer) */
	const char *keyring;           /* a file of OpenPGP public keys (--keyring) */
	const char *tsa_ca;            /* a PEM file of TSA trust anchors (--tsa-ca) */
	const char *expect_seal;       /* the seal payload's SHA-256, hex (--expect-seal) */
	const char *expect_box;        /* the box id, the init commit's full hex id (--expect-box) */
	int self_check;                /* the box against its own roots only; the verdict says so */
	int allow_unsigned;            /* given signers, accept a seal with no signature by them */
	int allow_unstamped;           /* given TSA anchors, accept a seal with no timestamp */
	/* Where each root came from, for the report: an option or a configuration key. */
	const char *signers_from, *keyring_from, *tsa_ca_from, *expect_box_from;
	struct strlist held;           /* the configured values the fields above point into */
	int rev_given;                 /* `rev` was named by the auditor (not the box branch) */
	/*
	 * Blobs already read and hashed by this very process, or NULL (see
	 * below). `git box verify` never passes one.
	 */
	const struct hash_known *known;
};

#define VERIFY_OPTIONS_INIT { .trust_signers = STRLIST_INIT, .held = STRLIST_INIT }

/*
 * Fill the roots and pins not given as options from the auditor's git
 * configuration: box.verify.trustSigner (multi-valued),
 * box.verify.keyring, box.verify.tsaCa and box.verify.expectBox, read
 * from the global, XDG and system files only, never from a
 * repository's own configuration (which whoever handed the repository
 * over wrote). An option replaces its key's every value.
 */
int verify_options_from_config(struct verify_options *o);

/*
 * Can verify run with these options? -1 with box_error and `r->hint`
 * when there are no roots and no self-check, or roots and a self-check.
 */
int verify_options_check(struct verify_report *r, const struct verify_options *o);

/*
 * verify_options.known: the size and SHA-256 of blobs that the calling
 * process itself has just read from this repository's objects and hashed
 * (git box export hands over what its bag writer hashed while it wrote
 * the payload, so that each blob is read and hashed once, not twice).
 * An event's file whose blob id is in it is taken from it instead of
 * being read again; every other file is read and hashed as always.
 *
 * This is sound because nothing stored is trusted: the digests are of
 * the content of the very object ids verify would read, read through the
 * same path (`git cat-file` with replacements off, catfile.h) and hashed
 * in this process moments before, never loaded from a cache, a file, a
 * manifest or an archive. It is the same step verify already takes from
 * one event to the next (a file with the same blob id and mode as in the
 * previous event keeps the digest computed then). A manifest that lies
 * about a blob still fails: it is compared with the digest of the blob's
 * actual content, wherever that digest was computed. The report is the
 * same bytes with or without it (the "blobs read" count of a payload
 * check counts the files not taken over from the previous event either
 * way).
 */

enum verify_status {
	VERIFY_OK,
	VERIFY_WARN,
	VERIFY_FAIL,
};

/* One finding. */
struct verify_check {
	char *check;          /* "chain", "payload", "signature", ... (git-box-verify(1)) */
	enum verify_status status;
	char *event;          /* "seal", or NULL when it is about no event */
	git_oid commit;       /* the commit it is about, when has_commit */
	int has_commit;
	char *path;           /* a repository path, or NULL */
	char *detail;         /* for people; never the verifier's clock time */
};

struct verify_report {
	char *box;            /* the init commit (hex), or NULL when the box cannot be found */
	char *name;           /* the box's name in its policy at init */
	char *commit;         /* the commit verified (hex) */
	const char *state;    /* "CREATED", "IN_PROGRESS", "SEALED", "COMPLETED" */
	struct strlist signers;      /* the trusted primary fingerprints */
	const char *trust_source;    /* "given" or "repository" */
	struct verify_check *checks;
	size_t nr, alloc;
	size_t failures, warnings;
	char *hint;           /* what to do, when verify could not run */
	int self_check;       /* checked against the box's own roots only */
};

#define VERIFY_REPORT_INIT { NULL, NULL, NULL, NULL, STRLIST_INIT, NULL, NULL, 0, 0, 0, 0, NULL, 0 }

/*
 * Verify the box in `repo` up to `rev` (NULL: the tip of the box
 * branch). The repository is only read; it stays the caller's. Returns 0
 * when the checks ran (the verdict is in `out`: failures == 0 means
 * verified), or -1 when they could not run (not a box, no notes, a
 * shallow clone, unreadable trust roots, gpg unusable...), with
 * box_error set and, when there is something to do, `out->hint`.
 */
int verify_repository(struct verify_report *out, git_repository *repo, const char *rev,
		      const struct verify_options *o);

/*
 * Append a check to a report (the bundle reader adds its own around
 * verify_repository()'s); `detail` is printf-formatted.
 */
void verify_report_add(struct verify_report *r, enum verify_status status, const char *check,
		       const char *event, const git_oid *commit, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void verify_report_addv(struct verify_report *r, enum verify_status status, const char *check,
			const char *event, const git_oid *commit, const char *path, const char *fmt,
			va_list ap) __attribute__((format(printf, 7, 0)));

/*
 * Move every check of `src` to the end of `dst`, and the fields `dst`
 * lacks (box, name, commit, state, trust, hint); `src` is released.
 */
void verify_report_take(struct verify_report *dst, struct verify_report *src);

/* "ok", "warn", "FAIL" (text) and "ok", "warn", "fail" (JSON). */
const char *verify_status_name(enum verify_status s);
const char *verify_status_json(enum verify_status s);

/* "verified", "consistent" (a self-check without failures) or "failed". */
const char *verify_verdict(const struct verify_report *r);

/*
 * One line of text for a check, without the status word or newline:
 * "<check>: <event> <commit12>: '<path>': <detail>", parts left out when absent.
 */
void verify_check_describe(struct buf *out, const struct verify_check *c);

/* The summary line, without a newline. */
void verify_report_summary(struct buf *out, const struct verify_report *r);

/*
 * The report as git-box-verify(1) documents it:
 * {schema, box, name, commit, state, trust: {signers, source},
 *  checks: [{check, status, event, commit, path, detail}],
 *  failures, warnings, verdict}. It holds no clock time: the same
 * repository and roots give the same bytes.
 */
json_t *verify_report_json(const struct verify_report *r);

void verify_report_release(struct verify_report *r);
void verify_options_release(struct verify_options *o);

#endif

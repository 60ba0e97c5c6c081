#ifndef EXPORT_H
#define EXPORT_H

#include <stdint.h>

#include <git2.h>

#include "bag.h"
#include "hash.h"
#include "repo.h"
#include "util.h"

/*
 * The audit bundle of one event of a box (gitbox-bundle(5)): a BagIt bag
 * in one tar, written by bag.h's writer. data/ holds every file of the
 * event commit's tree, streamed from git's objects through catfile.h
 * (never the work tree); box/ holds the manifest note's payload and
 * signatures, the DER timestamp of the commit's timestamp tag, the TSA
 * anchors the policy names, a git bundle of the box and a README.
 * Memory is bounded by the number of files, never by their size. The
 * archive appears at its path only once complete; after any failure
 * nothing is left there (an older file at the path stays as it was).
 * No printing: functions return 0, -1 (environment, exit 2) or
 * BOX_EREFUSED (exit 1) with box_error set.
 */

/* Called with the payload files and bytes written so far. */
typedef void (*export_progress_fn)(void *data, uint64_t files, uint64_t bytes);

/*
 * Called once the payload is written, with the size and SHA-256 of every
 * payload blob, by blob id, as the bag writer hashed them (hash.h; for
 * verify_options.known). It runs in a thread of its own while the tag
 * files before box/verify.json are written, and may use the box's
 * repository (export makes no libgit2 call until it returns) and fill
 * the buffer export_options.verify_json points to, which is written
 * after it returns. A negative return fails the export, with the
 * callback's box_error.
 */
typedef int (*export_payload_fn)(void *data, const struct hash_known *payload);

struct export_options {
	enum bag_compression compression;
	int digest;                     /* compute the archive's SHA-256 */
	/*
	 * box/verify.json's content, written as it is once after_payload has
	 * run, or NULL to leave the member out (it must hold no clock time,
	 * or two exports differ).
	 */
	const struct buf *verify_json;
	export_payload_fn after_payload;
	void *after_payload_data;
	export_progress_fn progress;
	void *progress_data;
};

#define EXPORT_OPTIONS_INIT { BAG_COMPRESS_NONE, 0, NULL, NULL, NULL, NULL, NULL }

struct export_result {
	char *file;                     /* the path written */
	char *bag_name;                 /* the bag's folder: "study-5f0c1d2e3a4b" */
	char *event;                    /* the exported event: "seal" */
	char *timestamp_tag;            /* "box/seal-1", or NULL when none */
	int signatures;                 /* box/manifest.json.asc was written */
	int tsa_chain;                  /* box/tsa-chain.pem was written */
	uint64_t payload_files, payload_bytes;
	uint64_t bytes;                 /* the archive's size */
	unsigned char sha256[SHA256_LEN];   /* its SHA-256, with opts.digest */
	struct strlist warnings;        /* what was left out, and why */
};

#define EXPORT_RESULT_INIT { NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0, { 0 }, STRLIST_INIT }

/*
 * The bag's folder for a box name and a commit: the name with every
 * character other than an ASCII letter, a digit, '.', '_' or '-' turned
 * into '-', leading '.' and '-' dropped ("box" when nothing is left),
 * then '-' and the commit's first 12 hex digits.
 */
char *export_bag_name(const char *box_name, const git_oid *commit);

/* ".tar", ".tar.gz" or ".tar.zst". */
const char *export_suffix(enum bag_compression c);

/*
 * Write the audit bundle of the event on `commit` (which must carry a
 * manifest note) to `path`, or, when `path` is NULL, to the bag's name
 * and the compression's suffix in the current folder (out->file says
 * which). An existing file at the path is replaced at once, once the
 * new one is complete, as git does with its own files. Refuses (BOX_EREFUSED) a commit without a
 * manifest note, a tree with a path a bag cannot hold, and a timestamp
 * tag that cannot be read or does not stamp the manifest. Under
 * signals_hold() (util.h), a signal stops it at the next file or chunk,
 * as a failure that leaves nothing behind.
 */
int export_write(struct export_result *out, const struct box *b, const git_oid *commit,
		 const char *path, const struct export_options *opts);

void export_result_release(struct export_result *r);

#endif

#ifndef MANIFEST_H
#define MANIFEST_H

#include <stdint.h>

#include <git2.h>
#include <jansson.h>

#include "hash.h"
#include "policy.h"
#include "util.h"

/*
 * The manifest of one event, gitbox-manifest(5): build it from a commit,
 * write its canonical payload, and read one back strictly.
 *
 * The payload is JSON written by jansson with sorted keys
 * (JSON_SORT_KEYS) and an indentation of two spaces (JSON_INDENT(2)),
 * LF line ends and one final LF: the same manifest is always the same
 * bytes. manifest_parse() accepts nothing else: duplicate keys, unknown
 * keys or schema, a path that is absolute or has an empty, '.', '..' or
 * '.git' component, a digest that is not 64 lower-case hex digits, or
 * bytes that are not exactly the canonical form are all refused.
 */

#define MANIFEST_SCHEMA "git-box/manifest/v1"

/* "2026-11-22T15:00:00Z": RFC 3339, UTC, whole seconds. */
#define MANIFEST_TIME_LEN 20

struct manifest_file {
	char *path;
	unsigned char sha256[SHA256_LEN];
	uint64_t size;
	unsigned int mode;          /* 0100644, 0100755 or 0120000 */
};

struct manifest_files {
	struct manifest_file *items;   /* sorted by path, bytewise */
	size_t nr, alloc;
};

struct manifest {
	char *event;                /* "init", "import", "checkpoint" or "seal" */
	char *name;                 /* the box's name, from the policy */
	git_oid box;                /* the init commit */
	git_oid commit;             /* the commit this event is about */
	git_oid tree;               /* its tree */
	int has_previous;           /* 0 for init only */
	unsigned char previous[SHA256_LEN];   /* SHA-256 of the previous event's payload */
	char time[MANIFEST_TIME_LEN + 1];
	char *message;              /* -m of checkpoint or seal, or NULL */
	unsigned char policy[SHA256_LEN];     /* SHA-256 of .box/policy.yaml at `commit` */
	struct manifest_files inputs, outputs, code;
	json_t *environment;        /* environment.h */
};

#define MANIFEST_INIT { 0 }

/* Is `event` one of the four events? */
int manifest_event_valid(const char *event);

/* Seconds since the epoch as MANIFEST_TIME_LEN characters of UTC. */
void manifest_format_time(char *out, int64_t seconds);
/* The manifest's `time` in seconds since the epoch, or 0 when it is not one. */
int64_t manifest_time_seconds(const struct manifest *m);

/*
 * Fill inputs, outputs, code and policy from the hashed files of a
 * commit, sorted by `policy` (inputs, outputs, everything else is code).
 * Refuses (BOX_EREFUSED) a path that is not UTF-8 (JSON cannot carry
 * it) and a commit without .box/policy.yaml.
 */
int manifest_set_files(struct manifest *m, const struct hash_files *files, const struct policy *policy);

/* The canonical payload. */
int manifest_payload(struct buf *out, const struct manifest *m);

/* Read a payload back; on failure `out` is released and box_error says why. */
int manifest_parse(struct manifest *out, const char *payload, size_t len);

/*
 * Read only what following the chain needs, quickly: every top-level
 * field as strictly as manifest_parse() does, but the files are left out
 * (their lists stay empty) and the canonical form is not checked.
 */
int manifest_parse_header(struct manifest *out, const char *payload, size_t len);

/* A repository path as a manifest may hold it (relative, no '.', '..', '.git', empty parts). */
int manifest_path_valid(const char *path);

/* Every file of the manifest, inputs then outputs then code; NULL past the end. */
const struct manifest_file *manifest_file_at(const struct manifest *m, size_t i, const char **class);

void manifest_release(struct manifest *m);

#endif

#ifndef POLICY_H
#define POLICY_H

#include <regex.h>
#include <stdint.h>

#include "util.h"

/*
 * .box/policy.yaml, parsed once into this structure and used everywhere.
 * The format is gitbox-policy(5); every key below is part of it.
 */

#define POLICY_PATH ".box/policy.yaml"
#define POLICY_VERSION 1

/*
 * What a policy may hold, checked before libyaml builds the document, so
 * that reading one costs time and memory in proportion to its size
 * (gitbox-policy(5), LIMITS): collections nested at most this deep (a
 * real policy needs 4), and at most this many nodes (scalars,
 * collections and aliases together).
 */
#define POLICY_MAX_DEPTH 32
#define POLICY_MAX_NODES 100000

enum signing_when {
	SIGNING_NONE,
	SIGNING_SEAL,
	SIGNING_EVERY_COMMIT,
};

enum timestamp_when {
	TIMESTAMP_NONE,
	TIMESTAMP_SEAL,
	TIMESTAMP_EVERY_EVENT,
};

struct content_rule {
	char *name;
	char *pattern;       /* as written in the policy */
	regex_t regex;       /* compiled: POSIX extended with GNU extensions */
};

struct policy {
	int version;
	char *name;
	char *branch;
	struct strlist inputs;   /* normalised: relative, '/'-separated, trailing '/' for folders */
	struct strlist outputs;

	enum signing_when signing_when;
	struct strlist signers;  /* full fingerprints, upper-case hex */
	int quorum;

	enum timestamp_when timestamp_when;
	struct strlist tsa;      /* URLs, tried in order */
	char *tsa_ca;            /* repository path, or NULL */

	uint64_t max_file_size;  /* bytes; 0 means no limit */
	struct strlist forbid_paths;
	struct content_rule *forbid_content;
	size_t forbid_content_nr;
	struct strlist require_trailers;

	struct strlist capture;  /* environment.capture as written: names of built-in probes */
	char *capture_error;     /* why an entry of it is no probe, with its place; or NULL */
};

#define POLICY_INIT { 0 }

/*
 * Parse a policy document. `origin` names it in errors ("policy.yaml",
 * "HEAD:.box/policy.yaml"); every error reads
 * "<origin>:<line>:<column>: <key>: <what is wrong>".
 * On failure returns -1, sets box_error and leaves `out` released.
 */
int policy_parse(struct policy *out, const char *origin, const char *data, size_t len);
int policy_load_file(struct policy *out, const char *path);
void policy_release(struct policy *p);

/*
 * Semantic checks that need the whole policy: paths overlapping,
 * quorum within the signer list, a TSA when timestamps are wanted.
 * policy_parse() calls it; exposed for tests and for init.
 */
int policy_validate(const struct policy *p, const char *origin);

/*
 * Nothing committed in a box makes anyone run a program: environment.capture
 * may name built-in probes only (environment.h). A policy that names
 * anything else still parses, so that it can be shown and verified, but
 * init refuses it, no clone is set up by it and no event is recorded with
 * it. Returns 0, or -1 with box_error naming the first such entry and,
 * for a parsed policy, its place.
 */
int policy_check_capture(const struct policy *p);

/* "100MiB" -> bytes. Accepts B, KiB, MiB, GiB, TiB, KB, MB, GB, TB, or a bare count. */
int policy_parse_size(uint64_t *out, const char *text);

const char *signing_when_name(enum signing_when w);
const char *timestamp_when_name(enum timestamp_when w);

/*
 * Path classification, as every layer sees it. `path` is a repository
 * path ("input/a.csv"). Inputs and the policy itself are protected.
 */
int policy_is_input(const struct policy *p, const char *path);
int policy_is_output(const struct policy *p, const char *path);
int policy_is_protected(const struct policy *p, const char *path);

/*
 * Normalise a user-given box path: strip "./", collapse "//", refuse
 * absolute paths, "..", ".git" and empty names. Folders keep one
 * trailing '/'. Returns a new string or NULL with box_error set.
 */
char *policy_normalise_path(const char *path, int is_folder);

/* Do two normalised paths overlap (one equal to or inside the other)? */
int paths_overlap(const char *a, const char *b);

#endif

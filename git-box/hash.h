#ifndef HASH_H
#define HASH_H

#include <stdint.h>

#include <git2.h>

#include "util.h"

/*
 * The hashing engine: the SHA-256 of every file of a commit, read from
 * git's objects (never the work tree), streamed through `git cat-file`
 * child processes (catfile.h) in bounded memory, spread over every core
 * across files, largest first. Each distinct blob is hashed once per
 * run, and, unless told not to, looked up in and added to a cache of
 * SHA-256 by blob id in $GIT_COMMON_DIR/box/sha256-cache. The cache
 * only saves time: a record that fails its own check is ignored, and a
 * missing or corrupt cache gives the same answer.
 */

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

/* Lower-case hex of a SHA-256 digest; `out` holds SHA256_HEX_LEN + 1 bytes. */
void sha256_hex(char *out, const unsigned char *digest);
/* Parse exactly 64 lower-case hex digits; -1 on anything else. */
int sha256_from_hex(unsigned char *out, const char *hex);
/* The SHA-256 of a buffer in memory (a manifest payload). */
void sha256_buffer(unsigned char *out, const void *data, size_t len);

/* One file of a tree: a blob at a path, with its git mode. */
struct hash_file {
	char *path;
	git_oid id;
	unsigned int mode;          /* 0100644, 0100755 or 0120000 (a symbolic link) */
	uint64_t size;
	unsigned char sha256[SHA256_LEN];
};

struct hash_files {
	struct hash_file *items;    /* in the tree's order: sorted by path as git sorts */
	size_t nr, alloc;
};

#define HASH_FILES_INIT { NULL, 0, 0 }

/* Called from the worker threads, one call at a time. */
typedef void (*hash_progress_fn)(void *data, uint64_t files, uint64_t bytes);

struct hash_options {
	int use_cache;              /* 0: read nothing stored, write nothing (verify) */
	unsigned int threads;       /* 0: one per online core */
	hash_progress_fn progress;
	void *progress_data;
};

#define HASH_OPTIONS_INIT { 1, 0, NULL, NULL }

struct hash_stats {
	size_t files;               /* paths */
	size_t blobs;               /* distinct blob ids */
	size_t cached;              /* blobs answered by the cache */
	size_t hashed;              /* blobs read and hashed */
	uint64_t bytes_hashed;
	unsigned int threads;       /* worker threads used */
	int cache_not_written;      /* the cache could not be updated (no harm done) */
};

/*
 * List every file of `tree`. A submodule (gitlink) is refused
 * (BOX_EREFUSED): git box cannot vouch for content that is not in the
 * repository.
 */
int hash_files_from_tree(struct hash_files *out, git_repository *repo, const git_tree *tree);

/* Fill in size and sha256 of every file. */
int hash_files_compute(struct hash_files *files, git_repository *repo, const struct hash_options *o,
		       struct hash_stats *stats);

void hash_files_release(struct hash_files *files);

/*
 * SHA-256s this process computed itself, by blob id: what one reader of a
 * blob's content found, handed to another reader of the same object in
 * the same run (export's bag writer hashes every payload file, and hands
 * the digests to the verify it runs next, verify.h). Filled only from
 * content just read from the repository's objects: never from a file, a
 * cache or anything a repository or an archive claims.
 */
struct hash_known_blob {
	git_oid id;
	uint64_t size;
	unsigned char sha256[SHA256_LEN];
};

struct hash_known {
	struct hash_known_blob *items;  /* by id once sorted */
	size_t nr, alloc;
	int sorted;
};

#define HASH_KNOWN_INIT { NULL, 0, 0, 1 }

/* Record what reading blob `id` gave. */
void hash_known_add(struct hash_known *k, const git_oid *id, uint64_t size,
		    const unsigned char *sha256);

/*
 * Sort by id and keep one record per blob. A blob recorded twice with
 * different answers (which only a fault could cause) is dropped
 * altogether, so that its reader hashes it again.
 */
void hash_known_sort(struct hash_known *k);

/* The record of blob `id`, or NULL (always NULL before hash_known_sort()). */
const struct hash_known_blob *hash_known_find(const struct hash_known *k, const git_oid *id);

void hash_known_release(struct hash_known *k);

#endif

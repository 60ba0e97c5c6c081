#ifndef CATFILE_H
#define CATFILE_H

#include <stdint.h>
#include <sys/types.h>

#include <git2.h>

/*
 * Reading blob content in bounded memory through `git cat-file --batch`.
 *
 * libgit2 reads a packed object whole into memory, and git writes large
 * files straight into packs, so content is streamed from a git child
 * process instead: `git --no-replace-objects cat-file --batch` (with
 * GIT_NO_REPLACE_OBJECTS, no hooks, no fsmonitor, nothing fetched), started
 * with posix_spawn and an argv (never a shell), GIT_DIR set to the
 * repository and no GIT_INDEX_FILE or GIT_WORK_TREE inherited. git
 * holds at most 16 MiB of one blob (core.bigFileThreshold) and 64 MiB of
 * mapped pack, except for a blob stored as a delta, which git rebuilds
 * whole, and a loose object, which it maps whole.
 *
 * One reader serves one thread. Requests may be sent ahead of reading
 * (pipelining): every catfile_request() is answered, in order, by one
 * catfile_header() and the content read with catfile_read() until it
 * returns 0.
 */

struct catfile;

/* Start the child process for `repo`. */
int catfile_open(struct catfile **out, git_repository *repo);

/* Ask for an object; the answer is read with catfile_header(). */
int catfile_request(struct catfile *cf, const git_oid *id);

/*
 * Read the answer to the oldest request: 0 with the blob's size, or -1
 * with box_error set (the object is missing or is not a blob, or git
 * went away). Any content of the previous answer must have been read.
 */
int catfile_header(struct catfile *cf, const git_oid *id, uint64_t *size);

/* Read up to `len` bytes of the current blob; 0 once all of it is read. */
ssize_t catfile_read(struct catfile *cf, void *buf, size_t len);

/* Request one blob and hand its content to `fn` in chunks; stops at the first non-zero return. */
typedef int (*catfile_fn)(const void *data, size_t len, void *payload);
int catfile_stream(struct catfile *cf, const git_oid *id, catfile_fn fn, void *payload, uint64_t *size);

/* End the child process; returns -1 if it failed. Accepts NULL. */
int catfile_close(struct catfile *cf);

#endif

#ifndef BAG_H
#define BAG_H

#include <stdint.h>

#include "util.h"

/*
 * BagIt bags (RFC 8493) serialized as one tar: the shape of git box's
 * audit bundle (gitbox-bundle(5)). Two halves, neither prints nor exits.
 *
 * The writer streams a deterministic bag. The caller adds payload files
 * (below data/), then tag files (box/manifest.json ...), each in byte
 * order of its path (the order git lists a tree in), each with its size
 * first and its content in chunks of any length; the writer hashes as it
 * goes and ends the tar with bag-info.txt, manifest-sha256.txt and
 * tagmanifest-sha256.txt. The tar is written beside its target under a
 * temporary name and renamed into place only by bag_writer_commit().
 *
 * The checker reads a tar (plain, gzip or zstd) with libarchive's tar
 * reader and nothing else, refuses unsafe members by name before reading
 * their content, refuses anything after the tar's end but zero padding
 * (and, compressed, anything after the stream, or a second gzip
 * member), and checks the bag: bagit.txt, every payload and tag
 * file against every manifest and tag manifest, Payload-Oxum, nothing
 * missing or extra. It writes nothing anywhere except the one tag file
 * the caller asks to stream into a descriptor of its own.
 */

/* Checksum algorithms a bag may use, as RFC 8493 names them in manifest-<name>.txt. */
enum bag_alg {
	BAG_MD5,
	BAG_SHA1,
	BAG_SHA224,
	BAG_SHA256,
	BAG_SHA384,
	BAG_SHA512,
	BAG_ALG_NR
};
#define BAG_ALG_BIT(alg) (1u << (alg))

/* "md5", "sha256" ... */
const char *bag_alg_name(enum bag_alg alg);

/* ---------------------------------------------------------------- writer */

enum bag_compression {
	BAG_COMPRESS_NONE,      /* .tar */
	BAG_COMPRESS_GZIP,      /* .tar.gz: no file name, no time in the gzip header */
	BAG_COMPRESS_ZSTD,      /* .tar.zst */
};

struct bag_writer_opts {
	/* The bag's folder in the tar: one path component ("sepsis-2026-1a2b3c4"). */
	const char *name;
	/* Seconds since the epoch: every member's mtime, and bag-info.txt's Bagging-Date (UTC). */
	int64_t time;
	enum bag_compression compression;
	/* Hash the archive's bytes as they are written (bag_writer_digest()). */
	int digest;
};
#define BAG_WRITER_OPTS_INIT { NULL, 0, BAG_COMPRESS_NONE, 0 }

struct bag_writer;

/*
 * Start a bag that will appear at `path` when committed. Writes the bag's
 * folder, bagit.txt and data/ at once. The temporary file is 0600; the
 * bag gets 0666 less the umask, read here (umask(2) cannot read it
 * without setting it, so open no file in another thread meanwhile).
 */
int bag_writer_open(struct bag_writer **out, const char *path, const struct bag_writer_opts *opts);

/*
 * A line of bag-info.txt, kept in the order given, between Bagging-Date
 * (first) and Payload-Oxum (last), which the writer owns. Any time before
 * the commit. Label and value are one line of UTF-8 each.
 */
int bag_writer_add_info(struct bag_writer *w, const char *label, const char *value);

/*
 * Begin a payload file at `path` below data/ ("input/a.csv"), of exactly
 * `size` bytes, mode 0755 when `executable` else 0644. Paths must come in
 * strictly increasing byte order (memcmp), and before every tag file.
 */
int bag_writer_add_payload(struct bag_writer *w, const char *path, uint64_t size, int executable);

/*
 * Begin a tag file at `path` relative to the bag ("box/manifest.json"),
 * of exactly `size` bytes, mode 0644. In strictly increasing byte order,
 * after every payload file. The names the writer owns (bagit.txt,
 * bag-info.txt, fetch.txt, [tag]manifest-*.txt) and data/ are refused.
 */
int bag_writer_add_tag(struct bag_writer *w, const char *path, uint64_t size);

/* Append content to the file begun last; `len` may be 0. */
int bag_writer_write(struct bag_writer *w, const void *data, size_t len);

/*
 * End the file begun last, which must have all its bytes, and hand back
 * the SHA-256 of its content, as manifest-sha256.txt or
 * tagmanifest-sha256.txt lists it. Optional: adding the next file or
 * committing ends it all the same; nothing more may be written to it.
 */
int bag_writer_end_file(struct bag_writer *w, unsigned char sha256[32]);

/*
 * Write bag-info.txt, manifest-sha256.txt and tagmanifest-sha256.txt,
 * finish the tar, flush it to disk and rename it to its path.
 */
int bag_writer_commit(struct bag_writer *w);

/*
 * After a commit: the archive's size in bytes, as written (compressed),
 * and, when opts.digest was set, its SHA-256 (else zeros).
 */
void bag_writer_digest(const struct bag_writer *w, uint64_t *bytes, unsigned char sha256[32]);

/*
 * Can `path` (below data/) name a payload file of the bag `name`? 0, or
 * -1 with box_error naming the flaw (not UTF-8, a control character, a
 * '.' or '..' component, over the checker's path length or depth limit).
 * bag_writer_add_payload() makes the same check; this one lets a caller
 * refuse a whole tree before it writes anything.
 */
int bag_payload_path_check(const char *name, const char *path);

/*
 * Free the writer. Unless committed, the temporary file is removed and the
 * target left as it was. After any failed call, this is the only call left.
 */
void bag_writer_free(struct bag_writer *w);

/* --------------------------------------------------------------- checker */

/*
 * What the checker accepts at most; going over one refuses the archive
 * and names the limit. Memory is bounded by max_names, max_members (a
 * hundred bytes or so each) and the tag files held, never by the data.
 */
struct bag_limits {
	uint64_t max_bytes;      /* content of all members together, uncompressed */
	uint64_t max_members;    /* members of the tar and the folders their names imply */
	uint64_t max_names;      /* bytes of all those names together */
	uint64_t max_path;       /* bytes in a member's name */
	uint64_t max_depth;      /* path components in a member's name */
	uint64_t max_ratio;      /* tar bytes per compressed byte, once past BAG_RATIO_FLOOR */
	uint64_t max_tag_size;   /* a tag file the checker holds whole (manifests, bag-info.txt, kept files) */
};
#define BAG_RATIO_FLOOR (16u << 20)
#define BAG_LIMITS_INIT { 256ull << 30, 1000000, 256u << 20, 4096, 64, 200, 256u << 20 }

struct bag_check_opts {
	struct bag_limits limits;
	/* Tag files (paths relative to the bag) to hand back whole, NULL-terminated; or NULL. */
	const char *const *keep;
	/* A tag file to copy into stream_fd as it is read, or NULL. */
	const char *stream;
	int stream_fd;
	/* Also the git blob id of each payload file, from its content (bag_payload_file.blob_id). */
	int blob_ids;
};
#define BAG_CHECK_OPTS_INIT { BAG_LIMITS_INIT, NULL, NULL, -1, 0 }

/* The length of a git blob id: the SHA-1 object format, the one libgit2 reads. */
#define BAG_BLOB_ID_LEN 20

struct bag_info_field {
	char *label;
	char *value;
};

struct bag_payload_file {
	char *path;                  /* below data/: "input/a.csv" */
	uint64_t size;
	int executable;              /* the member's mode had an execute bit */
	unsigned char sha256[32];    /* computed from the content, never read from a manifest */
	/* with opts.blob_ids: what git would name the content, SHA-1 of "blob SIZE\0" and it */
	unsigned char blob_id[BAG_BLOB_ID_LEN];
};

struct bag_kept_file {
	const char *path;            /* the caller's string from opts.keep */
	int found;
	struct buf content;
};

struct bag_report {
	char *name;                  /* the bag's folder in the tar */
	char *version;               /* bagit.txt's BagIt-Version, when it could be read */
	struct strlist problems;     /* why the bag is not valid, or unsafe; empty when valid */
	struct strlist warnings;     /* valid all the same */

	struct bag_info_field *info; /* bag-info.txt in file order */
	size_t info_nr;

	struct bag_payload_file *payload;   /* every payload file, in byte order of path */
	size_t payload_nr;

	struct bag_kept_file *kept;  /* one per opts.keep, in that order */
	size_t kept_nr;

	int streamed;                /* opts.stream was found and copied */
	uint64_t stream_size;
	unsigned char stream_sha256[32];

	unsigned manifest_algs;      /* BAG_ALG_BIT()s of the payload manifests checked */
	unsigned tagmanifest_algs;   /* ... and of the tag manifests */
	int has_fetch;               /* fetch.txt is present (never followed) */
	int passes;                  /* 1, or 2 when a late manifest needed another read */
};

/*
 * Check the bag serialized in the tar open on `fd` (`name` is for
 * messages). Reads from the descriptor's current offset; a second pass,
 * needed only when a manifest in an algorithm other than SHA-256 follows
 * files it lists, seeks back and so needs a regular file.
 *
 * Returns 0 when the bag is valid; 1 when it is not, or the archive is
 * unsafe or over a limit (out->problems says why, box_error holds the
 * first); -1 when it could not be checked (I/O, a write to stream_fd, a
 * caller error), with box_error set. The kept and streamed files are
 * handed back whatever the verdict: trust them only on 0.
 */
int bag_check(struct bag_report *out, int fd, const char *name, const struct bag_check_opts *opts);

/* `out` is filled whatever bag_check() returned: release it in every case. */
void bag_report_release(struct bag_report *r);

/* The first value of a bag-info.txt label (compared without case), or NULL. */
const char *bag_info_get(const struct bag_report *r, const char *label);

#endif

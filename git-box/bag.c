/*
 * BagIt (RFC 8493) in one tar: a deterministic streamed writer and a
 * checker that never writes an archive member to disk. gitbox-bundle(5)
 * documents the layout, the member order and the reader's limits.
 */
#include "bag.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "banned.h"

#define CHUNK (128 * 1024)
#define MAX_PROBLEMS 100

static const struct {
	const char *name;
	const char *evp;
	size_t len;
} algs[BAG_ALG_NR] = {
	[BAG_MD5] = { "md5", "MD5", 16 },
	[BAG_SHA1] = { "sha1", "SHA1", 20 },
	[BAG_SHA224] = { "sha224", "SHA224", 28 },
	[BAG_SHA256] = { "sha256", "SHA256", 32 },
	[BAG_SHA384] = { "sha384", "SHA384", 48 },
	[BAG_SHA512] = { "sha512", "SHA512", 64 },
};

/* Algorithms that still resist deliberate collisions. */
#define STRONG_ALGS (BAG_ALG_BIT(BAG_SHA224) | BAG_ALG_BIT(BAG_SHA256) | \
		     BAG_ALG_BIT(BAG_SHA384) | BAG_ALG_BIT(BAG_SHA512))

const char *bag_alg_name(enum bag_alg alg)
{
	return alg < BAG_ALG_NR ? algs[alg].name : "?";
}

static int alg_by_name(const char *name, size_t len)
{
	for (int i = 0; i < BAG_ALG_NR; i++)
		if (strlen(algs[i].name) == len && !memcmp(algs[i].name, name, len))
			return i;
	return -1;
}

static const char bag_txt[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/* ------------------------------------------------------------ shared parts */

/*
 * libarchive converts names through the thread's locale. In the "C"
 * locale a UTF-8 name cannot be converted and pax headers fall back to
 * hdrcharset=BINARY, which GNU tar warns about; C.UTF-8 makes names go
 * through unchanged. Only the calling thread is switched, and only for
 * the span of our own calls. Making the locale loads it from disk, so the
 * writer makes it once and switches to it for each header.
 */
struct utf8_scope {
	locale_t loc, old;
	int owned;
};

static void utf8_use(struct utf8_scope *s, locale_t loc)
{
	s->loc = loc;
	s->old = loc ? uselocale(loc) : (locale_t)0;
	s->owned = 0;
}

static void utf8_enter(struct utf8_scope *s)
{
	utf8_use(s, newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0));
	s->owned = 1;
}

static void utf8_leave(struct utf8_scope *s)
{
	if (!s->loc)
		return;
	uselocale(s->old);
	if (s->owned)
		freelocale(s->loc);
	s->loc = (locale_t)0;
}

/*
 * The one rule for names, in the writer and the checker alike: relative,
 * no empty, "." or ".." component, valid UTF-8, no control character but
 * TAB, LF and CR (which RFC 8493 encodes in manifests), within the length
 * and depth limits.
 */
enum name_flaw {
	NAME_OK,
	NAME_EMPTY,
	NAME_ABSOLUTE,
	NAME_EMPTY_COMPONENT,
	NAME_DOT,
	NAME_DOTDOT,
	NAME_NOT_UTF8,
	NAME_CONTROL,
	NAME_TOO_LONG,
	NAME_TOO_DEEP,
};

static const char *name_flaw_text(enum name_flaw f)
{
	switch (f) {
	case NAME_OK: return "fine";
	case NAME_EMPTY: return "is empty";
	case NAME_ABSOLUTE: return "is an absolute path";
	case NAME_EMPTY_COMPONENT: return "has an empty component ('//')";
	case NAME_DOT: return "has a '.' component";
	case NAME_DOTDOT: return "leaves its folder ('..')";
	case NAME_NOT_UTF8: return "is not valid UTF-8";
	case NAME_CONTROL: return "has a control character";
	case NAME_TOO_LONG: return "is too long (path length limit)";
	case NAME_TOO_DEEP: return "is too deep (path depth limit)";
	}
	return "is not allowed";
}

static enum name_flaw name_flaw(const char *name, uint64_t max_path, uint64_t max_depth)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t n = strlen(name), depth = 1;
	const char *comp = name;

	if (!n)
		return NAME_EMPTY;
	if (n > max_path)
		return NAME_TOO_LONG;
	if (name[0] == '/')
		return NAME_ABSOLUTE;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && name[i] != '/')
			continue;
		size_t len = (size_t)(name + i - comp);
		if (!len)
			return NAME_EMPTY_COMPONENT;
		if (len == 1 && comp[0] == '.')
			return NAME_DOT;
		if (len == 2 && comp[0] == '.' && comp[1] == '.')
			return NAME_DOTDOT;
		if (i < n)
			depth++;
		comp = name + i + 1;
	}
	if (depth > max_depth)
		return NAME_TOO_DEEP;
	while (n) {
		uint32_t cp;
		size_t len = utf8_decode((const char *)p, n, &cp);

		if (!len)
			return NAME_NOT_UTF8;
		if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
		    (cp >= 0x7f && cp < 0xa0))
			return NAME_CONTROL;
		p += len;
		n -= len;
	}
	return NAME_OK;
}

/*
 * A name for a message: control characters escaped, and no longer than
 * SHOWN_MAX bytes, cut between two characters, so that the limit it broke
 * still fits in the message.
 */
#define SHOWN_MAX 200

static const char *shown(struct buf *out, const char *name)
{
	size_t n = strlen(name);
	char *cut;

	if (n <= SHOWN_MAX)
		return quote_for_message(out, name);
	n = SHOWN_MAX;
	while (n && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	cut = xstrndup(name, n);
	quote_for_message(out, cut);
	buf_adds(out, "...");
	free(cut);
	return out->ptr;
}

/* RFC 8493 2.1.3: CR, LF and '%' (and only those) are percent-encoded in manifests. */
static void add_encoded_path(struct buf *out, const char *path)
{
	for (const char *p = path; *p; p++) {
		if (*p == '%')
			buf_adds(out, "%25");
		else if (*p == '\n')
			buf_adds(out, "%0A");
		else if (*p == '\r')
			buf_adds(out, "%0D");
		else
			buf_addch(out, *p);
	}
}

/* Decode in place; any other '%' stays as it is, as earlier BagIt versions wrote it. */
static void decode_path(char *path)
{
	char *out = path;

	for (const char *p = path; *p; p++) {
		if (p[0] == '%' && p[1] == '2' && p[2] == '5') {
			*out++ = '%', p += 2;
		} else if (p[0] == '%' && p[1] == '0' && (p[2] == 'A' || p[2] == 'a')) {
			*out++ = '\n', p += 2;
		} else if (p[0] == '%' && p[1] == '0' && (p[2] == 'D' || p[2] == 'd')) {
			*out++ = '\r', p += 2;
		} else {
			*out++ = *p;
		}
	}
	*out = '\0';
}

static void hex_encode(char *out, const unsigned char *md, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * len] = '\0';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode exactly `len` bytes of hex (either case); 0 or -1. */
static int hex_decode(unsigned char *out, const char *hex, size_t hexlen, size_t len)
{
	if (hexlen != 2 * len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A set of running digests, one per algorithm bit. */
struct hashes {
	unsigned algs;
	EVP_MD_CTX *ctx[BAG_ALG_NR];
	EVP_MD_CTX *blob;          /* the git blob id, when asked (hashes_start_blob) */
};

static int hashes_start(struct hashes *h, unsigned which)
{
	h->algs = which;
	for (int i = 0; i < BAG_ALG_NR; i++) {
		h->ctx[i] = NULL;
		if (!(which & BAG_ALG_BIT(i)))
			continue;
		h->ctx[i] = EVP_MD_CTX_new();
		if (!h->ctx[i] || !EVP_DigestInit_ex(h->ctx[i], EVP_get_digestbyname(algs[i].evp), NULL)) {
			box_error_set("cannot start a %s digest", algs[i].name);
			return -1;
		}
	}
	return 0;
}

static int hashes_update(struct hashes *h, const void *data, size_t len)
{
	for (int i = 0; i < BAG_ALG_NR; i++)
		if (h->ctx[i] && !EVP_DigestUpdate(h->ctx[i], data, len)) {
			box_error_set("cannot compute a %s digest", algs[i].name);
			return -1;
		}
	if (h->blob && !EVP_DigestUpdate(h->blob, data, len)) {
		box_error_set("cannot compute a git blob id");
		return -1;
	}
	return 0;
}

/* Also the git blob id of the `size` bytes to come: SHA-1 of "blob SIZE\0", then of them. */
static int hashes_start_blob(struct hashes *h, uint64_t size)
{
	char header[32];
	int len = snprintf(header, sizeof(header), "blob %llu", (unsigned long long)size);

	h->blob = EVP_MD_CTX_new();
	if (!h->blob || !EVP_DigestInit_ex(h->blob, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(h->blob, header, (size_t)len + 1)) {
		box_error_set("cannot compute a git blob id");
		return -1;
	}
	return 0;
}

static int hashes_final_blob(struct hashes *h, unsigned char id[BAG_BLOB_ID_LEN])
{
	if (!EVP_DigestFinal_ex(h->blob, id, NULL)) {
		box_error_set("cannot compute a git blob id");
		return -1;
	}
	return 0;
}

/* Finish the digest of `alg` into md (algs[alg].len bytes). */
static int hashes_final(struct hashes *h, int alg, unsigned char *md)
{
	if (!h->ctx[alg] || !EVP_DigestFinal_ex(h->ctx[alg], md, NULL)) {
		box_error_set("cannot compute a %s digest", algs[alg].name);
		return -1;
	}
	return 0;
}

static void hashes_release(struct hashes *h)
{
	for (int i = 0; i < BAG_ALG_NR; i++) {
		EVP_MD_CTX_free(h->ctx[i]);
		h->ctx[i] = NULL;
	}
	EVP_MD_CTX_free(h->blob);
	h->blob = NULL;
	h->algs = 0;
}

static int sha256_hex(char *hex, const void *data, size_t len)
{
	unsigned char md[32];

	if (!EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL)) {
		box_error_set("cannot compute a sha256 digest");
		return -1;
	}
	hex_encode(hex, md, sizeof(md));
	return 0;
}

/* ------------------------------------------------------------------ writer */

/* How much written data to hand to writeback at a time. */
#define WRITEBACK_STEP (8u << 20)

struct tag_line {
	char *path;
	char hex[65];
};

struct bag_writer {
	struct archive *a;
	int fd;
	char *path;               /* the target */
	char *tmp;                /* the temporary file beside it, while it exists */
	char *name;               /* the bag's folder */
	int64_t time;
	int failed;
	int committed;
	int abandoned;            /* the output refuses every byte from now on */
	uint64_t written;         /* bytes of the archive written */
	uint64_t flushed;         /* ... of which handed to writeback */
	mode_t mode;              /* the file's, once committed: 0666 less the umask */
	EVP_MD_CTX *out_md;       /* their SHA-256, when asked */
	unsigned char out_sha256[32];
	locale_t utf8;            /* C.UTF-8, for libarchive's names (utf8_scope) */

	/* the file begun last */
	int open;
	int open_payload;
	struct buf cur;           /* its path, relative to data/ or to the bag */
	uint64_t cur_size, cur_done;
	EVP_MD_CTX *md;

	int tags;                 /* a tag file was added: the payload is closed */
	struct buf prev;          /* the last path of the current kind */
	int have_prev;
	struct strlist files;     /* files later paths could still try to enter */

	struct buf manifest;      /* manifest-sha256.txt */
	struct tag_line *taglines;
	size_t tag_nr, tag_alloc;
	struct buf info;          /* the caller's bag-info.txt lines */
	uint64_t oxum_bytes, oxum_files;
};

/*
 * libarchive's output: the temporary file, until the writer is abandoned.
 * Abandoning refuses every byte: closing the archive, the one way to have
 * libarchive 3.6 free its output buffers, then writes nothing.
 */
static la_ssize_t output(struct archive *a, void *data, const void *buf, size_t len)
{
	struct bag_writer *w = data;
	const char *p = buf;
	size_t left = len;

	if (w->abandoned) {
		archive_set_error(a, ECANCELED, "abandoned");
		return -1;
	}
	if (w->out_md && !EVP_DigestUpdate(w->out_md, buf, len)) {
		archive_set_error(a, ENOMEM, "cannot compute a sha256 digest");
		return -1;
	}
	while (left) {
		ssize_t n = write(w->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			archive_set_error(a, errno, "%s", strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	w->written += len;
	/*
	 * Have the kernel start writing back what is written, a few MiB at
	 * a time, without waiting: the fsync before the rename then finds
	 * little left to do. Only a hint: an error here is fsync's to report.
	 */
	if (w->written - w->flushed >= WRITEBACK_STEP) {
		sync_file_range(w->fd, (off_t)w->flushed, (off_t)(w->written - w->flushed),
				SYNC_FILE_RANGE_WRITE);
		w->flushed = w->written;
	}
	return (la_ssize_t)len;
}

static int writer_fail(struct bag_writer *w)
{
	w->failed = 1;
	return -1;
}

static int archive_failed(struct bag_writer *w, const char *what)
{
	int err = archive_errno(w->a);

	if (err > 0 && err != EINVAL && err != EILSEQ)
		box_error_set("cannot write '%s': %s: %s", w->path, what, strerror(err));
	else
		box_error_set("cannot write '%s': %s: %s", w->path, what,
			      archive_error_string(w->a) ? archive_error_string(w->a) : "libarchive failed");
	return writer_fail(w);
}

static int write_header(struct bag_writer *w, const char *member, int dir, uint64_t size, int exec)
{
	struct archive_entry *e = archive_entry_new2(w->a);
	struct utf8_scope scope;
	int r;

	if (!e) {
		box_error_set("cannot write '%s': out of memory", w->path);
		return writer_fail(w);
	}
	archive_entry_copy_pathname(e, member);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir || exec ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : (la_int64_t)size);
	archive_entry_set_mtime(e, (time_t)w->time, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_copy_uname(e, "");
	archive_entry_copy_gname(e, "");
	utf8_use(&scope, w->utf8);
	r = archive_write_header(w->a, e);
	utf8_leave(&scope);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return archive_failed(w, member);
	return 0;
}

static int write_data(struct bag_writer *w, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		la_ssize_t n = archive_write_data(w->a, p, len);

		if (n <= 0)
			return archive_failed(w, w->cur.len ? w->cur.ptr : "data");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Member name of a path relative to data/ (payload) or to the bag. */
static void member_name(struct buf *out, const struct bag_writer *w, const char *path, int payload)
{
	buf_reset(out);
	buf_addf(out, "%s/%s%s", w->name, payload ? "data/" : "", path);
}

static int check_name(const char *member, const char *path)
{
	struct bag_limits lim = BAG_LIMITS_INIT;
	enum name_flaw f = name_flaw(path, lim.max_path, lim.max_depth);

	if (f == NAME_OK)
		f = name_flaw(member, lim.max_path, lim.max_depth);
	if (f != NAME_OK) {
		struct buf q = BUF_INIT;

		box_error_set("cannot put '%s' in a bag: the name %s",
			      shown(&q, path), name_flaw_text(f));
		buf_release(&q);
		return -1;
	}
	return 0;
}

static int check_writer_name(struct bag_writer *w, const char *member, const char *path)
{
	return check_name(member, path) < 0 ? writer_fail(w) : 0;
}

int bag_payload_path_check(const char *name, const char *path)
{
	struct buf member = BUF_INIT;
	int ret;

	buf_addf(&member, "%s/data/%s", name, path);
	ret = check_name(member.ptr, path);
	buf_release(&member);
	return ret;
}

static void add_tag_line(struct bag_writer *w, const char *path, const char *hex)
{
	if (w->tag_nr == w->tag_alloc) {
		w->tag_alloc = w->tag_alloc ? 2 * w->tag_alloc : 16;
		w->taglines = xrealloc(w->taglines, w->tag_alloc * sizeof(*w->taglines));
	}
	w->taglines[w->tag_nr].path = xstrdup(path);
	memcpy(w->taglines[w->tag_nr].hex, hex, 65);
	w->tag_nr++;
}

static void add_manifest_line(struct buf *out, const char *hex, const char *path)
{
	buf_adds(out, hex);
	buf_adds(out, "  ");
	add_encoded_path(out, path);
	buf_addch(out, '\n');
}

/* A whole small member the writer makes itself, recorded in the tag manifest. */
static int write_small(struct bag_writer *w, const char *path, const char *data, size_t len)
{
	struct buf member = BUF_INIT;
	char hex[65];
	int ret = -1;

	member_name(&member, w, path, 0);
	if (write_header(w, member.ptr, 0, len, 0) < 0 || write_data(w, data, len) < 0)
		goto out;
	if (sha256_hex(hex, data, len) < 0) {
		writer_fail(w);
		goto out;
	}
	add_tag_line(w, path, hex);
	ret = 0;
out:
	buf_release(&member);
	return ret;
}

/* Close the file begun last: it must have all its bytes. */
static int finish_file(struct bag_writer *w, unsigned char *sha256)
{
	unsigned char md[32];
	char hex[65];

	if (!w->open)
		return 0;
	w->open = 0;
	if (w->cur_done != w->cur_size) {
		struct buf q = BUF_INIT;

		box_error_set("'%s' ended after %llu of its %llu bytes",
			      shown(&q, w->cur.ptr),
			      (unsigned long long)w->cur_done, (unsigned long long)w->cur_size);
		buf_release(&q);
		return writer_fail(w);
	}
	if (!EVP_DigestFinal_ex(w->md, md, NULL)) {
		box_error_set("cannot compute a sha256 digest");
		return writer_fail(w);
	}
	if (sha256)
		memcpy(sha256, md, sizeof(md));
	hex_encode(hex, md, sizeof(md));
	if (w->open_payload) {
		struct buf path = BUF_INIT;

		buf_addf(&path, "data/%s", w->cur.ptr);
		add_manifest_line(&w->manifest, hex, path.ptr);
		buf_release(&path);
		w->oxum_bytes += w->cur_size;
		w->oxum_files++;
	} else {
		add_tag_line(w, w->cur.ptr, hex);
	}
	return 0;
}

static int is_reserved_tag(const char *path)
{
	if (!strcmp(path, "data") || starts_with(path, "data/"))
		return 1;
	if (strchr(path, '/'))
		return 0;
	return !strcmp(path, "bagit.txt") || !strcmp(path, "bag-info.txt") ||
		!strcmp(path, "fetch.txt") ||
		(starts_with(path, "manifest-") && ends_with(path, ".txt")) ||
		(starts_with(path, "tagmanifest-") && ends_with(path, ".txt"));
}

/*
 * Check the order and shape of a new path, then write the folders it
 * needs that the previous path did not (paths in byte order keep every
 * folder's members together, so each folder is written once).
 */
static int begin_path(struct bag_writer *w, const char *path, int payload)
{
	struct buf q = BUF_INIT, q2 = BUF_INIT, folder = BUF_INIT, member = BUF_INIT;
	int ret = -1;

	if (w->have_prev && strcmp(w->prev.ptr, path) >= 0) {
		box_error_set("'%s' comes after '%s': %s files must be added in byte order of their paths",
			      shown(&q, path), shown(&q2, w->prev.ptr), payload ? "payload" : "tag");
		writer_fail(w);
		goto out;
	}
	/* A file stays a possible folder clash while later paths start with its name. */
	while (w->files.nr) {
		const char *f = w->files.items[w->files.nr - 1];
		size_t n = strlen(f);

		if (!strncmp(path, f, n) && path[n] < '/')
			break;
		if (!strncmp(path, f, n) && path[n] == '/') {
			box_error_set("'%s' would be inside '%s', which is a file",
				      shown(&q, path), shown(&q2, f));
			writer_fail(w);
			goto out;
		}
		free(w->files.items[--w->files.nr]);
	}
	for (const char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		buf_reset(&folder);
		buf_add(&folder, path, (size_t)(slash - path + 1));
		if (w->have_prev && starts_with(w->prev.ptr, folder.ptr))
			continue;
		member_name(&member, w, folder.ptr, payload);
		if (write_header(w, member.ptr, 1, 0, 0) < 0)
			goto out;
	}
	buf_reset(&w->prev);
	buf_adds(&w->prev, path);
	w->have_prev = 1;
	strlist_add(&w->files, path);
	ret = 0;
out:
	buf_release(&q);
	buf_release(&q2);
	buf_release(&folder);
	buf_release(&member);
	return ret;
}

static int add_file(struct bag_writer *w, const char *path, uint64_t size, int exec, int payload)
{
	struct buf member = BUF_INIT, q = BUF_INIT;
	int ret = -1;

	if (w->failed || w->committed) {
		box_error_set("the bag writer for '%s' cannot take more files", w->path);
		return -1;
	}
	if (finish_file(w, NULL) < 0)
		return -1;
	if (payload && w->tags) {
		box_error_set("payload file '%s' added after tag files", shown(&q, path));
		writer_fail(w);
		goto out;
	}
	if (!payload && !w->tags) {
		w->tags = 1;
		w->have_prev = 0;
		strlist_release(&w->files);
	}
	if (!payload && is_reserved_tag(path)) {
		box_error_set("tag file '%s' is a name the bag writer owns", shown(&q, path));
		writer_fail(w);
		goto out;
	}
	member_name(&member, w, path, payload);
	if (check_writer_name(w, member.ptr, path) < 0 || begin_path(w, path, payload) < 0)
		goto out;
	if (write_header(w, member.ptr, 0, size, exec) < 0)
		goto out;
	if (!EVP_DigestInit_ex(w->md, EVP_sha256(), NULL)) {
		box_error_set("cannot start a sha256 digest");
		writer_fail(w);
		goto out;
	}
	buf_reset(&w->cur);
	buf_adds(&w->cur, path);
	w->cur_size = size;
	w->cur_done = 0;
	w->open = 1;
	w->open_payload = payload;
	ret = 0;
out:
	buf_release(&member);
	buf_release(&q);
	return ret;
}

int bag_writer_add_payload(struct bag_writer *w, const char *path, uint64_t size, int executable)
{
	return add_file(w, path, size, executable, 1);
}

int bag_writer_add_tag(struct bag_writer *w, const char *path, uint64_t size)
{
	return add_file(w, path, size, 0, 0);
}

int bag_writer_end_file(struct bag_writer *w, unsigned char sha256[32])
{
	if (w->failed || w->committed || !w->open) {
		box_error_set("the bag writer for '%s' has no file to end", w->path);
		return w->failed ? -1 : writer_fail(w);
	}
	return finish_file(w, sha256);
}

int bag_writer_write(struct bag_writer *w, const void *data, size_t len)
{
	if (w->failed || w->committed || !w->open) {
		box_error_set("the bag writer for '%s' has no file to write to", w->path);
		return w->failed ? -1 : writer_fail(w);
	}
	if (len > w->cur_size - w->cur_done) {
		struct buf q = BUF_INIT;

		box_error_set("'%s' is longer than the %llu bytes announced",
			      shown(&q, w->cur.ptr), (unsigned long long)w->cur_size);
		buf_release(&q);
		return writer_fail(w);
	}
	if (!EVP_DigestUpdate(w->md, data, len)) {
		box_error_set("cannot compute a sha256 digest");
		return writer_fail(w);
	}
	w->cur_done += len;
	return write_data(w, data, len);
}

static int valid_info_text(const char *s, int label)
{
	size_t n = strlen(s);

	if (!n || !utf8_valid(s, n))
		return 0;
	if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f || (label && *p == ':'))
			return 0;
	return 1;
}

int bag_writer_add_info(struct bag_writer *w, const char *label, const char *value)
{
	struct buf q = BUF_INIT;

	if (w->failed || w->committed) {
		box_error_set("the bag writer for '%s' cannot take more fields", w->path);
		return -1;
	}
	if (!valid_info_text(label, 1)) {
		box_error_set("'%s' is not a bag-info.txt label", shown(&q, label));
		goto fail;
	}
	if (!strcasecmp(label, "Payload-Oxum") || !strcasecmp(label, "Bagging-Date")) {
		box_error_set("bag-info.txt's '%s' is written by the bag writer", label);
		goto fail;
	}
	if (!valid_info_text(value, 0)) {
		box_error_set("the value of '%s' is not one line of UTF-8 text", label);
		goto fail;
	}
	buf_addf(&w->info, "%s: %s\n", label, value);
	buf_release(&q);
	return 0;
fail:
	buf_release(&q);
	return writer_fail(w);
}

int bag_writer_open(struct bag_writer **out, const char *path, const struct bag_writer_opts *opts)
{
	struct bag_writer *w;
	struct buf member = BUF_INIT;
	int r = ARCHIVE_OK;
	mode_t mask;

	*out = NULL;
	if (!opts->name || strchr(opts->name, '/') || opts->name[0] == '.' ||
	    name_flaw(opts->name, 255, 1) != NAME_OK || strpbrk(opts->name, "\t\n\r")) {
		struct buf q = BUF_INIT;

		box_error_set("'%s' cannot name a bag's folder", shown(&q, opts->name ? opts->name : ""));
		buf_release(&q);
		return -1;
	}
	if (opts->time < 0) {
		box_error_set("a bag's time cannot be before 1970");
		return -1;
	}

	w = xcalloc(1, sizeof(*w));
	w->fd = -1;
	/*
	 * The archive gets the mode open(2) would give a new file, as git
	 * archive -o and tar do; only the temporary file is private. The
	 * umask cannot be read without being set: set it back at once.
	 */
	mask = umask(0077);
	umask(mask);
	w->mode = 0666 & ~mask;
	w->path = xstrdup(path);
	w->name = xstrdup(opts->name);
	w->time = opts->time;
	w->md = EVP_MD_CTX_new();
	w->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (opts->digest) {
		w->out_md = EVP_MD_CTX_new();
		if (!w->out_md || !EVP_DigestInit_ex(w->out_md, EVP_sha256(), NULL)) {
			box_error_set("cannot start a sha256 digest");
			goto fail;
		}
	}
	w->tmp = xstrfmt("%s.tmpXXXXXX", path);
	w->fd = mkostemp(w->tmp, O_CLOEXEC);
	if (w->fd < 0) {
		box_error_set("cannot create a temporary file beside '%s': %s", path, strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		goto fail;
	}
	w->a = archive_write_new();
	if (!w->a || !w->md) {
		box_error_set("cannot write '%s': out of memory", path);
		goto fail;
	}
	/*
	 * pax, restricted: plain ustar headers, plus a pax header only for
	 * the members that need one (a name over ustar's limits or not in
	 * ASCII, a size of 8 GiB or more). The last block is not padded
	 * (bytes_in_last_block 1), so the block size changes only how the
	 * bytes are handed to write(), never which: large blocks, few calls.
	 */
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(w->a, 1 << 20) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK)
		goto archive_fail;
	switch (opts->compression) {
	case BAG_COMPRESS_NONE:
		break;
	case BAG_COMPRESS_GZIP:
		/* A time in the gzip header would make two exports differ. */
		r = archive_write_add_filter_gzip(w->a);
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(w->a, "gzip", "timestamp", NULL);
		break;
	case BAG_COMPRESS_ZSTD:
		r = archive_write_add_filter_zstd(w->a);
		break;
	}
	if (r != ARCHIVE_OK) {
		/* ARCHIVE_WARN means an external program: never run one. */
		box_error_set("cannot compress '%s' with libarchive's built-in %s support", path,
			      opts->compression == BAG_COMPRESS_GZIP ? "gzip" : "zstd");
		goto fail;
	}
	if (archive_write_open2(w->a, w, NULL, output, NULL, NULL) != ARCHIVE_OK)
		goto archive_fail;

	buf_addf(&member, "%s/", w->name);
	if (write_header(w, member.ptr, 1, 0, 0) < 0 ||
	    write_small(w, "bagit.txt", bag_txt, strlen(bag_txt)) < 0)
		goto fail;
	member_name(&member, w, "", 1);
	if (write_header(w, member.ptr, 1, 0, 0) < 0)
		goto fail;
	buf_release(&member);
	*out = w;
	return 0;

archive_fail:
	archive_failed(w, "setting up the archive");
fail:
	buf_release(&member);
	bag_writer_free(w);
	return -1;
}

static int compare_tag_lines(const void *a, const void *b)
{
	return strcmp(((const struct tag_line *)a)->path, ((const struct tag_line *)b)->path);
}

int bag_writer_commit(struct bag_writer *w)
{
	struct buf text = BUF_INIT;
	struct tm tm;
	time_t t = (time_t)w->time;
	int ret = -1;

	if (w->failed || w->committed) {
		box_error_set("the bag writer for '%s' cannot commit", w->path);
		return -1;
	}
	if (finish_file(w, NULL) < 0)
		return -1;

	if (!gmtime_r(&t, &tm)) {
		box_error_set("cannot turn %lld into a date", (long long)w->time);
		writer_fail(w);
		goto out;
	}
	buf_addf(&text, "Bagging-Date: %04d-%02d-%02d\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	buf_add(&text, w->info.ptr, w->info.len);
	buf_addf(&text, "Payload-Oxum: %llu.%llu\n",
		 (unsigned long long)w->oxum_bytes, (unsigned long long)w->oxum_files);
	if (write_small(w, "bag-info.txt", text.ptr, text.len) < 0 ||
	    write_small(w, "manifest-sha256.txt", w->manifest.ptr ? w->manifest.ptr : "", w->manifest.len) < 0)
		goto out;

	qsort(w->taglines, w->tag_nr, sizeof(*w->taglines), compare_tag_lines);
	buf_reset(&text);
	for (size_t i = 0; i < w->tag_nr; i++)
		add_manifest_line(&text, w->taglines[i].hex, w->taglines[i].path);
	if (write_small(w, "tagmanifest-sha256.txt", text.ptr, text.len) < 0)
		goto out;

	if (archive_write_close(w->a) != ARCHIVE_OK) {
		archive_failed(w, "finishing the archive");
		goto out;
	}
	if (w->out_md && !EVP_DigestFinal_ex(w->out_md, w->out_sha256, NULL)) {
		box_error_set("cannot compute a sha256 digest");
		writer_fail(w);
		goto out;
	}
	if (fsync(w->fd) < 0 || fchmod(w->fd, w->mode) < 0) {
		box_error_set("cannot write '%s': %s", w->tmp, strerror(errno));
		writer_fail(w);
		goto out;
	}
	if (close(w->fd) < 0) {
		w->fd = -1;
		box_error_set("cannot write '%s': %s", w->tmp, strerror(errno));
		writer_fail(w);
		goto out;
	}
	w->fd = -1;
	if (rename(w->tmp, w->path) < 0) {
		box_error_set("cannot rename '%s' to '%s': %s", w->tmp, w->path, strerror(errno));
		writer_fail(w);
		goto out;
	}
	free(w->tmp);
	w->tmp = NULL;
	w->committed = 1;
	ret = 0;
out:
	buf_release(&text);
	return ret;
}

void bag_writer_digest(const struct bag_writer *w, uint64_t *bytes, unsigned char sha256[32])
{
	*bytes = w->written;
	memcpy(sha256, w->out_sha256, 32);
}

void bag_writer_free(struct bag_writer *w)
{
	if (!w)
		return;
	if (w->a) {
		if (!w->committed) {
			/*
			 * Marked failed first, closing skips the padding of the
			 * unfinished member (which a compressor would otherwise
			 * squeeze through, zero by zero, however large it was
			 * announced) but still frees the output buffers.
			 */
			w->abandoned = 1;
			archive_write_fail(w->a);
			archive_write_close(w->a);
		}
		archive_write_free(w->a);
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp) {
		unlink(w->tmp);
		free(w->tmp);
	}
	EVP_MD_CTX_free(w->md);
	EVP_MD_CTX_free(w->out_md);
	if (w->utf8)
		freelocale(w->utf8);
	for (size_t i = 0; i < w->tag_nr; i++)
		free(w->taglines[i].path);
	free(w->taglines);
	buf_release(&w->cur);
	buf_release(&w->prev);
	strlist_release(&w->files);
	buf_release(&w->manifest);
	buf_release(&w->info);
	free(w->path);
	free(w->name);
	free(w);
}

/* ----------------------------------------------------------------- checker */

enum member_kind {
	M_FILE,
	M_DIR,       /* a folder with its own member */
	M_IMPLIED,   /* a folder known only from the names of what is in it */
};

struct member {
	char *name;                /* relative to the bag's folder, no final '/'; "" is the folder */
	uint64_t size;
	unsigned char kind;
	unsigned char exec;
	unsigned short have;       /* digests computed */
	unsigned short need;       /* digests the second pass must compute */
	unsigned short listed;     /* algorithms of the manifests that list it */
	uint64_t hash;             /* of its name, in the table */
	unsigned char sha256[32];
	unsigned char blob_id[BAG_BLOB_ID_LEN];   /* a payload file's, with opts.blob_ids */
	unsigned char *more;       /* the other digests in `have`, in enum order */
};

/*
 * The members by name: open addressing, linear probing. The names come
 * from the archive, so the hash is keyed: with a hash anyone can compute
 * (FNV-1a, as it was), a forger picks names that all fall in one slot,
 * and every lookup walks them all (60,000 such names in a 700 KiB
 * bundle: seconds instead of a fraction of one). SipHash under a key
 * drawn afresh for each check keeps the slots apart whatever the names.
 */
struct table {
	struct member **slots;
	size_t nr, alloc;
	EVP_MAC_CTX *mac;
	unsigned char key[16];
	int failed;                /* SipHash failed once: the table is no longer to be trusted */
};

static int table_init(struct table *t)
{
	EVP_MAC *siphash = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
	size_t size = 8;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_END };

	memset(t, 0, sizeof(*t));
	t->mac = siphash ? EVP_MAC_CTX_new(siphash) : NULL;
	EVP_MAC_free(siphash);
	if (!t->mac || RAND_bytes(t->key, sizeof(t->key)) != 1 ||
	    !EVP_MAC_init(t->mac, t->key, sizeof(t->key), params)) {
		box_error_set("cannot key the member table: OpenSSL gives no SipHash or no random bytes");
		return -1;
	}
	return 0;
}

static uint64_t hash_name(struct table *t, const char *name)
{
	unsigned char md[8];
	size_t len = 0;
	uint64_t h;

	if (!EVP_MAC_init(t->mac, t->key, sizeof(t->key), NULL) ||
	    !EVP_MAC_update(t->mac, (const unsigned char *)name, strlen(name)) ||
	    !EVP_MAC_final(t->mac, md, &len, sizeof(md)) || len != sizeof(md)) {
		t->failed = 1;
		return 0;
	}
	memcpy(&h, md, sizeof(h));
	return h;
}

/* The member called `name`, whose hash_name() is `hash`, or NULL. */
static struct member *table_find(const struct table *t, const char *name, uint64_t hash)
{
	if (!t->alloc)
		return NULL;
	for (size_t i = hash & (t->alloc - 1);; i = (i + 1) & (t->alloc - 1)) {
		if (!t->slots[i])
			return NULL;
		if (t->slots[i]->hash == hash && !strcmp(t->slots[i]->name, name))
			return t->slots[i];
	}
}

static struct member *table_get(struct table *t, const char *name)
{
	return table_find(t, name, hash_name(t, name));
}

static void table_insert(struct member **slots, size_t alloc, struct member *m)
{
	for (size_t i = m->hash & (alloc - 1);; i = (i + 1) & (alloc - 1))
		if (!slots[i]) {
			slots[i] = m;
			return;
		}
}

/* Add `m`, whose hash is set and whose name is not in the table yet. */
static void table_put(struct table *t, struct member *m)
{
	if (2 * (t->nr + 1) > t->alloc) {
		size_t alloc = t->alloc ? 2 * t->alloc : 64;
		struct member **slots = xcalloc(alloc, sizeof(*slots));

		for (size_t i = 0; i < t->alloc; i++)
			if (t->slots[i])
				table_insert(slots, alloc, t->slots[i]);
		free(t->slots);
		t->slots = slots;
		t->alloc = alloc;
	}
	table_insert(t->slots, t->alloc, m);
	t->nr++;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->alloc; i++)
		if (t->slots[i]) {
			free(t->slots[i]->name);
			free(t->slots[i]->more);
			free(t->slots[i]);
		}
	free(t->slots);
	EVP_MAC_CTX_free(t->mac);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	memset(t, 0, sizeof(*t));
}

static size_t digest_offset(unsigned have, int alg)
{
	size_t off = 0;

	for (int i = 0; i < alg; i++)
		if (i != BAG_SHA256 && (have & BAG_ALG_BIT(i)))
			off += algs[i].len;
	return off;
}

static const unsigned char *member_digest(const struct member *m, int alg)
{
	if (!(m->have & BAG_ALG_BIT(alg)))
		return NULL;
	if (alg == BAG_SHA256)
		return m->sha256;
	return m->more + digest_offset(m->have, alg);
}

/* Finish the digests of `h` into m, beside those it has. */
static int member_set_digests(struct member *m, struct hashes *h)
{
	unsigned have = m->have | h->algs;
	size_t size = digest_offset(have, BAG_ALG_NR);
	unsigned char *more = size ? xcalloc(1, size) : NULL;

	for (int i = 0; i < BAG_ALG_NR; i++) {
		unsigned char *dst = i == BAG_SHA256 ? m->sha256 : more + digest_offset(have, i);

		if (h->algs & BAG_ALG_BIT(i)) {
			if (hashes_final(h, i, dst) < 0) {
				free(more);
				return -1;
			}
		} else if (i != BAG_SHA256 && (m->have & BAG_ALG_BIT(i))) {
			memcpy(dst, member_digest(m, i), algs[i].len);
		}
	}
	free(m->more);
	m->more = more;
	m->have = (unsigned short)have;
	return 0;
}

/* The tag files the checker reads whole, at the top of the bag. */
enum held_kind {
	HELD_NONE,
	HELD_BAGIT,
	HELD_INFO,
	HELD_FETCH,
	HELD_MANIFEST,
	HELD_TAGMANIFEST,
};

struct held {
	struct member *m;
	enum held_kind kind;
	int alg;
	struct buf content;
};

struct checker {
	struct bag_report *r;
	const struct bag_check_opts *opts;
	const struct bag_limits *lim;
	const char *archive;          /* for messages */
	int fd;
	off_t start;
	struct archive *raw;          /* the file, decompressed into one stream */
	struct archive *a;            /* the tar reader, reading that stream */
	int compressed;
	int raw_eof;                  /* the stream has no more bytes */
	uint64_t file_bytes;          /* bytes read from fd */
	unsigned char file_end[4];    /* the last four of them */
	uint64_t fed;                 /* bytes of the stream handed to the tar reader */
	size_t block_len[2];          /* the last two blocks handed to it */
	unsigned block_cur;           /* which of them is the last */

	struct table members;
	struct member **files;        /* file members in tar order, for a second pass */
	size_t files_nr, files_alloc;
	uint64_t count, bytes;        /* table entries and content bytes so far */
	uint64_t names;               /* bytes of the table's names */
	unsigned algs;                /* digests to compute from now on */
	unsigned manifests, tagmanifests;   /* known algorithms present */

	struct held *held;
	size_t held_nr, held_alloc;

	char *top;
	int stop;                     /* unsafe or over a limit: read no further */
	int error;                    /* could not check: return -1 */
	size_t dropped;               /* problems beyond MAX_PROBLEMS */
	int v097;                     /* BagIt 0.97 rather than 1.0 */
	struct buf quotes[4];
	unsigned next_quote;
	char in[CHUNK];               /* read from fd */
	char block[2][CHUNK];         /* the stream, for the tar reader */
	char chunk[CHUNK];
};

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct checker *c, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (c->r->problems.nr >= MAX_PROBLEMS) {
		c->dropped++;
		return;
	}
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strlist_add_nodup(&c->r->problems, buf_detach(&b));
}

static void warning(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct checker *c, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (c->r->warnings.nr >= MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	strlist_add_nodup(&c->r->warnings, buf_detach(&b));
}

/* A name made safe to show; a few rotating buffers, so that one message can quote several. */
static const char *q(struct checker *c, const char *s)
{
	return shown(&c->quotes[c->next_quote++ % ARRAY_SIZE(c->quotes)], s);
}

static void refuse(struct checker *c, const char *name, const char *why)
{
	problem(c, "refusing member '%s': it %s", q(c, name), why);
	c->stop = 1;
}

static int archive_io_error(int err)
{
	return err == EIO || err == EISDIR || err == EBADF || err == ENOMEM || err == ENXIO;
}

/* Reading `a` (c->raw or c->a) failed: an error, or a problem of the archive. */
static void read_failed_in(struct checker *c, struct archive *a, const char *what)
{
	int err = archive_errno(a);
	const char *msg = archive_error_string(a) ? archive_error_string(a) : "unknown error";

	if (archive_io_error(err)) {
		box_error_set("cannot read '%s': %s", c->archive, strerror(err));
		c->error = 1;
	} else {
		problem(c, "'%s' is not a readable tar%s%s: %s", c->archive, *what ? " at " : "", what, msg);
	}
	c->stop = 1;
}

static void read_failed(struct checker *c, const char *what)
{
	read_failed_in(c, c->a, what);
}

static int over_ratio(struct checker *c)
{
	la_int64_t out, in;

	if (!c->compressed)
		return 0;
	out = archive_filter_bytes(c->raw, 0);
	in = archive_filter_bytes(c->raw, -1);
	if (out <= BAG_RATIO_FLOOR || in <= 0 || (uint64_t)out / (uint64_t)in < c->lim->max_ratio)
		return 0;
	problem(c, "refusing '%s': it expands more than %llu times (compression ratio limit)",
		c->archive, (unsigned long long)c->lim->max_ratio);
	c->stop = 1;
	return 1;
}

/* libarchive's input: the archive's file, read from the descriptor. */
static la_ssize_t read_file(struct archive *a, void *data, const void **buf)
{
	struct checker *c = data;
	ssize_t n;

	do
		n = read(c->fd, c->in, sizeof(c->in));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	if ((size_t)n >= sizeof(c->file_end)) {
		memcpy(c->file_end, c->in + n - sizeof(c->file_end), sizeof(c->file_end));
	} else if (n) {
		memmove(c->file_end, c->file_end + n, sizeof(c->file_end) - (size_t)n);
		memcpy(c->file_end + sizeof(c->file_end) - n, c->in, (size_t)n);
	}
	c->file_bytes += (uint64_t)n;
	*buf = c->in;
	return n;
}

/*
 * The tar reader's input: the decompressed stream, in blocks that are
 * full but for the last. The last two are kept: when the tar reader
 * meets the end of the archive, what it was handed and did not use is
 * in them (it reads ahead a block of 512 bytes at most there).
 */
static la_ssize_t read_stream(struct archive *a, void *data, const void **buf)
{
	struct checker *c = data;
	char *block;
	size_t len = 0;

	c->block_cur ^= 1;
	block = c->block[c->block_cur];
	while (len < CHUNK && !c->raw_eof) {
		la_ssize_t n = archive_read_data(c->raw, block + len, CHUNK - len);

		if (n < 0) {
			archive_set_error(a, archive_errno(c->raw), "%s", archive_error_string(c->raw) ?
					  archive_error_string(c->raw) : "cannot decompress");
			return -1;
		}
		if (!n)
			c->raw_eof = 1;
		len += (size_t)n;
	}
	c->block_len[c->block_cur] = len;
	c->fed += len;
	*buf = block;
	return (la_ssize_t)len;
}

/* Returns 0, or -1 with c->stop set (and c->error when it is not the archive's fault). */
static int open_archive(struct checker *c)
{
	struct archive_entry *e;
	int r;

	c->raw_eof = 0;
	c->file_bytes = c->fed = 0;
	c->block_len[0] = c->block_len[1] = 0;
	c->raw = archive_read_new();
	c->a = archive_read_new();
	if (!c->raw || !c->a) {
		box_error_set("cannot read '%s': out of memory", c->archive);
		c->error = c->stop = 1;
		return -1;
	}
	/*
	 * Two readers, each with only what it needs: libarchive's built-in
	 * gzip and zstd decompressors make the file one stream (never an
	 * external program, which libarchive would fall back to, saying
	 * ARCHIVE_WARN, were a library missing), and its tar reader, no
	 * other format, reads the stream. Between the two, the checker sees
	 * what follows the tar's end.
	 */
	if (archive_read_support_filter_gzip(c->raw) != ARCHIVE_OK ||
	    archive_read_support_filter_zstd(c->raw) != ARCHIVE_OK ||
	    archive_read_support_format_raw(c->raw) != ARCHIVE_OK ||
	    archive_read_support_format_empty(c->raw) != ARCHIVE_OK ||
	    archive_read_support_format_tar(c->a) != ARCHIVE_OK) {
		box_error_set("cannot read '%s': libarchive lacks built-in tar, gzip or zstd support",
			      c->archive);
		c->error = c->stop = 1;
		return -1;
	}
	if (archive_read_open(c->raw, c, NULL, read_file, NULL) != ARCHIVE_OK) {
		read_failed_in(c, c->raw, "");
		return -1;
	}
	r = archive_read_next_header(c->raw, &e);
	if (r == ARCHIVE_EOF) {
		c->raw_eof = 1;
	} else if (r != ARCHIVE_OK) {
		read_failed_in(c, c->raw, "");
		return -1;
	}
	c->compressed = archive_filter_count(c->raw) > 1;
	if (archive_read_open(c->a, c, NULL, read_stream, NULL) != ARCHIVE_OK) {
		read_failed(c, "");
		return -1;
	}
	return 0;
}

static void close_archive(struct checker *c)
{
	if (c->a)
		archive_read_free(c->a);
	if (c->raw)
		archive_read_free(c->raw);
	c->a = c->raw = NULL;
}

/* Zero bytes a tar may hold after its end: the padding of its last record, tar -b 2048's at most. */
#define TAIL_MAX (1u << 20)

/*
 * More of what follows the tar's end, `len` bytes at `p`, of which
 * `*tail` came before: zeros, and no more than TAIL_MAX of them. 0, or
 * -1 with the archive refused.
 */
static int check_tail(struct checker *c, const char *p, size_t len, uint64_t end, uint64_t *tail)
{
	for (size_t i = 0; i < len; i++)
		if (p[i]) {
			problem(c, "refusing '%s': something follows the end of its tar, at byte %llu: "
				"a second archive, or bytes that are not zero padding",
				c->archive, (unsigned long long)(end + *tail + i));
			c->stop = 1;
			return -1;
		}
	*tail += len;
	if (*tail > TAIL_MAX) {
		problem(c, "refusing '%s': more than %u bytes follow the end of its tar "
			"(only zero padding may, a record of at most %u bytes)", c->archive, TAIL_MAX, TAIL_MAX);
		c->stop = 1;
		return -1;
	}
	return 0;
}

static int more_in_file(struct checker *c)
{
	char byte;
	ssize_t n;

	do
		n = read(c->fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		box_error_set("cannot read '%s': %s", c->archive, strerror(errno));
		c->error = c->stop = 1;
	}
	return n > 0;
}

/*
 * What follows the tar's end-of-archive blocks must be zero padding. A
 * second tar appended there, or anything else, is what another reader
 * (tar -i, or one that does not stop at the first end) would take for
 * members this check never saw. Then a compressed file must end where
 * its compressed stream does, and a gzip stream be one member, whose
 * trailer gives the length of the whole: libarchive reads on into a
 * second member, as gzip -d does, and past trailing bytes, silently.
 */
static void check_end(struct checker *c)
{
	uint64_t end = (uint64_t)archive_filter_bytes(c->a, 0), tail = 0, left;
	size_t last = c->block_len[c->block_cur], before = c->block_len[!c->block_cur];
	la_int64_t used;

	if (end > c->fed || c->fed - end > last + before) {
		box_error_set("cannot check the end of '%s': the tar reader stopped outside what it was given",
			      c->archive);
		c->error = c->stop = 1;
		return;
	}
	/* What the tar reader was handed and did not use, then the rest of the stream. */
	left = c->fed - end;
	if (left > last && check_tail(c, c->block[!c->block_cur] + before - (left - last), left - last, end, &tail))
		return;
	if (left > last)
		left = last;
	if (check_tail(c, c->block[c->block_cur] + last - left, left, end, &tail))
		return;
	while (!c->raw_eof) {
		la_ssize_t n = archive_read_data(c->raw, c->chunk, sizeof(c->chunk));

		if (n < 0) {
			read_failed_in(c, c->raw, "its end");
			return;
		}
		if (!n)
			c->raw_eof = 1;
		if (check_tail(c, c->chunk, (size_t)n, end, &tail) || over_ratio(c))
			return;
	}

	if (!c->compressed)
		return;
	used = archive_filter_bytes(c->raw, -1);
	if (used < 0 || (uint64_t)used < c->file_bytes || more_in_file(c)) {
		if (!c->error)
			problem(c, "refusing '%s': something follows the end of its %s stream",
				c->archive, archive_filter_name(c->raw, 0));
		c->stop = 1;
		return;
	}
	if (archive_filter_code(c->raw, 0) == ARCHIVE_FILTER_GZIP) {
		uint32_t said = (uint32_t)c->file_end[0] | (uint32_t)c->file_end[1] << 8 |
				(uint32_t)c->file_end[2] << 16 | (uint32_t)c->file_end[3] << 24;
		uint64_t total = (uint64_t)archive_filter_bytes(c->raw, 0);

		if (said != (uint32_t)total) {
			problem(c, "refusing '%s': its last gzip trailer gives %lu bytes, the stream has %llu: "
				"more than one gzip member, or a damaged one", c->archive,
				(unsigned long)said, (unsigned long long)total);
			c->stop = 1;
		}
	}
}

static enum held_kind held_kind(const char *rel, int *alg)
{
	const char *p;

	*alg = -1;
	if (strchr(rel, '/'))
		return HELD_NONE;
	if (!strcmp(rel, "bagit.txt"))
		return HELD_BAGIT;
	if (!strcmp(rel, "bag-info.txt"))
		return HELD_INFO;
	if (!strcmp(rel, "fetch.txt"))
		return HELD_FETCH;
	if (!ends_with(rel, ".txt"))
		return HELD_NONE;
	if (starts_with(rel, "manifest-"))
		p = rel + strlen("manifest-");
	else if (starts_with(rel, "tagmanifest-"))
		p = rel + strlen("tagmanifest-");
	else
		return HELD_NONE;
	*alg = alg_by_name(p, strlen(p) - strlen(".txt"));
	if (*alg < 0)
		return HELD_NONE;
	return rel[0] == 'm' ? HELD_MANIFEST : HELD_TAGMANIFEST;
}

/*
 * A new entry of the table: a member, or a folder a member's name implies,
 * whose name hashes to `hash`. Both count against the member and name
 * limits, which bound memory.
 */
static struct member *new_member(struct checker *c, const char *name, uint64_t hash, enum member_kind kind)
{
	struct member *m;

	c->names += strlen(name) + 1;
	if (++c->count > c->lim->max_members || c->names > c->lim->max_names) {
		if (c->count > c->lim->max_members)
			problem(c, "refusing '%s': more than %llu members and folders (member limit)",
				c->archive, (unsigned long long)c->lim->max_members);
		else
			problem(c, "refusing '%s': its names take more than %llu bytes (name limit)",
				c->archive, (unsigned long long)c->lim->max_names);
		c->stop = 1;
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	m->kind = (unsigned char)kind;
	m->hash = hash;
	table_put(&c->members, m);
	return m;
}

/*
 * The folders above a member: those already in the table, and those its
 * name now implies. A folder is entered only with every folder above it,
 * so the search goes from the member's own folder up and stops at the
 * first one found: each name is hashed about once, however deep it is.
 */
static int enter_folders(struct checker *c, const char *rel, const char *display)
{
	size_t nr = 1, found;
	size_t *ends;
	uint64_t *hashes;
	struct buf folder = BUF_INIT;
	struct member *m = NULL;
	int ret = -1;

	for (const char *p = rel; *p; p++)
		nr += *p == '/';
	/* ends[i]: the length of the i-th folder's name, the bag's own ("") first */
	ends = xcalloc(nr, sizeof(*ends));
	hashes = xcalloc(nr, sizeof(*hashes));
	for (size_t i = 1, k = 0; rel[k]; k++)
		if (rel[k] == '/')
			ends[i++] = k;
	for (found = nr; found > 0; found--) {
		buf_reset(&folder);
		buf_add(&folder, rel, ends[found - 1]);
		hashes[found - 1] = hash_name(&c->members, folder.ptr);
		m = table_find(&c->members, folder.ptr, hashes[found - 1]);
		if (m)
			break;
	}
	if (m && m->kind == M_FILE) {
		refuse(c, display, "would be inside a file");
		goto out;
	}
	for (size_t i = found; i < nr; i++) {
		buf_reset(&folder);
		buf_add(&folder, rel, ends[i]);
		if (!new_member(c, folder.ptr, hashes[i], M_IMPLIED))
			goto out;
	}
	ret = 0;
out:
	buf_release(&folder);
	free(ends);
	free(hashes);
	return ret;
}

/*
 * Enter a member in the table, with the folders above it. A name seen
 * twice, a file where a folder is or a folder where a file is: refused.
 */
static struct member *enter_member(struct checker *c, const char *rel, const char *display, int dir)
{
	struct member *m;
	uint64_t hash;

	if (*rel && enter_folders(c, rel, display) < 0)
		return NULL;
	hash = hash_name(&c->members, rel);
	m = table_find(&c->members, rel, hash);
	if (m) {
		if (m->kind == M_IMPLIED && dir) {
			m->kind = M_DIR;
			return m;
		}
		refuse(c, display, m->kind == M_IMPLIED ? "is a file where a folder is" : "appears twice");
		return NULL;
	}
	return new_member(c, rel, hash, dir ? M_DIR : M_FILE);
}

/*
 * Check a member's header: name, type and size. Returns the bag-relative
 * member, or NULL (refused, or a folder that needs nothing more).
 */
static struct member *take_header(struct checker *c, struct archive_entry *e)
{
	const char *raw = archive_entry_pathname(e);
	struct buf name = BUF_INIT;
	struct member *m = NULL;
	mode_t type = archive_entry_filetype(e);
	int dir = type == AE_IFDIR;
	enum name_flaw f;
	const char *rel;
	size_t top_len;

	if (!raw) {
		problem(c, "refusing '%s': a member's name cannot be read", c->archive);
		c->stop = 1;
		return NULL;
	}
	/* "./bag/..." is "bag/...", as 'tar -cf x.tar ./bag' writes it; folders end in '/'. */
	buf_adds(&name, raw);
	if (starts_with(name.ptr, "./") && name.len > 2) {
		memmove(name.ptr, name.ptr + 2, name.len - 1);
		name.len -= 2;
	}
	if (name.len > 1 && name.ptr[name.len - 1] == '/') {
		if (!dir) {
			refuse(c, raw, "is a file whose name ends in '/'");
			goto out;
		}
		name.ptr[--name.len] = '\0';
	}
	if (!strcmp(name.ptr, ".") || !strcmp(name.ptr, "./")) {
		refuse(c, raw, "is the archive's root folder: a bag's tar holds the bag's folder, as 'tar -cf bag.tar bag/' makes");
		goto out;
	}
	f = name_flaw(name.ptr, c->lim->max_path, c->lim->max_depth);
	if (f != NAME_OK) {
		refuse(c, raw, name_flaw_text(f));
		goto out;
	}
	if (archive_entry_hardlink(e)) {
		refuse(c, raw, "is a hard link");
		goto out;
	}
	switch (type) {
	case AE_IFREG:
	case AE_IFDIR:
		break;
	case AE_IFLNK:
		refuse(c, raw, "is a symbolic link");
		goto out;
	case AE_IFCHR:
	case AE_IFBLK:
		refuse(c, raw, "is a device");
		goto out;
	case AE_IFIFO:
		refuse(c, raw, "is a FIFO");
		goto out;
	case AE_IFSOCK:
		refuse(c, raw, "is a socket");
		goto out;
	default:
		refuse(c, raw, "is of an unknown type");
		goto out;
	}
	if (archive_entry_sparse_count(e) > 0) {
		refuse(c, raw, "is a sparse file");
		goto out;
	}

	/* One folder holds the bag (RFC 8493, 4: a serialized bag unpacks to one folder). */
	top_len = strcspn(name.ptr, "/");
	if (!c->top) {
		if (!name.ptr[top_len] && !dir) {
			refuse(c, raw, "is at the archive's root: a bag's tar holds one folder");
			goto out;
		}
		c->top = xstrndup(name.ptr, top_len);
		c->r->name = xstrdup(c->top);
	}
	if (top_len != strlen(c->top) || memcmp(name.ptr, c->top, top_len)) {
		struct buf why = BUF_INIT;

		buf_addf(&why, "is outside the bag's folder '%s/'", q(c, c->top));
		refuse(c, raw, why.ptr);
		buf_release(&why);
		goto out;
	}
	rel = name.ptr[top_len] ? name.ptr + top_len + 1 : "";
	if (!*rel && !dir) {
		refuse(c, raw, "is a file where the bag's folder is");
		goto out;
	}

	if (!dir) {
		la_int64_t size = archive_entry_size(e);

		if (!archive_entry_size_is_set(e) || size < 0) {
			refuse(c, raw, "has no size");
			goto out;
		}
		if ((uint64_t)size > c->lim->max_bytes - c->bytes) {
			problem(c, "refusing '%s': its content is over %llu bytes (size limit)",
				c->archive, (unsigned long long)c->lim->max_bytes);
			c->stop = 1;
			goto out;
		}
	}
	m = enter_member(c, rel, raw, dir);
	if (m && !dir) {
		m->size = (uint64_t)archive_entry_size(e);
		m->exec = (archive_entry_perm(e) & 0111) != 0;
	}
	if (dir)
		m = NULL;
out:
	buf_release(&name);
	return m;
}

static struct held *hold(struct checker *c, struct member *m, enum held_kind kind, int alg)
{
	struct held *h;

	if (c->held_nr == c->held_alloc) {
		c->held_alloc = c->held_alloc ? 2 * c->held_alloc : 8;
		c->held = xrealloc(c->held, c->held_alloc * sizeof(*c->held));
	}
	h = &c->held[c->held_nr++];
	h->m = m;
	h->kind = kind;
	h->alg = alg;
	h->content = (struct buf)BUF_INIT;
	return h;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read a file member's content once: hash it with `algs`, and copy it to
 * the buffers and descriptor given. Watches the size and ratio limits.
 */
static int read_content(struct checker *c, struct member *m, struct hashes *h,
			struct buf *keep1, struct buf *keep2, int out_fd, uint64_t *streamed)
{
	uint64_t got = 0;

	for (;;) {
		la_ssize_t n = archive_read_data(c->a, c->chunk, sizeof(c->chunk));

		if (n == 0)
			break;
		if (n < 0) {
			read_failed(c, q(c, m->name));
			return -1;
		}
		got += (uint64_t)n;
		c->bytes += (uint64_t)n;
		if (got > m->size || c->bytes > c->lim->max_bytes) {
			problem(c, "refusing '%s': member '%s' is longer than its header says",
				c->archive, q(c, m->name));
			c->stop = 1;
			return -1;
		}
		if (hashes_update(h, c->chunk, (size_t)n) < 0) {
			c->error = c->stop = 1;
			return -1;
		}
		if (keep1)
			buf_add(keep1, c->chunk, (size_t)n);
		if (keep2)
			buf_add(keep2, c->chunk, (size_t)n);
		if (out_fd >= 0) {
			if (write_all(out_fd, c->chunk, (size_t)n) < 0) {
				box_error_set("cannot copy '%s' out of '%s': %s", m->name, c->archive, strerror(errno));
				c->error = c->stop = 1;
				return -1;
			}
			*streamed += (uint64_t)n;
		}
		if (over_ratio(c))
			return -1;
	}
	if (got != m->size) {
		problem(c, "'%s' is truncated at member '%s'", c->archive, q(c, m->name));
		c->stop = 1;
		return -1;
	}
	return 0;
}

static void add_file_order(struct checker *c, struct member *m)
{
	if (c->files_nr == c->files_alloc) {
		c->files_alloc = c->files_alloc ? 2 * c->files_alloc : 64;
		c->files = xrealloc(c->files, c->files_alloc * sizeof(*c->files));
	}
	c->files[c->files_nr++] = m;
}

static int kept_index(const struct checker *c, const char *rel)
{
	for (size_t i = 0; i < c->r->kept_nr; i++)
		if (!strcmp(c->r->kept[i].path, rel))
			return (int)i;
	return -1;
}

/* The first pass: every header checked, every file hashed as it streams by. */
static void first_pass(struct checker *c)
{
	struct archive_entry *e;

	while (!c->stop) {
		struct member *m;
		struct hashes h = { 0 };
		struct held *held = NULL;
		enum held_kind kind;
		int alg, r, k, stream;
		uint64_t streamed = 0;

		r = archive_read_next_header(c->a, &e);
		if (r == ARCHIVE_EOF) {
			check_end(c);
			break;
		}
		if (r != ARCHIVE_OK) {
			read_failed(c, c->count ? "a member's header" : "its start");
			break;
		}
		if (over_ratio(c))
			break;
		m = take_header(c, e);
		if (!m)
			continue;
		add_file_order(c, m);

		kind = held_kind(m->name, &alg);
		if (kind == HELD_MANIFEST || kind == HELD_TAGMANIFEST) {
			c->algs |= BAG_ALG_BIT(alg);
			if (kind == HELD_MANIFEST)
				c->manifests |= BAG_ALG_BIT(alg);
			else
				c->tagmanifests |= BAG_ALG_BIT(alg);
		}
		k = starts_with(m->name, "data/") ? -1 : kept_index(c, m->name);
		stream = c->opts->stream && !strcmp(m->name, c->opts->stream);
		if ((kind != HELD_NONE || k >= 0) && m->size > c->lim->max_tag_size) {
			problem(c, "refusing '%s': tag file '%s' is over %llu bytes (tag file limit)",
				c->archive, q(c, m->name), (unsigned long long)c->lim->max_tag_size);
			c->stop = 1;
			break;
		}
		if (kind != HELD_NONE)
			held = hold(c, m, kind, alg);
		if (k >= 0)
			c->r->kept[k].found = 1;

		if (hashes_start(&h, c->algs | BAG_ALG_BIT(BAG_SHA256)) < 0 ||
		    (c->opts->blob_ids && starts_with(m->name, "data/") && hashes_start_blob(&h, m->size) < 0)) {
			c->error = c->stop = 1;
			hashes_release(&h);
			break;
		}
		if (read_content(c, m, &h, held ? &held->content : NULL,
				 k >= 0 ? &c->r->kept[k].content : NULL,
				 stream ? c->opts->stream_fd : -1, &streamed) < 0 ||
		    (h.blob && hashes_final_blob(&h, m->blob_id) < 0) ||
		    member_set_digests(m, &h) < 0) {
			if (!c->stop)
				c->error = c->stop = 1;
			hashes_release(&h);
			break;
		}
		hashes_release(&h);
		if (stream) {
			c->r->streamed = 1;
			c->r->stream_size = streamed;
			memcpy(c->r->stream_sha256, m->sha256, 32);
		}
	}
}

/*
 * A manifest in another algorithm than SHA-256 that came after files it
 * may list: read the archive again for just those digests. The content
 * must be what the first pass saw (same sizes, same SHA-256).
 */
static void second_pass(struct checker *c)
{
	struct archive_entry *e;
	size_t idx = 0, todo = 0;

	for (size_t i = 0; i < c->files_nr; i++) {
		struct member *m = c->files[i];
		unsigned want = starts_with(m->name, "data/") ? c->manifests : c->tagmanifests;

		m->need = (unsigned short)(want & ~m->have);
		todo += m->need != 0;
	}
	if (!todo)
		return;
	c->r->passes = 2;
	if (lseek(c->fd, c->start, SEEK_SET) == (off_t)-1) {
		problem(c, "'%s' lists checksums after the files they cover, and cannot be read twice: %s",
			c->archive, strerror(errno));
		return;
	}
	close_archive(c);
	if (open_archive(c))
		return;
	c->bytes = 0;
	while (!c->stop) {
		struct member *m;
		struct hashes h = { 0 };
		unsigned char sha256[32];
		uint64_t ignored = 0;
		int r = archive_read_next_header(c->a, &e);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			read_failed(c, "a member's header");
			return;
		}
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			continue;
		if (idx >= c->files_nr)
			break;
		m = c->files[idx++];
		if (!m->need)
			continue;
		if (archive_entry_size(e) != (la_int64_t)m->size ||
		    hashes_start(&h, m->need | BAG_ALG_BIT(BAG_SHA256)) < 0 ||
		    read_content(c, m, &h, NULL, NULL, -1, &ignored) < 0 ||
		    hashes_final(&h, BAG_SHA256, sha256) < 0 || memcmp(sha256, m->sha256, 32)) {
			hashes_release(&h);
			if (!c->error)
				problem(c, "'%s' changed while it was read (at '%s')", c->archive, q(c, m->name));
			c->stop = 1;
			return;
		}
		h.algs &= ~BAG_ALG_BIT(BAG_SHA256);
		EVP_MD_CTX_free(h.ctx[BAG_SHA256]);
		h.ctx[BAG_SHA256] = NULL;
		if (member_set_digests(m, &h) < 0) {
			c->error = c->stop = 1;
			hashes_release(&h);
			return;
		}
		hashes_release(&h);
	}
	if (idx != c->files_nr && !c->stop)
		problem(c, "'%s' changed while it was read", c->archive);
}

static struct held *find_held(struct checker *c, enum held_kind kind, int alg)
{
	for (size_t i = 0; i < c->held_nr; i++)
		if (c->held[i].kind == kind && (alg < 0 || c->held[i].alg == alg))
			return &c->held[i];
	return NULL;
}

/*
 * Split text into lines ending in LF, CR or CRLF, NUL-terminating each in
 * place; the last line may lack its end. Returns the number of lines.
 */
static size_t split_lines(struct buf *text, char ***out)
{
	char **lines = NULL;
	size_t nr = 0, alloc = 0;
	char *p = text->ptr, *end = text->ptr + text->len;

	while (p && p < end) {
		char *eol = p;

		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		if (nr == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			lines = xrealloc(lines, alloc * sizeof(*lines));
		}
		lines[nr++] = p;
		if (eol < end && *eol == '\r' && eol + 1 < end && eol[1] == '\n')
			*eol++ = '\0';
		if (eol < end)
			*eol++ = '\0';
		p = eol;
	}
	*out = lines;
	return nr;
}

static int blank(const char *s)
{
	return !s[strspn(s, " \t")];
}

/* bagit.txt: exactly two lines, in order, "Label: value" (RFC 8493, 2.1.1). */
static int check_bagit_txt(struct checker *c)
{
	struct held *h = find_held(c, HELD_BAGIT, -1);
	char **lines = NULL;
	const char *version, *encoding;
	size_t nr, dot;
	int ret = -1;

	if (!c->top) {
		problem(c, "'%s' holds no bag: it is an empty archive", c->archive);
		return -1;
	}
	if (!h) {
		problem(c, "no bagit.txt in '%s/': not a bag", q(c, c->top));
		return -1;
	}
	if (starts_with(h->content.ptr ? h->content.ptr : "", "\xef\xbb\xbf")) {
		problem(c, "bagit.txt starts with a byte order mark");
		return -1;
	}
	nr = split_lines(&h->content, &lines);
	if (nr != 2) {
		problem(c, "bagit.txt has %zu lines, not the two 'BagIt-Version' and 'Tag-File-Character-Encoding'", nr);
		goto out;
	}
	if (!starts_with(lines[0], "BagIt-Version: ") || !starts_with(lines[1], "Tag-File-Character-Encoding: ")) {
		problem(c, "bagit.txt does not read 'BagIt-Version: M.N' then 'Tag-File-Character-Encoding: ENCODING'");
		goto out;
	}
	version = lines[0] + strlen("BagIt-Version: ");
	encoding = lines[1] + strlen("Tag-File-Character-Encoding: ");
	dot = strspn(version, "0123456789");
	if (!dot || version[dot] != '.' || !version[dot + 1] ||
	    strspn(version + dot + 1, "0123456789") != strlen(version + dot + 1)) {
		problem(c, "bagit.txt's BagIt-Version '%s' is not M.N", q(c, version));
		goto out;
	}
	c->r->version = xstrdup(version);
	if (!strcmp(version, "0.97")) {
		c->v097 = 1;
	} else if (strcmp(version, "1.0")) {
		problem(c, "BagIt version '%s' is not supported (git box reads 1.0 and 0.97)", q(c, version));
		goto out;
	}
	if (strcasecmp(encoding, "UTF-8")) {
		problem(c, "tag file encoding '%s' is not supported (git box reads UTF-8)", q(c, encoding));
		goto out;
	}
	ret = 0;
out:
	free(lines);
	return ret;
}

static void add_info(struct bag_report *r, const char *label, size_t len, const char *value)
{
	r->info = xrealloc(r->info, (r->info_nr + 1) * sizeof(*r->info));
	r->info[r->info_nr].label = xstrndup(label, len);
	r->info[r->info_nr].value = xstrdup(value);
	r->info_nr++;
}

static int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* bag-info.txt: "Label: value" lines, continued by indented lines (RFC 8493, 2.2.2). */
static void check_bag_info(struct checker *c, uint64_t bytes, uint64_t files)
{
	struct held *h = find_held(c, HELD_INFO, -1);
	char **lines = NULL;
	size_t nr, oxum = 0;
	const char *oxum_value = NULL;

	if (!h)
		return;
	if (!utf8_valid(h->content.ptr ? h->content.ptr : "", h->content.len) ||
	    memchr(h->content.ptr ? h->content.ptr : "", '\0', h->content.len)) {
		problem(c, "bag-info.txt is not UTF-8 text");
		return;
	}
	nr = split_lines(&h->content, &lines);
	for (size_t i = 0; i < nr; i++) {
		const char *line = lines[i], *colon, *value;
		size_t len;

		if (blank(line))
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			struct bag_info_field *last;
			char *joined;

			if (!c->r->info_nr) {
				problem(c, "bag-info.txt line %zu continues no field", i + 1);
				continue;
			}
			last = &c->r->info[c->r->info_nr - 1];
			joined = xstrfmt("%s %s", last->value, line + strspn(line, " \t"));
			free(last->value);
			last->value = joined;
			continue;
		}
		colon = strchr(line, ':');
		if (!colon) {
			problem(c, "bag-info.txt line %zu is not 'Label: value'", i + 1);
			continue;
		}
		len = (size_t)(colon - line);
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (!len) {
			problem(c, "bag-info.txt line %zu has no label", i + 1);
			continue;
		}
		value = colon + 1 + strspn(colon + 1, " \t");
		add_info(c->r, line, len, value);
	}
	free(lines);

	for (size_t i = 0; i < c->r->info_nr; i++)
		if (!strcasecmp(c->r->info[i].label, "Payload-Oxum")) {
			oxum++;
			oxum_value = c->r->info[i].value;
		}
	if (oxum > 1) {
		problem(c, "bag-info.txt gives Payload-Oxum %zu times", oxum);
	} else if (oxum_value) {
		const char *dot = strchr(oxum_value, '.');
		uint64_t want_bytes, want_files;

		if (!dot || parse_u64(oxum_value, (size_t)(dot - oxum_value), &want_bytes) ||
		    parse_u64(dot + 1, strlen(dot + 1), &want_files))
			problem(c, "Payload-Oxum '%s' is not OCTETS.FILES", q(c, oxum_value));
		else if (want_bytes != bytes || want_files != files)
			problem(c, "Payload-Oxum says %llu bytes in %llu files, the payload has %llu bytes in %llu files",
				(unsigned long long)want_bytes, (unsigned long long)want_files,
				(unsigned long long)bytes, (unsigned long long)files);
	}
}

struct entry {
	char *path;
	unsigned char md[64];
	size_t line;
};

static int compare_entries(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int cmp = strcmp(x->path, y->path);

	if (cmp)
		return cmp;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Check a path named by a manifest or fetch.txt: safe, and in data/ for a
 * payload manifest and fetch.txt, outside it for a tag manifest.
 */
static int check_listed_path(struct checker *c, const char *file, size_t line, const char *path, int payload)
{
	enum name_flaw f = name_flaw(path, c->lim->max_path, c->lim->max_depth);

	if (f != NAME_OK) {
		problem(c, "%s line %zu: the path '%s' %s", file, line, q(c, path), name_flaw_text(f));
		return -1;
	}
	if (payload && !starts_with(path, "data/")) {
		problem(c, "%s line %zu: '%s' is not in data/", file, line, q(c, path));
		return -1;
	}
	if (!payload && starts_with(path, "data/")) {
		problem(c, "%s line %zu: '%s' is a payload file, not a tag file", file, line, q(c, path));
		return -1;
	}
	return 0;
}

/* Check one manifest or tag manifest against the members (RFC 8493, 2.1.3, 2.2.1, 3). */
static void check_manifest(struct checker *c, struct held *h)
{
	int payload = h->kind == HELD_MANIFEST;
	const char *file = h->m->name;
	size_t mdlen = algs[h->alg].len, nr, entry_nr = 0, stars = 0, dotslash = 0;
	struct entry *entries;
	char **lines = NULL;

	nr = split_lines(&h->content, &lines);
	entries = xcalloc(nr ? nr : 1, sizeof(*entries));
	for (size_t i = 0; i < nr; i++) {
		char *line = lines[i], *path;
		size_t hexlen;

		if (blank(line))
			continue;
		hexlen = strcspn(line, " \t");
		path = line + hexlen + strspn(line + hexlen, " \t");
		if (hex_decode(entries[entry_nr].md, line, hexlen, mdlen) < 0 || path == line + hexlen || !*path) {
			problem(c, "%s line %zu is not '%s-CHECKSUM PATH'", file, i + 1, algs[h->alg].name);
			continue;
		}
		if (*path == '*') {
			path++;
			stars++;
		}
		if (starts_with(path, "./")) {
			path += 2;
			dotslash++;
		}
		decode_path(path);
		if (check_listed_path(c, file, i + 1, path, payload) < 0)
			continue;
		entries[entry_nr].path = path;
		entries[entry_nr].line = i + 1;
		entry_nr++;
	}
	if (stars)
		warning(c, "%s: %zu paths start with md5sum's binary-mode '*', read without it", file, stars);
	if (dotslash)
		warning(c, "%s: %zu paths start with './', read without it", file, dotslash);

	qsort(entries, entry_nr, sizeof(*entries), compare_entries);
	for (size_t i = 0; i < entry_nr; i++) {
		struct entry *en = &entries[i];
		const unsigned char *md;
		struct member *m;

		if (i && !strcmp(en->path, entries[i - 1].path)) {
			if (memcmp(en->md, entries[i - 1].md, mdlen))
				problem(c, "%s lists '%s' twice, with different checksums", file, q(c, en->path));
			else if (c->v097)
				warning(c, "%s lists '%s' twice", file, q(c, en->path));
			else
				problem(c, "%s lists '%s' twice", file, q(c, en->path));
			continue;
		}
		m = table_get(&c->members, en->path);
		if (!m || m->kind != M_FILE) {
			problem(c, "'%s' is listed in %s but %s", q(c, en->path), file,
				m ? "is a folder" : "is not in the bag");
			continue;
		}
		m->listed |= (unsigned short)BAG_ALG_BIT(h->alg);
		md = member_digest(m, h->alg);
		if (!md) {
			problem(c, "'%s' could not be hashed with %s", q(c, en->path), algs[h->alg].name);
			continue;
		}
		if (memcmp(md, en->md, mdlen))
			problem(c, "'%s' does not match %s", q(c, en->path), file);
	}
	free(entries);
	free(lines);
}

/* fetch.txt: "URL LENGTH PATH" lines. Reported, never followed (RFC 8493, 2.2.3). */
static void check_fetch(struct checker *c)
{
	struct held *h = find_held(c, HELD_FETCH, -1);
	char **lines = NULL;
	size_t nr, listed = 0;

	if (!h)
		return;
	c->r->has_fetch = 1;
	nr = split_lines(&h->content, &lines);
	for (size_t i = 0; i < nr; i++) {
		char *line = lines[i], *url_end, *length, *path;
		size_t len;
		struct member *m;

		if (blank(line))
			continue;
		url_end = line + strcspn(line, " \t");
		length = url_end + strspn(url_end, " \t");
		len = strcspn(length, " \t");
		path = length + len + strspn(length + len, " \t");
		if (url_end == line || length == url_end || !len || path == length + len || !*path ||
		    (strspn(length, "0123456789") != len && !(len == 1 && *length == '-'))) {
			problem(c, "fetch.txt line %zu is not 'URL LENGTH PATH'", i + 1);
			continue;
		}
		*url_end = '\0';
		decode_path(path);
		if (check_listed_path(c, "fetch.txt", i + 1, path, 1) < 0)
			continue;
		listed++;
		m = table_get(&c->members, path);
		if (!m || m->kind != M_FILE)
			problem(c, "'%s' is missing: fetch.txt names '%s' for it, and git box never fetches",
				q(c, path), q(c, line));
	}
	warning(c, "fetch.txt names %zu files to fetch: git box never fetches, it checks only what the archive holds",
		listed);
	free(lines);
}

static int compare_payload(const void *a, const void *b)
{
	return strcmp(((const struct bag_payload_file *)a)->path, ((const struct bag_payload_file *)b)->path);
}

/* Everything the bag says, against everything the archive holds. */
static void check_bag(struct checker *c)
{
	struct member *data;
	uint64_t bytes = 0, files = 0;
	unsigned payload_algs = 0, tag_algs = 0;

	data = table_get(&c->members, "data");
	if (!data || data->kind == M_FILE)
		problem(c, "no data/ folder in '%s/'", q(c, c->top));

	for (size_t i = 0; i < c->files_nr; i++)
		if (starts_with(c->files[i]->name, "data/")) {
			bytes += c->files[i]->size;
			files++;
		}
	check_bag_info(c, bytes, files);
	check_fetch(c);

	for (size_t i = 0; i < c->held_nr; i++)
		if (c->held[i].kind == HELD_MANIFEST) {
			check_manifest(c, &c->held[i]);
			payload_algs |= BAG_ALG_BIT(c->held[i].alg);
		}
	for (size_t i = 0; i < c->held_nr; i++)
		if (c->held[i].kind == HELD_TAGMANIFEST) {
			check_manifest(c, &c->held[i]);
			tag_algs |= BAG_ALG_BIT(c->held[i].alg);
		}
	c->r->manifest_algs = payload_algs;
	c->r->tagmanifest_algs = tag_algs;

	/* Names like manifest-blake3.txt: an algorithm git box cannot check. */
	for (size_t i = 0; i < c->files_nr; i++) {
		const char *n = c->files[i]->name;
		int alg;

		if (!strchr(n, '/') && (starts_with(n, "manifest-") || starts_with(n, "tagmanifest-")) &&
		    ends_with(n, ".txt") && held_kind(n, &alg) == HELD_NONE)
			warning(c, "%s is in an algorithm git box does not know; not checked", n);
	}
	if (!payload_algs) {
		problem(c, "no payload manifest (manifest-sha256.txt or another algorithm git box knows)");
		return;
	}
	if (!(payload_algs & STRONG_ALGS))
		warning(c, "the payload's checksums are %s only, which does not resist deliberate tampering",
			payload_algs & BAG_ALG_BIT(BAG_SHA1) ? "sha1" : "md5");

	for (size_t i = 0; i < c->files_nr; i++) {
		struct member *m = c->files[i];

		if (starts_with(m->name, "data/")) {
			for (int a = 0; a < BAG_ALG_NR; a++)
				if ((payload_algs & BAG_ALG_BIT(a)) && !(m->listed & BAG_ALG_BIT(a)))
					problem(c, "'%s' is in the bag but not in manifest-%s.txt", q(c, m->name), algs[a].name);
		} else if (!m->listed && !starts_with(m->name, "tagmanifest-")) {
			if (tag_algs)
				warning(c, "tag file '%s' is not listed in any tag manifest", q(c, m->name));
		}
	}
	if (!tag_algs)
		warning(c, "no tag manifest: the tag files are not checked");

	c->r->payload = xcalloc(files ? files : 1, sizeof(*c->r->payload));
	for (size_t i = 0; i < c->files_nr; i++) {
		struct member *m = c->files[i];
		struct bag_payload_file *p;

		if (!starts_with(m->name, "data/"))
			continue;
		p = &c->r->payload[c->r->payload_nr++];
		p->path = xstrdup(m->name + strlen("data/"));
		p->size = m->size;
		p->executable = m->exec;
		memcpy(p->sha256, m->sha256, 32);
		memcpy(p->blob_id, m->blob_id, BAG_BLOB_ID_LEN);
	}
	qsort(c->r->payload, c->r->payload_nr, sizeof(*c->r->payload), compare_payload);
}

static int valid_tag_request(const char *path)
{
	return path && name_flaw(path, 4096, 64) == NAME_OK && strcmp(path, "data") && !starts_with(path, "data/");
}

int bag_check(struct bag_report *out, int fd, const char *name, const struct bag_check_opts *opts)
{
	struct checker *c;
	struct utf8_scope scope;
	int ret;

	memset(out, 0, sizeof(*out));
	out->passes = 1;
	if (opts->stream && (!valid_tag_request(opts->stream) || opts->stream_fd < 0)) {
		box_error_set("cannot stream '%s' out of a bag: not a tag file path or no descriptor",
			      opts->stream);
		return -1;
	}
	for (size_t i = 0; opts->keep && opts->keep[i]; i++)
		if (!valid_tag_request(opts->keep[i])) {
			box_error_set("cannot keep '%s' from a bag: not a tag file path", opts->keep[i]);
			return -1;
		}

	c = xcalloc(1, sizeof(*c));
	c->r = out;
	c->opts = opts;
	c->lim = &opts->limits;
	c->archive = name;
	c->fd = fd;
	c->start = lseek(fd, 0, SEEK_CUR);
	c->algs = BAG_ALG_BIT(BAG_SHA256);
	for (size_t i = 0; opts->keep && opts->keep[i]; i++)
		out->kept_nr++;
	out->kept = xcalloc(out->kept_nr ? out->kept_nr : 1, sizeof(*out->kept));
	for (size_t i = 0; i < out->kept_nr; i++) {
		out->kept[i].path = opts->keep[i];
		out->kept[i].content = (struct buf)BUF_INIT;
	}

	utf8_enter(&scope);
	if (table_init(&c->members) < 0) {
		c->error = 1;
	} else if (!open_archive(c)) {
		first_pass(c);
		if (!c->stop && !check_bagit_txt(c))
			second_pass(c);
		if (!c->stop && !out->problems.nr)
			check_bag(c);
	}
	close_archive(c);
	utf8_leave(&scope);

	if (c->members.failed && !c->error) {
		box_error_set("cannot check '%s': SipHash failed in OpenSSL", name);
		c->error = 1;
	}
	if (c->dropped)
		strlist_add_nodup(&out->problems, xstrfmt("and %zu more problems", c->dropped));
	if (c->error)
		ret = -1;
	else if (out->problems.nr) {
		box_error_set("%s", out->problems.items[0]);
		ret = 1;
	} else {
		ret = 0;
	}

	table_release(&c->members);
	for (size_t i = 0; i < c->held_nr; i++)
		buf_release(&c->held[i].content);
	free(c->held);
	free(c->files);
	free(c->top);
	for (size_t i = 0; i < ARRAY_SIZE(c->quotes); i++)
		buf_release(&c->quotes[i]);
	free(c);
	return ret;
}

void bag_report_release(struct bag_report *r)
{
	free(r->name);
	free(r->version);
	strlist_release(&r->problems);
	strlist_release(&r->warnings);
	for (size_t i = 0; i < r->info_nr; i++) {
		free(r->info[i].label);
		free(r->info[i].value);
	}
	free(r->info);
	for (size_t i = 0; i < r->payload_nr; i++)
		free(r->payload[i].path);
	free(r->payload);
	for (size_t i = 0; i < r->kept_nr; i++)
		buf_release(&r->kept[i].content);
	free(r->kept);
	memset(r, 0, sizeof(*r));
}

const char *bag_info_get(const struct bag_report *r, const char *label)
{
	for (size_t i = 0; i < r->info_nr; i++)
		if (!strcasecmp(r->info[i].label, label))
			return r->info[i].value;
	return NULL;
}

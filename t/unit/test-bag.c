/*
 * BagIt bags in a tar (bag.[ch]): the writer's bytes, its refusals and
 * its all-or-nothing file; the checker's verdict on good bags, on every
 * kind of unsafe member, on every tampering, and on the Library of
 * Congress conformance suite ($BOX_VECTORS/bagit, skipped when absent).
 *
 * Two test cases serve t7000-bag-format.sh, which cross-checks with
 * stock tar and sha256sum:
 *   CK_RUN_CASE=sample BAG_SAMPLE_DIR=DIR test-bag
 *     writes DIR/sample.tar, sample.tar.gz and sample.tar.zst;
 *   BAG_CHECK=FILE CK_RUN_CASE=external test-bag
 *     checks FILE and prints "result: valid|invalid|error", then one
 *     "problem: " or "warning: " line each.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include "unit.h"
#include "bag.h"
#include "util.h"
#include "banned.h"

#define TIME 1700000000   /* 2023-11-14 22:13:20 UTC */

static char *tmp;         /* a fresh folder per test */

static void make_tmp(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	tmp = xstrfmt("%s/test-bag.XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void remove_tmp(void)
{
	remove_tree(tmp);
	free(tmp);
	tmp = NULL;
}

/* A path in the test's folder; a few rotating buffers, so that one call can take several. */
static char *at(const char *name)
{
	static char paths[4][4096];
	static unsigned next;
	char *path = paths[next++ % 4];

	snprintf(path, sizeof(paths[0]), "%s/%s", tmp, name);
	return path;
}

/* Names in folder `dir`, sorted, joined by spaces. */
static char *list_folder(const char *dir)
{
	struct strlist names = STRLIST_INIT;
	struct buf out = BUF_INIT;
	struct dirent *de;
	DIR *d = opendir(dir);

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strlist_add(&names, de->d_name);
	closedir(d);
	for (size_t i = 0; i < names.nr; i++)
		for (size_t j = i + 1; j < names.nr; j++)
			if (strcmp(names.items[i], names.items[j]) > 0) {
				char *t = names.items[i];
				names.items[i] = names.items[j];
				names.items[j] = t;
			}
	for (size_t i = 0; i < names.nr; i++)
		buf_addf(&out, "%s%s", i ? " " : "", names.items[i]);
	strlist_release(&names);
	return buf_detach(&out);
}

static void assert_folder(const char *dir, const char *names)
{
	char *got = list_folder(dir);

	ck_assert_str_eq(got, names);
	free(got);
}

static void read_whole(struct buf *out, const char *path)
{
	buf_reset(out);
	ck_assert_int_eq(buf_read_file(out, path, 1u << 30), 0);
}

/* Deterministic bytes: the same (seed, offset) always gives the same byte. */
static unsigned char byte_at(unsigned seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)seed * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	return (unsigned char)(x >> 56);
}

static void sha256(unsigned char *md, const void *data, size_t len)
{
	ck_assert_int_eq(EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL), 1);
}

/* ------------------------------------------------------------ sample bag */

struct spec {
	const char *path;
	uint64_t size;
	int exec;
	int tag;
	unsigned seed;        /* content: byte_at(seed, i) */
};

#define LONG_NAME "output/a-result-file-whose-name-is-far-longer-than-the-hundred-bytes-that-" \
	"a-plain-ustar-header-can-hold-in-its-name-field-so-it-needs-pax.csv"

/* In byte order of path, payload first, as the writer wants them. */
static const struct spec sample[] = {
	{ "README.md", 120, 0, 0, 1 },
	{ "input/N\xc3\xba\xc3\xb1" "ez.csv", 77, 0, 0, 2 },
	{ "input/data.csv", 300000, 0, 0, 3 },
	{ "input/empty.csv", 0, 0, 0, 4 },
	{ "input/sub/patients.csv", 4096, 0, 0, 5 },
	{ LONG_NAME, 10, 0, 0, 6 },
	{ "run.sh", 33, 1, 0, 7 },
	{ "box/README.txt", 200, 0, 1, 8 },
	{ "box/manifest.json", 999, 0, 1, 9 },
	{ "box/repo.bundle", 200000, 0, 1, 10 },
	{ "box/verify.json", 50, 0, 1, 11 },
};

#define BOX_ID "0123456789abcdef0123456789abcdef01234567"

/* Stream a spec's content in uneven chunks, as a git cat-file reader would. */
static int write_content(struct bag_writer *w, const struct spec *s)
{
	unsigned char chunk[70000];
	uint64_t off = 0;
	size_t step = 1;

	while (off < s->size) {
		size_t n = step;

		if (n > s->size - off)
			n = (size_t)(s->size - off);
		for (size_t i = 0; i < n; i++)
			chunk[i] = byte_at(s->seed, off + i);
		if (bag_writer_write(w, chunk, n) < 0)
			return -1;
		off += n;
		step = step * 7 + 3;
		if (step > sizeof(chunk))
			step = sizeof(chunk);
	}
	return bag_writer_write(w, chunk, 0);
}

/*
 * Write a bag of `specs`; with `end_each`, end every file with
 * bag_writer_end_file() and check the SHA-256 it hands back.
 */
static void write_bag_ending(const char *path, const char *name, enum bag_compression how,
			     const struct spec *specs, size_t nr, int end_each)
{
	struct bag_writer_opts opts = BAG_WRITER_OPTS_INIT;
	struct bag_writer *w;

	opts.name = name;
	opts.time = TIME;
	opts.compression = how;
	ck_assert_msg(bag_writer_open(&w, path, &opts) == 0, "%s", box_error_last());
	ck_assert_int_eq(bag_writer_add_info(w, "External-Identifier", BOX_ID), 0);
	ck_assert_int_eq(bag_writer_add_info(w, "Source-Organization", "Example Trials Unit"), 0);
	for (size_t i = 0; i < nr; i++) {
		const struct spec *s = &specs[i];
		int r = s->tag ? bag_writer_add_tag(w, s->path, s->size)
			: bag_writer_add_payload(w, s->path, s->size, s->exec);

		ck_assert_msg(r == 0, "%s: %s", s->path, box_error_last());
		ck_assert_msg(write_content(w, s) == 0, "%s", box_error_last());
		if (end_each) {
			unsigned char *content = xmalloc(s->size + 1), want[32], got[32];

			for (uint64_t j = 0; j < s->size; j++)
				content[j] = byte_at(s->seed, j);
			sha256(want, content, s->size);
			free(content);
			ck_assert_msg(bag_writer_end_file(w, got) == 0, "%s", box_error_last());
			ck_assert_mem_eq(got, want, 32);
		}
	}
	ck_assert_msg(bag_writer_commit(w) == 0, "%s", box_error_last());
	bag_writer_free(w);
}

static void write_bag(const char *path, const char *name, enum bag_compression how,
		      const struct spec *specs, size_t nr)
{
	write_bag_ending(path, name, how, specs, nr, 0);
}

static void write_sample(const char *path, enum bag_compression how)
{
	write_bag(path, "sample", how, sample, ARRAY_SIZE(sample));
}

/* Check a bag in a file; the report is the caller's to release. */
static int check_file(struct bag_report *r, const char *path, const struct bag_check_opts *opts)
{
	struct bag_check_opts defaults = BAG_CHECK_OPTS_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	ck_assert_int_ge(fd, 0);
	ret = bag_check(r, fd, path, opts ? opts : &defaults);
	close(fd);
	return ret;
}

static int has_line(const struct strlist *l, const char *needle)
{
	for (size_t i = 0; i < l->nr; i++)
		if (strstr(l->items[i], needle))
			return 1;
	return 0;
}

static char *joined(const struct strlist *l)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < l->nr; i++)
		buf_addf(&b, "\n  %s", l->items[i]);
	return buf_detach(&b);
}

#define assert_valid(ret, r) do { \
	char *p_ = joined(&(r)->problems); \
	ck_assert_msg((ret) == 0 && !(r)->problems.nr, "not valid (%d):%s", (ret), p_); \
	free(p_); \
} while (0)

#define assert_problem(ret, r, needle) do { \
	char *p_ = joined(&(r)->problems); \
	ck_assert_msg((ret) == 1 && has_line(&(r)->problems, (needle)), \
		      "want a problem with \"%s\", got %d:%s", (needle), (ret), p_); \
	free(p_); \
} while (0)

/* ------------------------------------------------------- tar building kit */

/* Our own tars, for shapes the bag writer would never make. */
struct kit {
	struct archive *a;
	locale_t loc, old;
};

static void kit_open(struct kit *k, const char *path, int gnu, int gzip)
{
	k->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	k->old = uselocale(k->loc);
	k->a = archive_write_new();
	ck_assert_int_eq(gnu ? archive_write_set_format_gnutar(k->a)
			 : archive_write_set_format_pax_restricted(k->a), ARCHIVE_OK);
	if (gzip)
		ck_assert_int_eq(archive_write_add_filter_gzip(k->a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(k->a, path), ARCHIVE_OK);
}

static void kit_entry(struct kit *k, const char *name, mode_t type, const void *data, size_t len,
		      const char *link, int hard)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_copy_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
	archive_entry_set_size(e, type == AE_IFREG && !hard ? (la_int64_t)len : 0);
	archive_entry_set_mtime(e, TIME, 0);
	if (link && hard)
		archive_entry_copy_hardlink(e, link);
	else if (link)
		archive_entry_copy_symlink(e, link);
	if (type == AE_IFCHR || type == AE_IFBLK)
		archive_entry_set_rdev(e, makedev(1, 3));
	ck_assert_msg(archive_write_header(k->a, e) == ARCHIVE_OK, "%s", archive_error_string(k->a));
	if (type == AE_IFREG && len)
		ck_assert_int_eq(archive_write_data(k->a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void kit_file(struct kit *k, const char *name, const char *text)
{
	kit_entry(k, name, AE_IFREG, text, strlen(text), NULL, 0);
}

static void kit_close(struct kit *k)
{
	ck_assert_int_eq(archive_write_close(k->a), ARCHIVE_OK);
	archive_write_free(k->a);
	uselocale(k->old);
	freelocale(k->loc);
}

/* A small valid bag "bag/", written by the kit: the start of most refusal tests. */
static void kit_bag_start(struct kit *k, const char *path)
{
	kit_open(k, path, 1, 0);
	kit_file(k, "bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	kit_file(k, "bag/data/a.txt", "a\n");
	/* sha256 of "a\n" */
	kit_file(k, "bag/manifest-sha256.txt",
		 "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/a.txt\n");
}

/* A bag with one member added by `add`: what does the checker say? */
#define REFUSAL(add) do { \
	struct kit k_; \
	kit_bag_start(&k_, at("evil.tar")); \
	add; \
	kit_close(&k_); \
} while (0)

static void check_refused(const char *needle)
{
	struct bag_report r;
	int ret = check_file(&r, at("evil.tar"), NULL);

	assert_problem(ret, &r, needle);
	ck_assert_str_eq(box_error_last(), r.problems.items[0]);
	ck_assert_uint_eq(r.problems.nr, 1);
	bag_report_release(&r);
}

/*
 * Copy a tar member by member through `edit`, which may change a member's
 * content (return 1), drop it (return 0 and set *drop), or leave it.
 */
typedef void (*edit_fn)(const char *name, struct buf *content, int *drop);

static void rewrite(const char *from, const char *to, edit_fn edit,
		    const char *add_name, const char *add_text)
{
	struct archive *in = archive_read_new(), *out = archive_write_new();
	struct archive_entry *e;
	struct buf content = BUF_INIT;
	char chunk[65536];
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = uselocale(loc);

	archive_read_support_format_tar(in);
	archive_read_support_filter_all(in);
	ck_assert_int_eq(archive_read_open_filename(in, from, 65536), ARCHIVE_OK);
	archive_write_set_format_pax_restricted(out);
	ck_assert_int_eq(archive_write_open_filename(out, to), ARCHIVE_OK);
	while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
		la_ssize_t n;
		int drop = 0;

		buf_reset(&content);
		while ((n = archive_read_data(in, chunk, sizeof(chunk))) > 0)
			buf_add(&content, chunk, (size_t)n);
		if (edit)
			edit(archive_entry_pathname(e), &content, &drop);
		if (drop)
			continue;
		if (archive_entry_filetype(e) == AE_IFREG)
			archive_entry_set_size(e, (la_int64_t)content.len);
		ck_assert_int_eq(archive_write_header(out, e), ARCHIVE_OK);
		if (content.len)
			ck_assert_int_eq(archive_write_data(out, content.ptr, content.len), (la_ssize_t)content.len);
	}
	if (add_name) {
		struct archive_entry *extra = archive_entry_new();

		archive_entry_copy_pathname(extra, add_name);
		archive_entry_set_filetype(extra, AE_IFREG);
		archive_entry_set_perm(extra, 0644);
		archive_entry_set_size(extra, (la_int64_t)strlen(add_text));
		ck_assert_int_eq(archive_write_header(out, extra), ARCHIVE_OK);
		archive_write_data(out, add_text, strlen(add_text));
		archive_entry_free(extra);
	}
	archive_write_close(out);
	archive_write_free(out);
	archive_read_free(in);
	buf_release(&content);
	uselocale(old);
	freelocale(loc);
}

/* Replace the hex digest on the line of `path` in a manifest's text by the sha256 of `data`. */
static void set_manifest_line(struct buf *manifest, const char *path, const struct buf *data)
{
	unsigned char md[32];
	char hex[65];
	char *line;
	struct buf needle = BUF_INIT;

	buf_addf(&needle, "  %s\n", path);
	line = strstr(manifest->ptr, needle.ptr);
	ck_assert_ptr_nonnull(line);
	sha256(md, data->ptr ? data->ptr : "", data->len);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	memcpy(line - 64, hex, 64);
	buf_release(&needle);
}

/* ------------------------------------------------------------ writer tests */

START_TEST(test_round_trip_hands_back_every_payload_file_and_tag)
{
	static const char *const keep[] = { "box/manifest.json", "box/absent.json", NULL };
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	struct buf streamed = BUF_INIT;
	size_t payload = 0;
	int ret;

	write_sample(at("b.tar"), BAG_COMPRESS_NONE);
	opts.keep = keep;
	opts.stream = "box/repo.bundle";
	opts.stream_fd = open(at("repo.bundle"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(opts.stream_fd, 0);
	ret = check_file(&r, at("b.tar"), &opts);
	close(opts.stream_fd);
	assert_valid(ret, &r);
	ck_assert_uint_eq(r.warnings.nr, 0);
	ck_assert_str_eq(r.name, "sample");
	ck_assert_str_eq(r.version, "1.0");
	ck_assert_uint_eq(r.manifest_algs, BAG_ALG_BIT(BAG_SHA256));
	ck_assert_uint_eq(r.tagmanifest_algs, BAG_ALG_BIT(BAG_SHA256));
	ck_assert_int_eq(r.has_fetch, 0);
	ck_assert_int_eq(r.passes, 1);

	for (size_t i = 0; i < ARRAY_SIZE(sample); i++) {
		const struct spec *s = &sample[i];
		unsigned char *content = xmalloc(s->size + 1), md[32];

		for (uint64_t j = 0; j < s->size; j++)
			content[j] = byte_at(s->seed, j);
		sha256(md, content, s->size);
		if (!s->tag) {
			const struct bag_payload_file *p = &r.payload[payload++];

			ck_assert_str_eq(p->path, s->path);
			ck_assert_uint_eq(p->size, s->size);
			ck_assert_int_eq(p->executable, s->exec);
			ck_assert_mem_eq(p->sha256, md, 32);
		} else if (!strcmp(s->path, "box/manifest.json")) {
			ck_assert_int_eq(r.kept[0].found, 1);
			ck_assert_uint_eq(r.kept[0].content.len, s->size);
			ck_assert_mem_eq(r.kept[0].content.ptr, content, s->size);
		} else if (!strcmp(s->path, "box/repo.bundle")) {
			ck_assert_int_eq(r.streamed, 1);
			ck_assert_uint_eq(r.stream_size, s->size);
			ck_assert_mem_eq(r.stream_sha256, md, 32);
			read_whole(&streamed, at("repo.bundle"));
			ck_assert_uint_eq(streamed.len, s->size);
			ck_assert_mem_eq(streamed.ptr, content, s->size);
		}
		free(content);
	}
	ck_assert_uint_eq(r.payload_nr, payload);
	ck_assert_uint_eq(r.kept_nr, 2);
	ck_assert_int_eq(r.kept[1].found, 0);
	ck_assert_str_eq(bag_info_get(&r, "external-identifier"), BOX_ID);
	ck_assert_str_eq(bag_info_get(&r, "Bagging-Date"), "2023-11-14");
	ck_assert_str_eq(bag_info_get(&r, "Payload-Oxum"), "304336.7");
	ck_assert_ptr_null(bag_info_get(&r, "Bag-Size"));
	bag_report_release(&r);
	buf_release(&streamed);
}
END_TEST

START_TEST(test_gzip_and_zstd_bags_check_valid)
{
	enum bag_compression how[] = { BAG_COMPRESS_GZIP, BAG_COMPRESS_ZSTD };

	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		struct bag_report r;
		int ret;

		write_sample(at("b.tar.x"), how[i]);
		ret = check_file(&r, at("b.tar.x"), NULL);
		assert_valid(ret, &r);
		ck_assert_uint_eq(r.payload_nr, 7);
		bag_report_release(&r);
	}
}
END_TEST

START_TEST(test_two_writes_are_byte_identical)
{
	enum bag_compression how[] = { BAG_COMPRESS_NONE, BAG_COMPRESS_GZIP, BAG_COMPRESS_ZSTD };
	struct buf one = BUF_INIT, two = BUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		write_sample(at("one"), how[i]);
		sleep(i == 0);    /* a second apart: nothing may depend on the clock */
		write_sample(at("other-name.tar"), how[i]);
		read_whole(&one, at("one"));
		read_whole(&two, at("other-name.tar"));
		ck_assert_uint_eq(one.len, two.len);
		ck_assert_msg(!memcmp(one.ptr, two.ptr, one.len), "compression %zu differs", i);
	}
	buf_release(&one);
	buf_release(&two);
}
END_TEST

START_TEST(test_ending_each_file_hands_back_its_sha256_and_changes_no_byte)
{
	struct buf one = BUF_INIT, two = BUF_INIT;

	write_sample(at("one"), BAG_COMPRESS_NONE);
	write_bag_ending(at("two"), "sample", BAG_COMPRESS_NONE, sample, ARRAY_SIZE(sample), 1);
	read_whole(&one, at("one"));
	read_whole(&two, at("two"));
	ck_assert_uint_eq(one.len, two.len);
	ck_assert_msg(!memcmp(one.ptr, two.ptr, one.len), "ending files changed the bag");
	buf_release(&one);
	buf_release(&two);
}
END_TEST

START_TEST(test_compressed_bags_hold_the_plain_tar)
{
	enum bag_compression how[] = { BAG_COMPRESS_GZIP, BAG_COMPRESS_ZSTD };
	struct buf plain = BUF_INIT, inner = BUF_INIT;

	write_sample(at("plain.tar"), BAG_COMPRESS_NONE);
	read_whole(&plain, at("plain.tar"));
	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		struct archive *a = archive_read_new();
		char chunk[65536];
		la_ssize_t n;

		write_sample(at("c.tar"), how[i]);
		archive_read_support_format_raw(a);
		archive_read_support_filter_all(a);
		ck_assert_int_eq(archive_read_open_filename(a, at("c.tar"), 65536), ARCHIVE_OK);
		ck_assert_int_eq(archive_read_next_header(a, &(struct archive_entry *){ NULL }), ARCHIVE_OK);
		buf_reset(&inner);
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(&inner, chunk, (size_t)n);
		archive_read_free(a);
		ck_assert_uint_eq(inner.len, plain.len);
		ck_assert(!memcmp(inner.ptr, plain.ptr, plain.len));
	}
	buf_release(&plain);
	buf_release(&inner);
}
END_TEST

START_TEST(test_gzip_header_has_no_name_and_no_time)
{
	struct buf gz = BUF_INIT;
	const unsigned char *h;

	write_sample(at("b.tar.gz"), BAG_COMPRESS_GZIP);
	read_whole(&gz, at("b.tar.gz"));
	h = (const unsigned char *)gz.ptr;
	ck_assert_uint_eq(h[0], 0x1f);
	ck_assert_uint_eq(h[1], 0x8b);
	ck_assert_uint_eq(h[3], 0);       /* FLG: no FNAME, no FCOMMENT, no FEXTRA */
	ck_assert_uint_eq(h[4] | h[5] | h[6] | h[7], 0);   /* MTIME */
	buf_release(&gz);
}
END_TEST

/* The members as libarchive reads them back: order, types, modes, owners, times. */
START_TEST(test_members_are_in_order_with_fixed_owner_mode_and_time)
{
	static const char *const expect[] = {
		"sample/", "sample/bagit.txt", "sample/data/",
		"sample/data/README.md",
		"sample/data/input/", "sample/data/input/N\xc3\xba\xc3\xb1" "ez.csv",
		"sample/data/input/data.csv", "sample/data/input/empty.csv",
		"sample/data/input/sub/", "sample/data/input/sub/patients.csv",
		"sample/data/output/", "sample/data/" LONG_NAME,
		"sample/data/run.sh",
		"sample/box/", "sample/box/README.txt", "sample/box/manifest.json",
		"sample/box/repo.bundle", "sample/box/verify.json",
		"sample/bag-info.txt", "sample/manifest-sha256.txt", "sample/tagmanifest-sha256.txt",
	};
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct buf raw = BUF_INIT;
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = uselocale(loc);
	size_t i = 0, pax = 0;

	write_sample(at("b.tar"), BAG_COMPRESS_NONE);
	archive_read_support_format_tar(a);
	ck_assert_int_eq(archive_read_open_filename(a, at("b.tar"), 10240), ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		int dir = archive_entry_filetype(e) == AE_IFDIR;

		ck_assert_uint_lt(i, ARRAY_SIZE(expect));
		ck_assert_str_eq(name, expect[i]);
		ck_assert_int_eq(dir, name[strlen(name) - 1] == '/');
		ck_assert_int_eq(archive_entry_perm(e),
				 dir || ends_with(name, "run.sh") ? 0755 : 0644);
		ck_assert_int_eq(archive_entry_uid(e), 0);
		ck_assert_int_eq(archive_entry_gid(e), 0);
		ck_assert(!archive_entry_uname(e) || !*archive_entry_uname(e));
		ck_assert(!archive_entry_gname(e) || !*archive_entry_gname(e));
		ck_assert_int_eq(archive_entry_mtime(e), TIME);
		ck_assert_int_eq(archive_entry_mtime_nsec(e), 0);
		ck_assert(!archive_entry_atime_is_set(e));
		ck_assert(!archive_entry_ctime_is_set(e));
		ck_assert(!archive_entry_birthtime_is_set(e));
		ck_assert_int_eq(archive_entry_xattr_reset(e), 0);
		i++;
	}
	ck_assert_uint_eq(i, ARRAY_SIZE(expect));
	archive_read_free(a);
	uselocale(old);
	freelocale(loc);

	/* A pax header for the two members that need one, and none other. */
	read_whole(&raw, at("b.tar"));
	for (const char *p = raw.ptr; (p = memmem(p, raw.len - (size_t)(p - raw.ptr), "PaxHeader", 9)); p++)
		pax++;
	ck_assert_uint_eq(pax, 2);
	buf_release(&raw);
}
END_TEST

/* Read one member of a plain tar whole. */
static void member_text(struct buf *out, const char *tar, const char *name)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char chunk[65536];
	la_ssize_t n;
	int found = 0;
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = uselocale(loc);

	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	ck_assert_int_eq(archive_read_open_filename(a, tar, 10240), ARCHIVE_OK);
	buf_reset(out);
	while (!found && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		if (strcmp(archive_entry_pathname(e), name))
			continue;
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			buf_add(out, chunk, (size_t)n);
		found = 1;
	}
	archive_read_free(a);
	uselocale(old);
	freelocale(loc);
	ck_assert_msg(found, "no member '%s'", name);
	if (!out->ptr)
		buf_adds(out, "");
}

START_TEST(test_tag_files_read_as_rfc_8493_says)
{
	struct buf text = BUF_INIT, line = BUF_INIT;
	unsigned char md[32];
	char hex[65];

	write_sample(at("b.tar"), BAG_COMPRESS_NONE);
	member_text(&text, at("b.tar"), "sample/bagit.txt");
	ck_assert_str_eq(text.ptr, "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	member_text(&text, at("b.tar"), "sample/bag-info.txt");
	ck_assert_str_eq(text.ptr,
			 "Bagging-Date: 2023-11-14\n"
			 "External-Identifier: " BOX_ID "\n"
			 "Source-Organization: Example Trials Unit\n"
			 "Payload-Oxum: 304336.7\n");

	member_text(&text, at("b.tar"), "sample/manifest-sha256.txt");
	sha256(md, "", 0);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	buf_addf(&line, "%s  data/input/empty.csv\n", hex);
	ck_assert_ptr_nonnull(strstr(text.ptr, line.ptr));
	ck_assert(starts_with(strchr(text.ptr, ' '), "  data/README.md\n"));
	ck_assert_ptr_nonnull(strstr(text.ptr, "  data/run.sh\n"));

	member_text(&text, at("b.tar"), "sample/tagmanifest-sha256.txt");
	/* in byte order, the writer's own tag files among the caller's */
	ck_assert_ptr_nonnull(strstr(text.ptr, "  bag-info.txt\n"));
	ck_assert(strstr(text.ptr, "  bag-info.txt\n") < strstr(text.ptr, "  bagit.txt\n"));
	ck_assert(strstr(text.ptr, "  bagit.txt\n") < strstr(text.ptr, "  box/README.txt\n"));
	ck_assert(strstr(text.ptr, "  box/verify.json\n") < strstr(text.ptr, "  manifest-sha256.txt\n"));
	ck_assert_ptr_null(strstr(text.ptr, "tagmanifest"));
	buf_release(&text);
	buf_release(&line);
}
END_TEST

START_TEST(test_manifest_percent_encodes_cr_lf_and_percent)
{
	static const struct spec odd[] = {
		{ "100%\r\ndone\n.csv", 3, 0, 0, 1 },
		{ "plain.csv", 3, 0, 0, 2 },
		{ "box/50%.json", 3, 0, 1, 3 },
	};
	struct buf text = BUF_INIT;
	struct bag_report r;
	int ret;

	write_bag(at("b.tar"), "odd", BAG_COMPRESS_NONE, odd, ARRAY_SIZE(odd));
	member_text(&text, at("b.tar"), "odd/manifest-sha256.txt");
	ck_assert_ptr_nonnull(strstr(text.ptr, "  data/100%25%0D%0Adone%0A.csv\n"));
	member_text(&text, at("b.tar"), "odd/tagmanifest-sha256.txt");
	ck_assert_ptr_nonnull(strstr(text.ptr, "  box/50%25.json\n"));

	ret = check_file(&r, at("b.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_str_eq(r.payload[0].path, "100%\r\ndone\n.csv");
	bag_report_release(&r);
	buf_release(&text);
}
END_TEST

START_TEST(test_an_empty_payload_is_still_a_bag)
{
	struct bag_report r;
	int ret;

	write_bag(at("b.tar"), "empty", BAG_COMPRESS_NONE, NULL, 0);
	ret = check_file(&r, at("b.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_uint_eq(r.payload_nr, 0);
	ck_assert_str_eq(bag_info_get(&r, "Payload-Oxum"), "0.0");
	bag_report_release(&r);
}
END_TEST

/* Open a writer on at("b.tar") for the refusal tests. */
static struct bag_writer *writer(void)
{
	struct bag_writer_opts opts = BAG_WRITER_OPTS_INIT;
	struct bag_writer *w;

	opts.name = "bag";
	opts.time = TIME;
	ck_assert_int_eq(bag_writer_open(&w, at("b.tar"), &opts), 0);
	return w;
}

/* After a refusal the writer takes nothing more, and freeing it leaves no file. */
static void assert_writer_refused(struct bag_writer *w, int ret, const char *needle)
{
	ck_assert_int_eq(ret, -1);
	ck_assert_msg(strstr(box_error_last(), needle), "want \"%s\" in \"%s\"", needle, box_error_last());
	ck_assert_int_eq(bag_writer_add_payload(w, "zzz", 0, 0), -1);
	ck_assert_int_eq(bag_writer_commit(w), -1);
	bag_writer_free(w);
	assert_folder(tmp, "");
}

START_TEST(test_writer_refuses_payload_out_of_byte_order)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "b.csv", 0, 0), 0);
	assert_writer_refused(w, bag_writer_add_payload(w, "a.csv", 0, 0), "must be added in byte order");
}
END_TEST

START_TEST(test_writer_refuses_a_path_twice)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 0, 0), 0);
	assert_writer_refused(w, bag_writer_add_payload(w, "a.csv", 0, 0), "byte order");
}
END_TEST

START_TEST(test_writer_refuses_a_file_used_as_a_folder)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "a", 0, 0), 0);
	ck_assert_int_eq(bag_writer_add_payload(w, "a-b", 0, 0), 0);
	assert_writer_refused(w, bag_writer_add_payload(w, "a/c", 0, 0), "inside 'a', which is a file");
}
END_TEST

START_TEST(test_writer_refuses_payload_after_tags)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_tag(w, "box/x", 0), 0);
	assert_writer_refused(w, bag_writer_add_payload(w, "z.csv", 0, 0), "added after tag files");
}
END_TEST

START_TEST(test_writer_refuses_the_names_it_owns)
{
	static const char *const owned[] = {
		"bagit.txt", "bag-info.txt", "fetch.txt", "manifest-sha256.txt",
		"tagmanifest-md5.txt", "data", "data/x",
	};

	for (size_t i = 0; i < ARRAY_SIZE(owned); i++) {
		struct bag_writer *w = writer();

		assert_writer_refused(w, bag_writer_add_tag(w, owned[i], 0), "a name the bag writer owns");
	}
}
END_TEST

START_TEST(test_writer_refuses_unsafe_names)
{
	static const struct {
		const char *path, *says;
	} bad[] = {
		{ "../escape.csv", "leaves its folder" },
		{ "/etc/passwd", "absolute path" },
		{ "a//b", "empty component" },
		{ "./a", "'.' component" },
		{ "a/./b", "'.' component" },
		{ "", "is empty" },
		{ "bell\a.csv", "control character" },
		{ "esc\x1b[31m.csv", "control character" },
		{ "c1\xc2\x9b.csv", "control character" },
		{ "latin1-\xe9.csv", "not valid UTF-8" },
		{ "overlong-\xc0\xaf.csv", "not valid UTF-8" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct bag_writer *w = writer();

		assert_writer_refused(w, bag_writer_add_payload(w, bad[i].path, 0, 0), bad[i].says);
	}
}
END_TEST

START_TEST(test_writer_refuses_names_over_the_reader_limits)
{
	struct bag_limits lim = BAG_LIMITS_INIT;
	struct buf path = BUF_INIT;
	struct bag_writer *w = writer();

	while (path.len <= lim.max_path)
		buf_adds(&path, "long-name/");
	buf_adds(&path, "x");
	assert_writer_refused(w, bag_writer_add_payload(w, path.ptr, 0, 0), "path length limit");

	buf_reset(&path);
	for (uint64_t i = 0; i < lim.max_depth; i++)
		buf_adds(&path, "d/");
	buf_adds(&path, "x");
	w = writer();
	assert_writer_refused(w, bag_writer_add_payload(w, path.ptr, 0, 0), "path depth limit");
	buf_release(&path);
}
END_TEST

START_TEST(test_writer_refuses_more_bytes_than_announced)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 3, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "ab", 2), 0);
	assert_writer_refused(w, bag_writer_write(w, "cd", 2), "longer than the 3 bytes announced");
}
END_TEST

START_TEST(test_writer_refuses_fewer_bytes_than_announced)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 3, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "ab", 2), 0);
	assert_writer_refused(w, bag_writer_add_payload(w, "b.csv", 0, 0), "ended after 2 of its 3 bytes");

	w = writer();
	ck_assert_int_eq(bag_writer_add_tag(w, "box/x", 1), 0);
	assert_writer_refused(w, bag_writer_commit(w), "ended after 0 of its 1 bytes");
}
END_TEST

START_TEST(test_writer_refuses_to_end_a_file_early_or_twice)
{
	struct bag_writer *w = writer();
	unsigned char md[32];

	assert_writer_refused(w, bag_writer_end_file(w, md), "has no file to end");

	w = writer();
	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 3, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "ab", 2), 0);
	assert_writer_refused(w, bag_writer_end_file(w, md), "ended after 2 of its 3 bytes");

	w = writer();
	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 3, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "abc", 3), 0);
	ck_assert_int_eq(bag_writer_end_file(w, md), 0);
	assert_writer_refused(w, bag_writer_write(w, "", 0), "has no file to write to");

	w = writer();
	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 0, 0), 0);
	ck_assert_int_eq(bag_writer_end_file(w, md), 0);
	assert_writer_refused(w, bag_writer_end_file(w, md), "has no file to end");
}
END_TEST

START_TEST(test_writer_refuses_bad_bag_info_fields)
{
	static const struct {
		const char *label, *value, *says;
	} bad[] = {
		{ "Payload-Oxum", "1.1", "written by the bag writer" },
		{ "bagging-date", "2020-01-01", "written by the bag writer" },
		{ "Has: colon", "x", "not a bag-info.txt label" },
		{ "", "x", "not a bag-info.txt label" },
		{ " Padded", "x", "not a bag-info.txt label" },
		{ "Contact-Name", "two\nlines", "not one line" },
		{ "Contact-Name", "", "not one line" },
		{ "Contact-Name", "\xff", "not one line" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct bag_writer *w = writer();

		assert_writer_refused(w, bag_writer_add_info(w, bad[i].label, bad[i].value), bad[i].says);
	}
}
END_TEST

START_TEST(test_writer_refuses_a_bad_folder_name_or_time)
{
	static const char *const names[] = { "a/b", "..", ".hidden", "", "tab\there" };
	struct bag_writer_opts opts = BAG_WRITER_OPTS_INIT;
	struct bag_writer *w;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		opts.name = names[i];
		opts.time = TIME;
		ck_assert_int_eq(bag_writer_open(&w, at("b.tar"), &opts), -1);
		ck_assert_ptr_null(w);
		ck_assert_ptr_nonnull(strstr(box_error_last(), "cannot name a bag's folder"));
	}
	opts.name = "bag";
	opts.time = -1;
	ck_assert_int_eq(bag_writer_open(&w, at("b.tar"), &opts), -1);
	assert_folder(tmp, "");
}
END_TEST

START_TEST(test_abandoned_writer_leaves_no_file)
{
	struct bag_writer *w = writer();

	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 5, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "hello", 5), 0);
	ck_assert_int_eq(access(at("b.tar"), F_OK), -1);   /* only the temporary file so far */
	bag_writer_free(w);
	assert_folder(tmp, "");
}
END_TEST

/* Abandoning pads nothing to disk: a member announced at 64 GiB costs no time or space. */
START_TEST(test_abandoning_a_huge_member_leaves_no_file)
{
	enum bag_compression how[] = { BAG_COMPRESS_NONE, BAG_COMPRESS_GZIP, BAG_COMPRESS_ZSTD };

	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		struct bag_writer_opts opts = BAG_WRITER_OPTS_INIT;
		struct bag_writer *w;

		opts.name = "bag";
		opts.time = TIME;
		opts.compression = how[i];
		ck_assert_int_eq(bag_writer_open(&w, at("b.tar"), &opts), 0);
		ck_assert_int_eq(bag_writer_add_payload(w, "huge.bin", 64ull << 30, 0), 0);
		ck_assert_int_eq(bag_writer_write(w, "start", 5), 0);
		bag_writer_free(w);
		assert_folder(tmp, "");
	}
}
END_TEST

START_TEST(test_failed_writer_keeps_the_previous_bag)
{
	struct buf before = BUF_INIT, after = BUF_INIT;
	struct bag_writer *w;

	write_sample(at("b.tar"), BAG_COMPRESS_NONE);
	read_whole(&before, at("b.tar"));
	w = writer();
	ck_assert_int_eq(bag_writer_add_payload(w, "a.csv", 5, 0), 0);
	ck_assert_int_eq(bag_writer_write(w, "toolong", 7), -1);
	bag_writer_free(w);
	assert_folder(tmp, "b.tar");
	read_whole(&after, at("b.tar"));
	ck_assert_uint_eq(before.len, after.len);
	ck_assert(!memcmp(before.ptr, after.ptr, before.len));
	buf_release(&before);
	buf_release(&after);
}
END_TEST

/*
 * A full disk, as a file size limit makes it: the writer must fail, and
 * leave neither the target nor its temporary file. In a child of our own,
 * since the limit holds for the whole process.
 */
START_TEST(test_full_disk_leaves_no_partial_file)
{
	enum bag_compression how[] = { BAG_COMPRESS_NONE, BAG_COMPRESS_GZIP };

	for (size_t i = 0; i < ARRAY_SIZE(how); i++) {
		pid_t pid = fork();
		int status;

		ck_assert_int_ge(pid, 0);
		if (!pid) {
			struct rlimit lim = { 64 * 1024, 64 * 1024 };
			struct bag_writer_opts opts = BAG_WRITER_OPTS_INIT;
			struct bag_writer *w;
			int failed = 0;

			signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &lim);
			opts.name = "bag";
			opts.time = TIME;
			opts.compression = how[i];
			if (bag_writer_open(&w, at("full.tar"), &opts) < 0)
				_exit(3);
			for (size_t j = 0; j < ARRAY_SIZE(sample) && !failed; j++) {
				const struct spec *s = &sample[j];

				failed = (s->tag ? bag_writer_add_tag(w, s->path, s->size)
					  : bag_writer_add_payload(w, s->path, s->size, s->exec)) < 0 ||
					write_content(w, s) < 0;
			}
			if (!failed)
				failed = bag_writer_commit(w) < 0;
			failed = failed && strstr(box_error_last(), "File too large");
			bag_writer_free(w);
			_exit(failed ? 0 : 4);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child said %d", status);
		assert_folder(tmp, "");
	}
}
END_TEST

/* ----------------------------------------------------------- refusals */

START_TEST(test_refuses_an_absolute_path)
{
	REFUSAL(kit_file(&k_, "/etc/passwd", "x"));
	check_refused("refusing member '/etc/passwd': it is an absolute path");
}
END_TEST

START_TEST(test_refuses_dot_dot)
{
	REFUSAL(kit_file(&k_, "bag/data/../../evil", "x"));
	check_refused("refusing member 'bag/data/../../evil': it leaves its folder ('..')");
}
END_TEST

START_TEST(test_refuses_a_symlink)
{
	REFUSAL(kit_entry(&k_, "bag/data/link", AE_IFLNK, NULL, 0, "/etc/passwd", 0));
	check_refused("refusing member 'bag/data/link': it is a symbolic link");
}
END_TEST

START_TEST(test_refuses_a_hardlink)
{
	REFUSAL(kit_entry(&k_, "bag/data/hard", AE_IFREG, NULL, 0, "bag/data/a.txt", 1));
	check_refused("refusing member 'bag/data/hard': it is a hard link");
}
END_TEST

START_TEST(test_refuses_devices_and_fifos)
{
	REFUSAL(kit_entry(&k_, "bag/data/null", AE_IFCHR, NULL, 0, NULL, 0));
	check_refused("refusing member 'bag/data/null': it is a device");
	REFUSAL(kit_entry(&k_, "bag/data/disk", AE_IFBLK, NULL, 0, NULL, 0));
	check_refused("refusing member 'bag/data/disk': it is a device");
	REFUSAL(kit_entry(&k_, "bag/data/pipe", AE_IFIFO, NULL, 0, NULL, 0));
	check_refused("refusing member 'bag/data/pipe': it is a FIFO");
}
END_TEST

START_TEST(test_refuses_a_duplicate_member)
{
	REFUSAL(kit_file(&k_, "bag/data/a.txt", "a\n"));
	check_refused("refusing member 'bag/data/a.txt': it appears twice");
	REFUSAL((kit_entry(&k_, "bag/data/d/", AE_IFDIR, NULL, 0, NULL, 0),
		 kit_entry(&k_, "bag/data/d/", AE_IFDIR, NULL, 0, NULL, 0)));
	check_refused("refusing member 'bag/data/d/': it appears twice");
	REFUSAL(kit_entry(&k_, "bag/data/a.txt/", AE_IFDIR, NULL, 0, NULL, 0));
	check_refused("refusing member 'bag/data/a.txt/': it appears twice");
}
END_TEST

START_TEST(test_refuses_a_file_where_a_folder_is)
{
	REFUSAL(kit_file(&k_, "bag/data/a.txt/inner", "x"));
	check_refused("refusing member 'bag/data/a.txt/inner': it would be inside a file");
	REFUSAL(kit_file(&k_, "bag/data", "x"));
	check_refused("refusing member 'bag/data': it is a file where a folder is");
}
END_TEST

START_TEST(test_refuses_a_member_outside_the_bag)
{
	REFUSAL(kit_file(&k_, "other/x", "x"));
	check_refused("refusing member 'other/x': it is outside the bag's folder 'bag/'");
	REFUSAL(kit_file(&k_, "loose.txt", "x"));
	check_refused("refusing member 'loose.txt': it is outside the bag's folder 'bag/'");
}
END_TEST

START_TEST(test_refuses_a_bag_at_the_archive_root)
{
	struct kit k;

	kit_open(&k, at("evil.tar"), 1, 0);
	kit_file(&k, "bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	kit_close(&k);
	check_refused("refusing member 'bagit.txt': it is at the archive's root");

	kit_open(&k, at("evil.tar"), 1, 0);
	kit_entry(&k, "./", AE_IFDIR, NULL, 0, NULL, 0);
	kit_file(&k, "./bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	kit_close(&k);
	check_refused("refusing member './': it is the archive's root folder");
}
END_TEST

START_TEST(test_refuses_control_characters_and_bad_utf8_in_names)
{
	REFUSAL(kit_file(&k_, "bag/data/\x1b[31mred", "x"));
	check_refused("refusing member 'bag/data/\\x1b[31mred': it has a control character");
	REFUSAL(kit_file(&k_, "bag/data/\xff\xfe", "x"));
	check_refused("it is not valid UTF-8");
}
END_TEST

START_TEST(test_refuses_names_over_the_length_and_depth_limits)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	int ret;

	REFUSAL(kit_file(&k_, "bag/data/a-name-of-forty-bytes-more-or-less.txt", "x"));
	opts.limits.max_path = 40;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "it is too long (path length limit)");
	bag_report_release(&r);

	REFUSAL(kit_file(&k_, "bag/data/1/2/3/4/5", "x"));
	opts = (struct bag_check_opts)BAG_CHECK_OPTS_INIT;
	opts.limits.max_depth = 6;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "refusing member 'bag/data/1/2/3/4/5': it is too deep (path depth limit)");
	bag_report_release(&r);
}
END_TEST

START_TEST(test_refuses_more_members_than_the_limit)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	int ret;

	REFUSAL(for (int i = 0; i < 20; i++) {
		char name[64];

		snprintf(name, sizeof(name), "bag/data/f%02d", i);
		kit_file(&k_, name, "x");
	});
	opts.limits.max_members = 10;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "more than 10 members and folders (member limit)");
	bag_report_release(&r);
}
END_TEST

/* Folders implied by names count too: a few deep names cannot fill memory. */
START_TEST(test_implied_folders_count_against_the_limits)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	int ret;

	REFUSAL((kit_file(&k_, "bag/data/a1/b1/c1/d1/e1/f", "x"), kit_file(&k_, "bag/data/a2/b2/c2/d2/e2/f", "x")));
	opts.limits.max_members = 15;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "more than 15 members and folders (member limit)");
	bag_report_release(&r);

	opts = (struct bag_check_opts)BAG_CHECK_OPTS_INIT;
	opts.limits.max_names = 100;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "its names take more than 100 bytes (name limit)");
	bag_report_release(&r);
}
END_TEST

START_TEST(test_refuses_content_over_the_size_limit)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	char big[3000];
	int ret;

	memset(big, 'x', sizeof(big));
	REFUSAL(kit_entry(&k_, "bag/data/big", AE_IFREG, big, sizeof(big), NULL, 0));
	opts.limits.max_bytes = 2048;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "its content is over 2048 bytes (size limit)");
	bag_report_release(&r);
}
END_TEST

START_TEST(test_refuses_a_tag_file_over_its_limit)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	int ret;

	REFUSAL(kit_file(&k_, "bag/bag-info.txt", "Contact-Name: someone with a rather long name\n"));
	opts.limits.max_tag_size = 60;
	ret = check_file(&r, at("evil.tar"), &opts);
	assert_problem(ret, &r, "tag file 'manifest-sha256.txt' is over 60 bytes (tag file limit)");
	bag_report_release(&r);
}
END_TEST

/* 64 MiB of zeros, gzipped to some 64 KiB: refused long before the end. */
START_TEST(test_refuses_a_gzip_bomb_by_its_ratio)
{
	struct bag_report r;
	struct archive_entry *e = archive_entry_new();
	struct kit k;
	char *zeros = xcalloc(1, 1 << 20);
	int ret;

	kit_open(&k, at("bomb.tar.gz"), 1, 1);
	kit_file(&k, "bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	archive_entry_copy_pathname(e, "bag/data/zeros");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 64 << 20);
	ck_assert_int_eq(archive_write_header(k.a, e), ARCHIVE_OK);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(archive_write_data(k.a, zeros, 1 << 20), 1 << 20);
	archive_entry_free(e);
	kit_close(&k);
	free(zeros);

	ret = check_file(&r, at("bomb.tar.gz"), NULL);
	assert_problem(ret, &r, "expands more than 200 times (compression ratio limit)");
	ck_assert_uint_eq(r.problems.nr, 1);
	bag_report_release(&r);
}
END_TEST

START_TEST(test_refuses_what_is_not_a_tar)
{
	struct bag_report r;
	struct archive *zip = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int ret;

	ck_assert_int_eq(write_file_atomic(at("empty"), "", 0, 0644), 0);
	ret = check_file(&r, at("empty"), NULL);
	ck_assert_int_eq(ret, 1);
	bag_report_release(&r);

	ck_assert_int_eq(write_file_atomic(at("junk"), "this is not a tar at all\n", 25, 0644), 0);
	ret = check_file(&r, at("junk"), NULL);
	assert_problem(ret, &r, "is not a readable tar");
	bag_report_release(&r);

	/* libarchive reads zip, but the checker enables tar alone */
	archive_write_set_format_zip(zip);
	ck_assert_int_eq(archive_write_open_filename(zip, at("bag.zip")), ARCHIVE_OK);
	archive_entry_copy_pathname(e, "bag/bagit.txt");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, 0);
	ck_assert_int_eq(archive_write_header(zip, e), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_close(zip);
	archive_write_free(zip);
	ret = check_file(&r, at("bag.zip"), NULL);
	assert_problem(ret, &r, "is not a readable tar");
	bag_report_release(&r);
}
END_TEST

START_TEST(test_a_refused_member_is_never_streamed)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct bag_report r;
	struct buf out = BUF_INIT;
	int ret;

	REFUSAL((kit_entry(&k_, "bag/box/link", AE_IFLNK, NULL, 0, "/etc/shadow", 0),
		 kit_file(&k_, "bag/box/repo.bundle", "secret")));
	opts.stream = "box/repo.bundle";
	opts.stream_fd = open(at("out"), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ret = check_file(&r, at("evil.tar"), &opts);
	close(opts.stream_fd);
	assert_problem(ret, &r, "is a symbolic link");
	ck_assert_int_eq(r.streamed, 0);
	read_whole(&out, at("out"));
	ck_assert_uint_eq(out.len, 0);
	bag_report_release(&r);
	buf_release(&out);
}
END_TEST

START_TEST(test_caller_errors_are_not_verdicts)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	static const char *const keep[] = { "data/a.txt", NULL };
	struct bag_report r;

	write_sample(at("b.tar"), BAG_COMPRESS_NONE);
	opts.stream = "box/repo.bundle";   /* no descriptor */
	ck_assert_int_eq(check_file(&r, at("b.tar"), &opts), -1);
	bag_report_release(&r);
	opts = (struct bag_check_opts)BAG_CHECK_OPTS_INIT;
	opts.keep = keep;                  /* a payload file is not a tag file */
	ck_assert_int_eq(check_file(&r, at("b.tar"), &opts), -1);
	ck_assert_ptr_nonnull(strstr(box_error_last(), "not a tag file path"));
	bag_report_release(&r);
}
END_TEST

/* ---------------------------------------------------------- tampering */

static const char *edit_target;
static const char *edit_replacement;

static void flip_first_byte(const char *name, struct buf *content, int *drop)
{
	if (!strcmp(name, edit_target))
		content->ptr[0] ^= 1;
}

static void drop_member(const char *name, struct buf *content, int *drop)
{
	*drop = !strcmp(name, edit_target);
}

/* Flip the first hex digit of the line for edit_replacement in manifest edit_target. */
static void edit_manifest_line(const char *name, struct buf *content, int *drop)
{
	struct buf needle = BUF_INIT;
	char *line;

	if (strcmp(name, edit_target))
		return;
	buf_addf(&needle, "  %s\n", edit_replacement);
	line = strstr(content->ptr, needle.ptr);
	ck_assert_ptr_nonnull(line);
	line[-64] = line[-64] == '0' ? '1' : '0';
	buf_release(&needle);
}

static struct buf new_info;

/* Give bag-info.txt new text, and its tag manifest line the new text's digest. */
static void replace_bag_info(const char *name, struct buf *content, int *drop)
{
	if (!strcmp(name, "sample/bag-info.txt")) {
		buf_reset(content);
		buf_add(content, new_info.ptr, new_info.len);
	} else if (!strcmp(name, "sample/tagmanifest-sha256.txt")) {
		set_manifest_line(content, "bag-info.txt", &new_info);
	}
}

static void replace_bagit_txt(const char *name, struct buf *content, int *drop)
{
	if (!strcmp(name, "sample/bagit.txt")) {
		buf_reset(content);
		buf_add(content, new_info.ptr, new_info.len);
	} else if (!strcmp(name, "sample/tagmanifest-sha256.txt")) {
		set_manifest_line(content, "bagit.txt", &new_info);
	}
}

static void tampered(edit_fn edit, const char *target, const char *add, const char *add_text)
{
	write_sample(at("good.tar"), BAG_COMPRESS_NONE);
	edit_target = target;
	rewrite(at("good.tar"), at("bad.tar"), edit, add, add_text);
}

static void check_tampered(const char *needle, size_t problems)
{
	struct bag_report r;
	int ret = check_file(&r, at("bad.tar"), NULL);

	assert_problem(ret, &r, needle);
	ck_assert_msg(r.problems.nr == problems, "want %zu problems:%s", problems, joined(&r.problems));
	bag_report_release(&r);
}

START_TEST(test_an_untouched_rewrite_still_checks_valid)
{
	struct bag_report r;
	int ret;

	tampered(NULL, "", NULL, NULL);
	ret = check_file(&r, at("bad.tar"), NULL);
	assert_valid(ret, &r);
	bag_report_release(&r);
}
END_TEST

START_TEST(test_a_changed_payload_byte_is_named)
{
	tampered(flip_first_byte, "sample/data/input/sub/patients.csv", NULL, NULL);
	check_tampered("'data/input/sub/patients.csv' does not match manifest-sha256.txt", 1);
}
END_TEST

START_TEST(test_an_added_payload_file_is_named)
{
	tampered(NULL, "", "sample/data/input/extra.csv", "1,2,3\n");
	check_tampered("'data/input/extra.csv' is in the bag but not in manifest-sha256.txt", 2);
	check_tampered("Payload-Oxum says 304336 bytes in 7 files, the payload has 304342 bytes in 8 files", 2);
}
END_TEST

START_TEST(test_a_removed_payload_file_is_named)
{
	tampered(drop_member, "sample/data/input/empty.csv", NULL, NULL);
	check_tampered("'data/input/empty.csv' is listed in manifest-sha256.txt but is not in the bag", 2);
	check_tampered("Payload-Oxum says 304336 bytes in 7 files", 2);
}
END_TEST

START_TEST(test_an_added_tag_file_is_a_warning)
{
	struct bag_report r;
	int ret;

	tampered(NULL, "", "sample/box/extra.txt", "hello\n");
	ret = check_file(&r, at("bad.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert(has_line(&r.warnings, "tag file 'box/extra.txt' is not listed in any tag manifest"));
	bag_report_release(&r);
}
END_TEST

START_TEST(test_a_removed_tag_file_is_named)
{
	tampered(drop_member, "sample/box/verify.json", NULL, NULL);
	check_tampered("'box/verify.json' is listed in tagmanifest-sha256.txt but is not in the bag", 1);
}
END_TEST

START_TEST(test_an_edited_tag_file_is_named)
{
	tampered(flip_first_byte, "sample/box/manifest.json", NULL, NULL);
	check_tampered("'box/manifest.json' does not match tagmanifest-sha256.txt", 1);
}
END_TEST

START_TEST(test_an_edited_tag_manifest_is_caught)
{
	edit_replacement = "box/repo.bundle";
	tampered(edit_manifest_line, "sample/tagmanifest-sha256.txt", NULL, NULL);
	check_tampered("'box/repo.bundle' does not match tagmanifest-sha256.txt", 1);
}
END_TEST

START_TEST(test_an_edited_manifest_is_caught_twice)
{
	edit_replacement = "data/run.sh";
	tampered(edit_manifest_line, "sample/manifest-sha256.txt", NULL, NULL);
	check_tampered("'data/run.sh' does not match manifest-sha256.txt", 2);
	check_tampered("'manifest-sha256.txt' does not match tagmanifest-sha256.txt", 2);
}
END_TEST

START_TEST(test_a_wrong_payload_oxum_is_named)
{
	buf_reset(&new_info);
	buf_adds(&new_info, "Bagging-Date: 2023-11-14\nPayload-Oxum: 304336.8\n");
	tampered(replace_bag_info, "", NULL, NULL);
	check_tampered("Payload-Oxum says 304336 bytes in 8 files, the payload has 304336 bytes in 7 files", 1);

	buf_reset(&new_info);
	buf_adds(&new_info, "Payload-Oxum: lots\n");
	tampered(replace_bag_info, "", NULL, NULL);
	check_tampered("Payload-Oxum 'lots' is not OCTETS.FILES", 1);

	buf_reset(&new_info);
	buf_adds(&new_info, "Payload-Oxum: 304336.7\nPayload-Oxum: 304336.7\n");
	tampered(replace_bag_info, "", NULL, NULL);
	check_tampered("bag-info.txt gives Payload-Oxum 2 times", 1);
	buf_release(&new_info);
}
END_TEST

START_TEST(test_bag_info_folds_continued_lines)
{
	struct bag_report r;
	int ret;

	buf_reset(&new_info);
	buf_adds(&new_info, "Bagging-Date: 2023-11-14\nExternal-Description: a first line\n  and its continuation\r\n"
		 "Payload-Oxum: 304336.7\n");
	tampered(replace_bag_info, "", NULL, NULL);
	ret = check_file(&r, at("bad.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_str_eq(bag_info_get(&r, "External-Description"), "a first line and its continuation");
	bag_report_release(&r);
	buf_release(&new_info);
}
END_TEST

START_TEST(test_bagit_txt_is_read_strictly)
{
	static const struct {
		const char *text, *says;
	} bad[] = {
		{ "BagIt-Version: 0.96\nTag-File-Character-Encoding: UTF-8\n", "BagIt version '0.96' is not supported" },
		{ "BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", "BagIt version '2.0' is not supported" },
		{ "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16\n", "tag file encoding 'UTF-16' is not supported" },
		{ "BagIt-Version : 1.0\nTag-File-Character-Encoding: UTF-8\n", "does not read 'BagIt-Version: M.N'" },
		{ "Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", "does not read 'BagIt-Version: M.N'" },
		{ "BagIt-Version: 1.0\n", "has 1 lines" },
		{ "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nExtra: 1\n", "has 3 lines" },
		{ "\xef\xbb\xbf" "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "byte order mark" },
		{ "BagIt-Version: one\nTag-File-Character-Encoding: UTF-8\n", "BagIt-Version 'one' is not M.N" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		buf_reset(&new_info);
		buf_adds(&new_info, bad[i].text);
		tampered(replace_bagit_txt, "", NULL, NULL);
		check_tampered(bad[i].says, 1);
	}
	/* CRLF line ends and a missing last one are line ends still */
	buf_reset(&new_info);
	buf_adds(&new_info, "BagIt-Version: 1.0\r\nTag-File-Character-Encoding: utf-8");
	tampered(replace_bagit_txt, "", NULL, NULL);
	{
		struct bag_report r;
		int ret = check_file(&r, at("bad.tar"), NULL);

		assert_valid(ret, &r);
		bag_report_release(&r);
	}
	buf_release(&new_info);
}
END_TEST

START_TEST(test_missing_bagit_txt_or_manifest_is_not_a_bag)
{
	tampered(drop_member, "sample/bagit.txt", NULL, NULL);
	check_tampered("no bagit.txt in 'sample/': not a bag", 1);
	tampered(drop_member, "sample/manifest-sha256.txt", NULL, NULL);
	check_tampered("no payload manifest", 2);
}
END_TEST

START_TEST(test_fetch_txt_is_reported_and_never_followed)
{
	struct bag_report r;
	int ret;

	tampered(NULL, "", "sample/fetch.txt", "https://example.org/data.csv 300000 data/input/data.csv\n");
	ret = check_file(&r, at("bad.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_int_eq(r.has_fetch, 1);
	ck_assert(has_line(&r.warnings, "fetch.txt names 1 files to fetch: git box never fetches"));
	bag_report_release(&r);

	tampered(NULL, "", "sample/fetch.txt", "https://example.org/more.csv - data/more.csv\n");
	check_tampered("'data/more.csv' is missing: fetch.txt names 'https://example.org/more.csv' for it", 1);
	tampered(NULL, "", "sample/fetch.txt", "https://example.org/x 1 ../../etc/passwd\n");
	check_tampered("fetch.txt line 1: the path '../../etc/passwd' leaves its folder", 1);
	tampered(NULL, "", "sample/fetch.txt", "just-one-field\n");
	check_tampered("fetch.txt line 1 is not 'URL LENGTH PATH'", 1);
}
END_TEST

/* ------------------------------------------------ other shapes and orders */

static void reverse_and_flatten(const char *from, const char *to)
{
	struct archive *in = archive_read_new(), *out = archive_write_new();
	struct archive_entry *e;
	struct { char *name; struct buf content; } m[64];
	size_t nr = 0;
	char chunk[65536];
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = uselocale(loc);

	archive_read_support_format_tar(in);
	ck_assert_int_eq(archive_read_open_filename(in, from, 65536), ARCHIVE_OK);
	while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
		la_ssize_t n;

		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;   /* no folder members at all */
		ck_assert_uint_lt(nr, ARRAY_SIZE(m));
		m[nr].name = xstrfmt("./%s", archive_entry_pathname(e));
		m[nr].content = (struct buf)BUF_INIT;
		while ((n = archive_read_data(in, chunk, sizeof(chunk))) > 0)
			buf_add(&m[nr].content, chunk, (size_t)n);
		nr++;
	}
	archive_read_free(in);
	archive_write_set_format_gnutar(out);
	ck_assert_int_eq(archive_write_open_filename(out, to), ARCHIVE_OK);
	while (nr--) {
		e = archive_entry_new();
		archive_entry_copy_pathname(e, m[nr].name);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0600);
		archive_entry_set_size(e, (la_int64_t)m[nr].content.len);
		ck_assert_int_eq(archive_write_header(out, e), ARCHIVE_OK);
		if (m[nr].content.len)
			archive_write_data(out, m[nr].content.ptr, m[nr].content.len);
		archive_entry_free(e);
		free(m[nr].name);
		buf_release(&m[nr].content);
	}
	archive_write_close(out);
	archive_write_free(out);
	uselocale(old);
	freelocale(loc);
}

START_TEST(test_member_order_and_folder_members_do_not_matter)
{
	struct bag_report r;
	int ret;

	write_sample(at("good.tar"), BAG_COMPRESS_NONE);
	reverse_and_flatten(at("good.tar"), at("reversed.tar"));
	ret = check_file(&r, at("reversed.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_uint_eq(r.payload_nr, 7);
	ck_assert_int_eq(r.passes, 1);
	bag_report_release(&r);
}
END_TEST

/* Add a SHA-512 manifest (and tag manifest) at the end, as a foreign tool could. */
static struct buf sha512_manifest, sha512_tagmanifest;

static void add_sha512(const char *name, struct buf *content, int *drop)
{
	unsigned char md[64];
	const char *rel = name + strlen("sample/");
	struct buf *into;

	if (ends_with(name, "/") || !strcmp(rel, "tagmanifest-sha256.txt"))
		return;
	into = starts_with(rel, "data/") ? &sha512_manifest : &sha512_tagmanifest;
	ck_assert_int_eq(EVP_Digest(content->ptr ? content->ptr : "", content->len, md, NULL, EVP_sha512(), NULL), 1);
	for (int i = 0; i < 64; i++)
		buf_addf(into, "%02x", md[i]);
	buf_addf(into, "  %s\n", rel);
}

START_TEST(test_a_late_manifest_in_another_algorithm_takes_a_second_pass)
{
	struct bag_report r;
	unsigned char md[64];
	struct buf both = BUF_INIT;
	int ret, fds[2];

	write_sample(at("good.tar"), BAG_COMPRESS_NONE);
	rewrite(at("good.tar"), at("scratch.tar"), add_sha512, NULL, NULL);
	/* the tag manifest covers the new manifest too */
	ck_assert_int_eq(EVP_Digest(sha512_manifest.ptr, sha512_manifest.len, md, NULL, EVP_sha512(), NULL), 1);
	for (int i = 0; i < 64; i++)
		buf_addf(&sha512_tagmanifest, "%02x", md[i]);
	buf_adds(&sha512_tagmanifest, "  manifest-sha512.txt\n");
	rewrite(at("good.tar"), at("mid.tar"), NULL, "sample/manifest-sha512.txt", sha512_manifest.ptr);
	rewrite(at("mid.tar"), at("late.tar"), NULL, "sample/tagmanifest-sha512.txt", sha512_tagmanifest.ptr);

	ret = check_file(&r, at("late.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_int_eq(r.passes, 2);
	ck_assert_uint_eq(r.manifest_algs, BAG_ALG_BIT(BAG_SHA256) | BAG_ALG_BIT(BAG_SHA512));
	ck_assert_uint_eq(r.tagmanifest_algs, BAG_ALG_BIT(BAG_SHA256) | BAG_ALG_BIT(BAG_SHA512));
	bag_report_release(&r);

	/* from a pipe there is no second pass */
	read_whole(&both, at("late.tar"));
	ck_assert_int_eq(pipe(fds), 0);
	if (!fork()) {
		close(fds[0]);
		ck_assert_int_eq(write(fds[1], both.ptr, both.len), (ssize_t)both.len);
		_exit(0);
	}
	close(fds[1]);
	{
		struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;

		ret = bag_check(&r, fds[0], "pipe", &opts);
	}
	close(fds[0]);
	wait(NULL);
	assert_problem(ret, &r, "lists checksums after the files they cover, and cannot be read twice");
	bag_report_release(&r);
	buf_release(&both);
	buf_release(&sha512_manifest);
	buf_release(&sha512_tagmanifest);
}
END_TEST

START_TEST(test_weak_and_unknown_algorithms_are_reported)
{
	struct kit k;
	struct bag_report r;
	int ret;

	kit_open(&k, at("md5.tar"), 1, 0);
	kit_file(&k, "bag/bagit.txt", "BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n");
	kit_file(&k, "bag/data/a.txt", "a\n");
	/* md5 of "a\n" */
	kit_file(&k, "bag/manifest-md5.txt", "60b725f10c9c85c70d97880dfe8191b3  data/a.txt\n");
	kit_file(&k, "bag/manifest-blake3.txt", "whatever  data/a.txt\n");
	kit_close(&k);
	ret = check_file(&r, at("md5.tar"), NULL);
	assert_valid(ret, &r);
	ck_assert_str_eq(r.version, "0.97");
	ck_assert(has_line(&r.warnings, "the payload's checksums are md5 only"));
	ck_assert(has_line(&r.warnings, "manifest-blake3.txt is in an algorithm git box does not know"));
	ck_assert(has_line(&r.warnings, "no tag manifest"));
	bag_report_release(&r);
}
END_TEST

START_TEST(test_duplicate_manifest_lines_depend_on_the_version)
{
	static const char *const versions[] = { "1.0", "0.97" };

	for (size_t i = 0; i < ARRAY_SIZE(versions); i++) {
		struct kit k;
		struct bag_report r;
		struct buf bagit = BUF_INIT;
		int ret;

		buf_addf(&bagit, "BagIt-Version: %s\nTag-File-Character-Encoding: UTF-8\n", versions[i]);
		kit_open(&k, at("dup.tar"), 1, 0);
		kit_file(&k, "bag/bagit.txt", bagit.ptr);
		kit_file(&k, "bag/data/a.txt", "a\n");
		kit_file(&k, "bag/manifest-sha256.txt",
			 "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/a.txt\n"
			 "87428FC522803D31065E7BCE3CF03FE475096631E5E07BBD7A0FDE60C4CF25C7\tdata/a.txt\r\n");
		kit_close(&k);
		ret = check_file(&r, at("dup.tar"), NULL);
		if (i == 0) {
			assert_problem(ret, &r, "manifest-sha256.txt lists 'data/a.txt' twice");
		} else {
			assert_valid(ret, &r);
			ck_assert(has_line(&r.warnings, "manifest-sha256.txt lists 'data/a.txt' twice"));
		}
		bag_report_release(&r);
		buf_release(&bagit);
	}
}
END_TEST

START_TEST(test_manifest_lines_must_parse)
{
	struct kit k;
	struct bag_report r;
	int ret;

	kit_open(&k, at("m.tar"), 1, 0);
	kit_file(&k, "bag/bagit.txt", "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n");
	kit_file(&k, "bag/data/a.txt", "a\n");
	kit_file(&k, "bag/manifest-sha256.txt",
		 "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/a.txt\n"
		 "87428fc5  data/short\n"
		 "zz428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  data/nothex\n"
		 "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7\n"
		 "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7  bagit.txt\n");
	kit_close(&k);
	ret = check_file(&r, at("m.tar"), NULL);
	assert_problem(ret, &r, "manifest-sha256.txt line 2 is not 'sha256-CHECKSUM PATH'");
	assert_problem(ret, &r, "manifest-sha256.txt line 3 is not 'sha256-CHECKSUM PATH'");
	assert_problem(ret, &r, "manifest-sha256.txt line 4 is not 'sha256-CHECKSUM PATH'");
	assert_problem(ret, &r, "manifest-sha256.txt line 5: 'bagit.txt' is not in data/");
	ck_assert_uint_eq(r.problems.nr, 4);
	bag_report_release(&r);
}
END_TEST

/* ------------------------------------------ the LoC conformance suite */

/* Tar a folder as 'tar -cf out top/' would, through libarchive's disk reader. */
static void tar_folder(const char *dir, const char *top, const char *out)
{
	struct archive *disk = archive_read_disk_new(), *w = archive_write_new();
	locale_t loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old = uselocale(loc);
	char chunk[65536];

	archive_write_set_format_pax_restricted(w);
	ck_assert_int_eq(archive_write_open_filename(w, out), ARCHIVE_OK);
	ck_assert_int_eq(archive_read_disk_open(disk, dir), ARCHIVE_OK);
	for (;;) {
		struct archive_entry *e = archive_entry_new();
		int r = archive_read_next_header2(disk, e);
		char *name;

		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		ck_assert_msg(r == ARCHIVE_OK, "%s", archive_error_string(disk));
		archive_read_disk_descend(disk);
		name = xstrfmt("%s%s", top, archive_entry_pathname(e) + strlen(dir));
		archive_entry_copy_pathname(e, name);
		ck_assert_int_eq(archive_write_header(w, e), ARCHIVE_OK);
		if (archive_entry_filetype(e) == AE_IFREG) {
			la_ssize_t n;

			while ((n = archive_read_data(disk, chunk, sizeof(chunk))) > 0)
				archive_write_data(w, chunk, (size_t)n);
		}
		free(name);
		archive_entry_free(e);
	}
	archive_read_free(disk);
	archive_write_close(w);
	archive_write_free(w);
	uselocale(old);
	freelocale(loc);
}

enum outcome {
	CLEAN,        /* valid, no warning */
	VALID,        /* valid; warnings allowed (md5 ones, mostly) */
	WARNS,        /* valid, and a warning says `says` */
	INVALID,      /* not valid, and a problem says `says` */
};

/*
 * Every v0.97 and v1.0 bag of the suite, with what git box says of it and
 * why. The suite's folders say valid/, invalid/, warning/, linux-only/ and
 * windows-only/; where we differ, the comment gives the reason (all of
 * them documented in gitbox-bundle(5)). Bags of versions before 0.97 are
 * all refused as unsupported, a rule below, not a row here.
 */
static struct expectation {
	const char *bag;
	enum outcome outcome;
	const char *says;
	int seen;
} expectations[] = {
	{ "v1.0/valid/basicBag", CLEAN, NULL, 0 },
	{ "v1.0/invalid/bagit-with-invalid-whitespace", INVALID, "does not read 'BagIt-Version: M.N'", 0 },
	{ "v1.0/invalid/notAllManifestsListAllFiles", INVALID,
	  "'data/missingFromManifest.txt' is in the bag but not in manifest-sha512.txt", 0 },
	/* its bagit.txt reads "BagIt-Version: 1.0 " and fails before the duplicate is seen */
	{ "v1.0/invalid/same-filename-listed-twice-with-different-hashes", INVALID,
	  "BagIt-Version '1.0 ' is not M.N", 0 },
	{ "v1.0/invalid/same-filename-listed-twice-with-the-same-hash", INVALID,
	  "manifest-sha256.txt lists 'data/README' twice", 0 },

	/* git box reads UTF-8 tag files only */
	{ "v0.97/valid/ISO-8859-1-encoded-tag-files", INVALID, "tag file encoding 'ISO-8859-1' is not supported", 0 },
	{ "v0.97/valid/UTF-16-encoded-tag-files", INVALID, "tag file encoding 'UTF-16' is not supported", 0 },
	{ "v0.97/valid/bag-in-a-bag", VALID, NULL, 0 },
	{ "v0.97/valid/bag-with-encoded-names", VALID, NULL, 0 },
	{ "v0.97/valid/bag-with-escapable-characters", VALID, NULL, 0 },
	{ "v0.97/valid/bag-with-leading-dot-slash-in-manifest", WARNS, "1 paths start with './'", 0 },
	{ "v0.97/valid/bag-with-space", VALID, NULL, 0 },
	{ "v0.97/valid/basic-bag", WARNS, "the payload's checksums are md5 only", 0 },
	{ "v0.97/valid/duplicate-metadata-entries", VALID, NULL, 0 },
	{ "v0.97/valid/holey-bag", WARNS, "fetch.txt names 5 files to fetch", 0 },
	{ "v0.97/valid/minimal-bag", VALID, NULL, 0 },
	{ "v0.97/valid/uncommon-metadata-separators", CLEAN, NULL, 0 },

	{ "v0.97/invalid/baginfo-missing-encoding", INVALID, "bagit.txt has 1 lines", 0 },
	{ "v0.97/invalid/bom-in-bagit.txt", INVALID, "bagit.txt starts with a byte order mark", 0 },
	{ "v0.97/invalid/corrupt-data-file", INVALID, "'data/bare-filename' does not match manifest-md5.txt", 0 },
	{ "v0.97/invalid/corrupt-tag-file", INVALID, "'bag-info.txt' does not match tagmanifest-md5.txt", 0 },
	{ "v0.97/invalid/extra-file-in-bag", INVALID, "'data/bar' is in the bag but not in manifest-md5.txt", 0 },
	{ "v0.97/invalid/invalid-version-number", INVALID, "BagIt-Version '.97' is not M.N", 0 },
	{ "v0.97/invalid/missing-baginfo", INVALID,
	  "'bag-info.txt' is listed in tagmanifest-md5.txt but is not in the bag", 0 },
	{ "v0.97/invalid/missing-bagit.txt", INVALID, "no bagit.txt", 0 },
	{ "v0.97/invalid/out-of-scope-file-paths-using-dot-notation", INVALID,
	  "the path '../../../README.md' leaves its folder", 0 },
	{ "v0.97/invalid/out-of-scope-file-paths-using-dot-notation-for-fetch", INVALID,
	  "fetch.txt line 1: the path '../../../README.md' leaves its folder", 0 },
	{ "v0.97/invalid/same-filename-listed-twice-with-different-hashes", INVALID,
	  "lists 'data/README' twice, with different checksums", 0 },

	{ "v0.97/linux-only/out-of-scope-file-paths-using-absolute-path", INVALID,
	  "the path '/tmp/foo' is an absolute path", 0 },
	{ "v0.97/linux-only/out-of-scope-file-paths-using-absolute-path-for-fetch", INVALID,
	  "fetch.txt line 1: the path '/tmp/test.txt' is an absolute path", 0 },
	{ "v0.97/linux-only/out-of-scope-file-paths-using-shortcut", INVALID, "'~/foo' is not in data/", 0 },
	{ "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-for-fetch", INVALID,
	  "fetch.txt line 1: '~/test.txt' is not in data/", 0 },
	{ "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-username", INVALID, "'~root/foo' is not in data/", 0 },
	{ "v0.97/linux-only/out-of-scope-file-paths-using-shortcut-username-for-fetch", INVALID,
	  "fetch.txt line 1: '~root/foo' is not in data/", 0 },

	/* the manifest also lists data/HELLO.txt, which only a case-blind file system has */
	{ "v0.97/warning/duplicate-file-with-different-case", INVALID,
	  "'data/HELLO.txt' is listed in manifest-sha512.txt but is not in the bag", 0 },
	{ "v0.97/warning/made-with-md5sum-tools", WARNS, "md5sum's binary-mode '*'", 0 },
	{ "v0.97/warning/relative-path", WARNS, "1 paths start with './'", 0 },
	/* a 0.96 bag, filed under 0.97 */
	{ "v0.97/warning/same-filename-listed-twice-with-different-normalization", INVALID,
	  "BagIt version '0.96' is not supported", 0 },
	{ "v0.97/warning/same-filename-listed-twice-with-the-same-hash", WARNS,
	  "manifest-sha256.txt lists 'data/README' twice", 0 },
	/* the listed data/.DS_Store was never in the suite's repository */
	{ "v0.97/warning/special-system-files", INVALID,
	  "'data/.DS_Store' is listed in manifest-sha512.txt but is not in the bag", 0 },

	/* out-of-scope Windows paths are, on any system, paths outside data/ */
	{ "v0.97/windows-only/out-of-scope-file-paths-using-absolute-path", INVALID, "is not in data/", 0 },
	{ "v0.97/windows-only/out-of-scope-file-paths-using-absolute-path-for-fetch", INVALID, "is not in data/", 0 },
	{ "v0.97/windows-only/out-of-scope-file-paths-using-shortcut", INVALID, "is not in data/", 0 },
	{ "v0.97/windows-only/out-of-scope-file-paths-using-shortcut-for-fetch", INVALID, "is not in data/", 0 },
	{ "v0.97/windows-only/out-of-scope-file-paths-using-unc", INVALID, "is not in data/", 0 },
	{ "v0.97/windows-only/out-of-scope-file-paths-using-unc-for-fetch", INVALID, "is not in data/", 0 },
};

static struct expectation *expectation(const char *bag)
{
	static struct expectation unsupported = { NULL, INVALID, "is not supported (git box reads 1.0 and 0.97)", 0 };

	for (size_t i = 0; i < ARRAY_SIZE(expectations); i++)
		if (!strcmp(expectations[i].bag, bag))
			return &expectations[i];
	if (starts_with(bag, "v0.93/") || starts_with(bag, "v0.94/") ||
	    starts_with(bag, "v0.95/") || starts_with(bag, "v0.96/"))
		return &unsupported;
	return NULL;
}

static void check_vector(const char *suite, const char *bag, size_t *checked)
{
	char *dir = xstrfmt("%s/%s", suite, bag), *top = strrchr(dir, '/') + 1;
	struct expectation *want = expectation(bag);
	struct bag_report r;
	char *problems, *warnings;
	int ret;

	ck_assert_msg(want, "no expectation for the suite's bag '%s'", bag);
	want->seen = 1;
	tar_folder(dir, top, at("vector.tar"));
	ret = check_file(&r, at("vector.tar"), NULL);
	problems = joined(&r.problems);
	warnings = joined(&r.warnings);
	switch (want->outcome) {
	case CLEAN:
		ck_assert_msg(ret == 0 && !r.warnings.nr, "%s: want valid without warnings, got %d:%s%s",
			      bag, ret, problems, warnings);
		break;
	case VALID:
		ck_assert_msg(ret == 0, "%s: want valid, got %d:%s", bag, ret, problems);
		break;
	case WARNS:
		ck_assert_msg(ret == 0 && has_line(&r.warnings, want->says),
			      "%s: want valid with a warning \"%s\", got %d:%s%s", bag, want->says, ret, problems, warnings);
		break;
	case INVALID:
		ck_assert_msg(ret == 1 && has_line(&r.problems, want->says),
			      "%s: want invalid with \"%s\", got %d:%s", bag, want->says, ret, problems);
		break;
	}
	free(problems);
	free(warnings);
	bag_report_release(&r);
	free(dir);
	(*checked)++;
}

/* Folders under `path`, sorted (readdir's order is the file system's). */
static void subfolders(struct strlist *out, const char *path)
{
	char *names = list_folder(path);

	for (char *p = names, *sp; *p; p = sp + 1) {
		struct stat st;
		char *full;

		sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		full = xstrfmt("%s/%s", path, p);
		if (!stat(full, &st) && S_ISDIR(st.st_mode))
			strlist_add(out, p);
		free(full);
		if (!sp)
			break;
	}
	free(names);
}

START_TEST(test_library_of_congress_conformance_suite)
{
	const char *vectors = getenv("BOX_VECTORS");
	struct strlist versions = STRLIST_INIT;
	char *suite;
	size_t checked = 0;
	struct stat st;

	if (!vectors || !*vectors) {
		fprintf(stderr, "skipping the BagIt conformance suite: BOX_VECTORS is not set\n");
		return;
	}
	suite = xstrfmt("%s/bagit", vectors);
	if (stat(suite, &st) < 0) {
		fprintf(stderr, "skipping the BagIt conformance suite: no '%s'\n", suite);
		free(suite);
		return;
	}
	subfolders(&versions, suite);
	for (size_t v = 0; v < versions.nr; v++) {
		struct strlist kinds = STRLIST_INIT;
		char *vdir = xstrfmt("%s/%s", suite, versions.items[v]);

		subfolders(&kinds, vdir);
		for (size_t k = 0; k < kinds.nr; k++) {
			struct strlist bags = STRLIST_INIT;
			char *kdir = xstrfmt("%s/%s", vdir, kinds.items[k]);

			subfolders(&bags, kdir);
			for (size_t b = 0; b < bags.nr; b++) {
				char *bag = xstrfmt("%s/%s/%s", versions.items[v], kinds.items[k], bags.items[b]);

				check_vector(suite, bag, &checked);
				free(bag);
			}
			strlist_release(&bags);
			free(kdir);
		}
		strlist_release(&kinds);
		free(vdir);
	}
	for (size_t i = 0; i < ARRAY_SIZE(expectations); i++)
		ck_assert_msg(expectations[i].seen, "the suite has no bag '%s'", expectations[i].bag);
	ck_assert_uint_ge(checked, 60);
	strlist_release(&versions);
	free(suite);
}
END_TEST

/* ------------------------------------------------ t7000's entry points */

START_TEST(test_sample_bags_for_stock_tools)
{
	const char *dir = getenv("BAG_SAMPLE_DIR");
	static const char *const files[] = { "sample.tar", "sample.tar.gz", "sample.tar.zst" };
	enum bag_compression how[] = { BAG_COMPRESS_NONE, BAG_COMPRESS_GZIP, BAG_COMPRESS_ZSTD };

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char *path = dir && *dir ? xstrfmt("%s/%s", dir, files[i]) : xstrdup(at(files[i]));
		struct bag_report r;
		int ret;

		write_sample(path, how[i]);
		ret = check_file(&r, path, NULL);
		assert_valid(ret, &r);
		bag_report_release(&r);
		free(path);
	}
}
END_TEST

START_TEST(test_external_bag)
{
	const char *path = getenv("BAG_CHECK");
	struct bag_report r;
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	ck_assert_msg(fd >= 0, "cannot open '%s'", path);
	ret = bag_check(&r, fd, path, &opts);
	close(fd);
	printf("result: %s\n", ret == 0 ? "valid" : ret == 1 ? "invalid" : "error");
	if (ret < 0)
		printf("error: %s\n", box_error_last());
	for (size_t i = 0; i < r.problems.nr; i++)
		printf("problem: %s\n", r.problems.items[i]);
	for (size_t i = 0; i < r.warnings.nr; i++)
		printf("warning: %s\n", r.warnings.items[i]);
	printf("payload: %zu files\n", r.payload_nr);
	fflush(stdout);
	bag_report_release(&r);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("bag");
	TCase *writer_tc = tcase_create("writer");
	TCase *refusals = tcase_create("refusals");
	TCase *tampering = tcase_create("tampering");
	TCase *shapes = tcase_create("shapes");
	TCase *vectors = tcase_create("vectors");
	TCase *sample_tc = tcase_create("sample");
	TCase *all[] = { writer_tc, refusals, tampering, shapes, vectors, sample_tc };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		tcase_add_checked_fixture(all[i], make_tmp, remove_tmp);
		tcase_set_timeout(all[i], 300);
		suite_add_tcase(s, all[i]);
	}

	tcase_add_test(writer_tc, test_round_trip_hands_back_every_payload_file_and_tag);
	tcase_add_test(writer_tc, test_gzip_and_zstd_bags_check_valid);
	tcase_add_test(writer_tc, test_two_writes_are_byte_identical);
	tcase_add_test(writer_tc, test_ending_each_file_hands_back_its_sha256_and_changes_no_byte);
	tcase_add_test(writer_tc, test_compressed_bags_hold_the_plain_tar);
	tcase_add_test(writer_tc, test_gzip_header_has_no_name_and_no_time);
	tcase_add_test(writer_tc, test_members_are_in_order_with_fixed_owner_mode_and_time);
	tcase_add_test(writer_tc, test_tag_files_read_as_rfc_8493_says);
	tcase_add_test(writer_tc, test_manifest_percent_encodes_cr_lf_and_percent);
	tcase_add_test(writer_tc, test_an_empty_payload_is_still_a_bag);
	tcase_add_test(writer_tc, test_writer_refuses_payload_out_of_byte_order);
	tcase_add_test(writer_tc, test_writer_refuses_a_path_twice);
	tcase_add_test(writer_tc, test_writer_refuses_a_file_used_as_a_folder);
	tcase_add_test(writer_tc, test_writer_refuses_payload_after_tags);
	tcase_add_test(writer_tc, test_writer_refuses_the_names_it_owns);
	tcase_add_test(writer_tc, test_writer_refuses_unsafe_names);
	tcase_add_test(writer_tc, test_writer_refuses_names_over_the_reader_limits);
	tcase_add_test(writer_tc, test_writer_refuses_more_bytes_than_announced);
	tcase_add_test(writer_tc, test_writer_refuses_fewer_bytes_than_announced);
	tcase_add_test(writer_tc, test_writer_refuses_to_end_a_file_early_or_twice);
	tcase_add_test(writer_tc, test_writer_refuses_bad_bag_info_fields);
	tcase_add_test(writer_tc, test_writer_refuses_a_bad_folder_name_or_time);
	tcase_add_test(writer_tc, test_abandoned_writer_leaves_no_file);
	tcase_add_test(writer_tc, test_abandoning_a_huge_member_leaves_no_file);
	tcase_add_test(writer_tc, test_failed_writer_keeps_the_previous_bag);
	tcase_add_test(writer_tc, test_full_disk_leaves_no_partial_file);

	tcase_add_test(refusals, test_refuses_an_absolute_path);
	tcase_add_test(refusals, test_refuses_dot_dot);
	tcase_add_test(refusals, test_refuses_a_symlink);
	tcase_add_test(refusals, test_refuses_a_hardlink);
	tcase_add_test(refusals, test_refuses_devices_and_fifos);
	tcase_add_test(refusals, test_refuses_a_duplicate_member);
	tcase_add_test(refusals, test_refuses_a_file_where_a_folder_is);
	tcase_add_test(refusals, test_refuses_a_member_outside_the_bag);
	tcase_add_test(refusals, test_refuses_a_bag_at_the_archive_root);
	tcase_add_test(refusals, test_refuses_control_characters_and_bad_utf8_in_names);
	tcase_add_test(refusals, test_refuses_names_over_the_length_and_depth_limits);
	tcase_add_test(refusals, test_refuses_more_members_than_the_limit);
	tcase_add_test(refusals, test_implied_folders_count_against_the_limits);
	tcase_add_test(refusals, test_refuses_content_over_the_size_limit);
	tcase_add_test(refusals, test_refuses_a_tag_file_over_its_limit);
	tcase_add_test(refusals, test_refuses_a_gzip_bomb_by_its_ratio);
	tcase_add_test(refusals, test_refuses_what_is_not_a_tar);
	tcase_add_test(refusals, test_a_refused_member_is_never_streamed);
	tcase_add_test(refusals, test_caller_errors_are_not_verdicts);

	tcase_add_test(tampering, test_an_untouched_rewrite_still_checks_valid);
	tcase_add_test(tampering, test_a_changed_payload_byte_is_named);
	tcase_add_test(tampering, test_an_added_payload_file_is_named);
	tcase_add_test(tampering, test_a_removed_payload_file_is_named);
	tcase_add_test(tampering, test_an_added_tag_file_is_a_warning);
	tcase_add_test(tampering, test_a_removed_tag_file_is_named);
	tcase_add_test(tampering, test_an_edited_tag_file_is_named);
	tcase_add_test(tampering, test_an_edited_tag_manifest_is_caught);
	tcase_add_test(tampering, test_an_edited_manifest_is_caught_twice);
	tcase_add_test(tampering, test_a_wrong_payload_oxum_is_named);
	tcase_add_test(tampering, test_bag_info_folds_continued_lines);
	tcase_add_test(tampering, test_bagit_txt_is_read_strictly);
	tcase_add_test(tampering, test_missing_bagit_txt_or_manifest_is_not_a_bag);
	tcase_add_test(tampering, test_fetch_txt_is_reported_and_never_followed);

	tcase_add_test(shapes, test_member_order_and_folder_members_do_not_matter);
	tcase_add_test(shapes, test_a_late_manifest_in_another_algorithm_takes_a_second_pass);
	tcase_add_test(shapes, test_weak_and_unknown_algorithms_are_reported);
	tcase_add_test(shapes, test_duplicate_manifest_lines_depend_on_the_version);
	tcase_add_test(shapes, test_manifest_lines_must_parse);

	tcase_add_test(vectors, test_library_of_congress_conformance_suite);
	tcase_add_test(sample_tc, test_sample_bags_for_stock_tools);

	if (getenv("BAG_CHECK")) {
		TCase *external = tcase_create("external");

		tcase_add_test(external, test_external_bag);
		suite_add_tcase(s, external);
	}
	return s;
}

UNIT_MAIN(make_suite)

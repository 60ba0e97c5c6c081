#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "banned.h"

static void out_of_memory(size_t size)
{
	fprintf(stderr, "fatal: out of memory, allocating %zu bytes\n", size);
	exit(BOX_ERROR);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		out_of_memory(nmemb * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);
	if (!p)
		out_of_memory(size);
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		out_of_memory(strlen(s) + 1);
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		out_of_memory(n + 1);
	return p;
}

char *xstrfmt(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b);
}

static __thread char last_error[4096];

void box_error_set(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

void box_error_wrap(const char *fmt, ...)
{
	char ctx[1024], prev[sizeof(last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(prev, last_error, sizeof(prev));
	if (*prev)
		snprintf(last_error, sizeof(last_error), "%.1000s: %.3000s", ctx, prev);
	else
		snprintf(last_error, sizeof(last_error), "%s", ctx);
}

void box_error_from_git(const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char ctx[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (e && e->message && *e->message)
		snprintf(last_error, sizeof(last_error), "%.1000s: %.3000s", ctx, e->message);
	else
		snprintf(last_error, sizeof(last_error), "%s", ctx);
}

const char *box_error_last(void)
{
	return *last_error ? last_error : "unknown error";
}

void box_error_clear(void)
{
	*last_error = '\0';
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;

	if (want < b->len)
		out_of_memory(SIZE_MAX);
	if (want <= b->alloc)
		return;
	b->alloc = b->alloc ? b->alloc : 64;
	while (b->alloc < want)
		b->alloc = b->alloc < SIZE_MAX / 2 ? b->alloc * 2 : want;
	b->ptr = xrealloc(b->ptr, b->alloc);
}

void buf_add(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->ptr + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->ptr + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void buf_release(struct buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

char *buf_detach(struct buf *b)
{
	char *p;

	if (!b->ptr)
		buf_grow(b, 0), b->ptr[0] = '\0';
	p = b->ptr;
	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}

int buf_read_file(struct buf *b, const char *path, size_t max)
{
	char chunk[8192];
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		box_error_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			box_error_set("cannot read '%s': %s", path, strerror(errno));
			goto out;
		}
		if (b->len + (size_t)n > max) {
			box_error_set("'%s' is larger than %zu bytes", path, max);
			goto out;
		}
		buf_add(b, chunk, (size_t)n);
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

void strlist_add(struct strlist *l, const char *s)
{
	strlist_add_nodup(l, xstrdup(s));
}

void strlist_add_nodup(struct strlist *l, char *s)
{
	if (l->nr == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 8;
		l->items = xrealloc(l->items, l->alloc * sizeof(*l->items));
	}
	l->items[l->nr++] = s;
}

int strlist_has(const struct strlist *l, const char *s)
{
	for (size_t i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i], s))
			return 1;
	return 0;
}

void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

int starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && !memcmp(s + ls - lx, suffix, lx);
}

size_t utf8_decode(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len;
	uint32_t c, min;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		len = 2, c = p[0] & 0x1f, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3, c = p[0] & 0x0f, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		len = 4, c = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int utf8_valid(const char *s, size_t n)
{
	uint32_t cp;

	while (n) {
		size_t len = utf8_decode(s, n, &cp);

		if (!len)
			return 0;
		s += len;
		n -= len;
	}
	return 1;
}

/*
 * What a terminal must never receive raw: the controls (Cc), the format
 * characters (Cf), the line and paragraph separators (Zl, Zp), and the
 * default-ignorable code points, which are drawn as nothing. From the
 * Unicode 15 character database (DerivedGeneralCategory.txt,
 * DerivedCoreProperties.txt), sorted.
 */
static const struct { uint32_t first, last; } unsafe_ranges[] = {
	{ 0x0000, 0x001f }, { 0x007f, 0x009f }, { 0x00ad, 0x00ad }, { 0x034f, 0x034f },
	{ 0x0600, 0x0605 }, { 0x061c, 0x061c }, { 0x06dd, 0x06dd }, { 0x070f, 0x070f },
	{ 0x0890, 0x0891 }, { 0x08e2, 0x08e2 }, { 0x115f, 0x1160 }, { 0x17b4, 0x17b5 },
	{ 0x180b, 0x180f }, { 0x200b, 0x200f }, { 0x2028, 0x202e }, { 0x2060, 0x206f },
	{ 0x3164, 0x3164 }, { 0xfe00, 0xfe0f }, { 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 },
	{ 0xfff0, 0xfffb }, { 0x110bd, 0x110bd }, { 0x110cd, 0x110cd }, { 0x13430, 0x1343f },
	{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a }, { 0xe0000, 0xe0fff },
};

static int unsafe_char(uint32_t cp)
{
	size_t lo = 0, hi = ARRAY_SIZE(unsafe_ranges);

	if (cp >= 0x20 && cp < 0x7f)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp < unsafe_ranges[mid].first)
			hi = mid;
		else if (cp > unsafe_ranges[mid].last)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

void escape_text(struct buf *out, const char *s, size_t len, enum escape_mode mode)
{
	const char *kept = s;   /* the start of the run of characters kept as they are */

	buf_grow(out, len);
	while (len) {
		uint32_t cp;
		size_t n = utf8_decode(s, len, &cp);

		if (n && (mode != ESCAPE_TERMINAL || !unsafe_char(cp))) {
			s += n;
			len -= n;
			continue;
		}
		buf_add(out, kept, (size_t)(s - kept));
		if (!n)
			buf_addf(out, "\\x%02x", (unsigned char)*s), n = 1;
		else if (cp == '\n')
			buf_adds(out, "\\n");
		else if (cp == '\t')
			buf_adds(out, "\\t");
		else if (cp < 0x80)
			buf_addf(out, "\\x%02x", (unsigned)cp);
		else
			buf_addf(out, "\\u{%04X}", (unsigned)cp);
		s += n;
		len -= n;
		kept = s;
	}
	buf_add(out, kept, (size_t)(s - kept));
}

size_t escape_find(const char *s, size_t len, int32_t *cp)
{
	size_t off = 0;

	while (off < len) {
		uint32_t c;
		size_t n = utf8_decode(s + off, len - off, &c);

		if (!n || unsafe_char(c)) {
			*cp = n ? (int32_t)c : -1;
			return off;
		}
		off += n;
	}
	return len;
}

const char *quote_for_message(struct buf *out, const char *s)
{
	buf_reset(out);
	escape_text(out, s, strlen(s), ESCAPE_TERMINAL);
	return out->ptr;
}

const char *quote_for_shell(struct buf *out, const char *s)
{
	struct buf plain = BUF_INIT;
	int safe = *s != '\0', special = 0;

	/* Judged as shown: an escaped character brings a backslash. */
	quote_for_message(&plain, s);
	for (const unsigned char *p = (const unsigned char *)plain.ptr; *p; p++) {
		if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._-", *p)))
			safe = 0;
		if (strchr("\"$`\\'", *p))
			special = 1;
	}
	buf_reset(out);
	if (safe) {
		buf_adds(out, plain.ptr);
	} else if (!special) {
		buf_addf(out, "\"%s\"", plain.ptr);
	} else {
		buf_addch(out, '\'');
		for (const char *p = plain.ptr; *p; p++)
			if (*p == '\'')
				buf_adds(out, "'\\''");
			else
				buf_addch(out, *p);
		buf_addch(out, '\'');
	}
	buf_release(&plain);
	return out->ptr;
}

json_t *json_text(const char *s)
{
	struct buf b = BUF_INIT;
	size_t len;
	json_t *j;

	if (!s)
		return NULL;
	len = strlen(s);
	if (utf8_valid(s, len))
		return json_stringn(s, len);
	escape_text(&b, s, len, ESCAPE_INVALID_UTF8);
	j = json_stringn(b.ptr, b.len);
	buf_release(&b);
	return j;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	struct buf tmp = BUF_INIT;
	const char *p = data;
	int fd = -1, ret = -1;

	buf_addf(&tmp, "%s.tmpXXXXXX", path);
	fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		box_error_set("cannot create a temporary file beside '%s': %s", path, strerror(errno));
		goto out;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			box_error_set("cannot write '%s': %s", tmp.ptr, strerror(errno));
			goto out;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0 || fchmod(fd, mode) < 0) {
		box_error_set("cannot write '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		box_error_set("cannot write '%s': %s", tmp.ptr, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.ptr, path) < 0) {
		box_error_set("cannot rename '%s' to '%s': %s", tmp.ptr, path, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp.ptr)
		unlink(tmp.ptr);
	buf_release(&tmp);
	return ret;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP) {
		/* Folders we made read-only must be writable again to empty them. */
		if (rmdir(path) < 0 && (chmod(path, 0700) < 0 || rmdir(path) < 0))
			goto fail;
		return 0;
	}
	if (unlink(path) < 0) {
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		int ok;

		if (slash)
			*slash = '\0';
		ok = slash && !chmod(dir, 0700) && !unlink(path);
		free(dir);
		if (!ok)
			goto fail;
	}
	return 0;
fail:
	box_error_set("cannot remove '%s': %s", path, strerror(errno));
	return -1;
}

int remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0) {
			box_error_set("cannot remove '%s': %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (chmod(path, 0700) < 0) {
		box_error_set("cannot remove '%s': %s", path, strerror(errno));
		return -1;
	}
	return nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

char *make_private_tmpdir(const char *what)
{
	const char *base = getenv("TMPDIR");
	char *path = xstrfmt("%s/git-box-%s.XXXXXX", base && *base ? base : "/tmp", what);

	if (!mkdtemp(path)) {
		box_error_set("cannot make a temporary folder '%s': %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	/* mkdtemp's 0700 is cut by the umask; the owner needs all of it. */
	if (chmod(path, 0700) < 0) {
		box_error_set("cannot make '%s' private: %s", path, strerror(errno));
		rmdir(path);
		free(path);
		return NULL;
	}
	return path;
}

static const int held_signal_numbers[HELD_SIGNALS_NR] = { SIGINT, SIGTERM, SIGHUP };
static volatile sig_atomic_t caught_signal;

static void note_signal(int sig)
{
	if (!caught_signal)
		caught_signal = sig;
}

void signals_hold(struct held_signals *h)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = note_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	caught_signal = 0;
	for (size_t i = 0; i < HELD_SIGNALS_NR; i++)
		sigaction(held_signal_numbers[i], &sa, &h->old[i]);
}

int signals_caught(void)
{
	if (!caught_signal)
		return 0;
	box_error_set("interrupted by signal %d", (int)caught_signal);
	return caught_signal;
}

void signals_release(const struct held_signals *h)
{
	for (size_t i = 0; i < HELD_SIGNALS_NR; i++)
		sigaction(held_signal_numbers[i], &h->old[i], NULL);
	if (caught_signal)
		raise(caught_signal);
}

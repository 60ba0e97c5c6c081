/*
 * git box filter-process: git's long-running filter protocol
 * (gitattributes(5), "Long Running Filter Process"), spoken on stdin and
 * stdout for the life of one git command.
 *
 * Failures come in three sizes, and only the last one ends the process:
 *
 *   one file     status=error; the next request is served as usual
 *                (a request without a pathname, an unknown command, a
 *                command not negotiated, a file the checks refuse);
 *   one command  status=abort; git stops sending that command to this
 *                process, and so do we (a pathname git could never
 *                send, a check that can serve no file any more);
 *   the protocol "fatal: filter-process: ..." on stderr and exit 2 (a bad
 *                packet, end of input inside a packet or a request, a
 *                line that is not key=value, no version 2 on offer).
 *
 * End of input between requests is git closing our stdin: exit 0.
 * stdout carries packets and nothing else; every diagnostic goes to
 * stderr, which git shares with the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "filter.h"
#include "output.h"
#include "pkt-line.h"
#include "banned.h"

/*
 * Where the content waits for its flush. git writes the whole content
 * before it reads a byte of the answer, and gitattributes(5) says the
 * filter "must not send any response before it received the content and
 * the final flush packet": relaying packets as they arrive fills the pipe
 * back to git while git still writes to us, and both block for ever on
 * any file larger than the two pipe buffers. So the content is held, in
 * memory up to SPOOL_MEM and beyond that in an unnamed temporary file:
 * memory stays the same however big the file. SPOOL_MEM is a whole number
 * of packets so that the content goes back out in full-size packets.
 */
#define SPOOL_MEM (16 * PKT_DATA_MAX)

struct spool {
	char *mem;         /* SPOOL_MEM bytes: the content, or the file's write/read buffer */
	size_t mem_len;
	size_t mem_read;   /* what spool_next() gave of mem, while the content is in memory */
	int fd;            /* the unnamed file once the content outgrew mem, else -1 */
	int in_file;       /* everything is in the file: mem is only a read buffer now */
	uint64_t size;     /* the whole content's */
	const char *dir;   /* where that file lives */
};

static int spool_open_file(struct spool *s)
{
	char *name;
	int saved;

	/* O_TMPFILE: the file never has a name, so nothing is left behind by a crash */
	s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd >= 0)
		return 0;
	if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		/* a file system without O_TMPFILE: name it only as long as it takes to unlink it */
		name = xstrfmt("%s/git-box-filter-XXXXXX", s->dir);
		s->fd = mkostemp(name, O_CLOEXEC);
		saved = errno;
		if (s->fd >= 0)
			unlink(name);
		free(name);
		errno = saved;
	}
	if (s->fd < 0) {
		box_error_set("cannot make a temporary file in '%s': %s", s->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int spool_add(struct spool *s, const void *data, size_t len)
{
	s->size += len;
	if (s->mem_len + len > SPOOL_MEM) {
		/* memory is full: move it to the file, in one large write */
		if (s->fd < 0 && spool_open_file(s) < 0)
			return -1;
		if (io_write_full(s->fd, s->mem, s->mem_len) < 0) {
			box_error_set("cannot write a temporary file in '%s': %s", s->dir, strerror(errno));
			return -1;
		}
		s->mem_len = 0;
	}
	memcpy(s->mem + s->mem_len, data, len);
	s->mem_len += len;
	return 0;
}

/*
 * Get the whole content ready for spool_next(), from its first byte.
 * It may be read this way more than once.
 */
static int spool_rewind(struct spool *s)
{
	s->mem_read = 0;
	if (s->fd < 0)
		return 0;
	if (!s->in_file && io_write_full(s->fd, s->mem, s->mem_len) < 0) {
		box_error_set("cannot write a temporary file in '%s': %s", s->dir, strerror(errno));
		return -1;
	}
	s->in_file = 1;
	if (lseek(s->fd, 0, SEEK_SET) < 0) {
		box_error_set("cannot read back a temporary file in '%s': %s", s->dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The next piece of the content in *data: its length, 0 at the end, -1 on error. */
static ssize_t spool_next(struct spool *s, const char **data)
{
	ssize_t n;

	if (s->fd < 0) {
		*data = s->mem + s->mem_read;
		n = (ssize_t)(s->mem_len - s->mem_read);
		s->mem_read = s->mem_len;
		return n;
	}
	*data = s->mem;
	n = io_read_full(s->fd, s->mem, SPOOL_MEM);
	if (n < 0)
		box_error_set("cannot read back a temporary file in '%s': %s", s->dir, strerror(errno));
	return n;
}

/* Forget the content; a file is closed, which gives its space back at once. */
static void spool_reset(struct spool *s)
{
	s->mem_len = s->mem_read = 0;
	s->size = 0;
	s->in_file = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* The content as the checks read it again in finish(): the spool itself. */
struct filter_content {
	struct spool spool;
};

uint64_t filter_content_size(const struct filter_content *c)
{
	return c->spool.size;
}

int filter_content_rewind(struct filter_content *c)
{
	return spool_rewind(&c->spool);
}

ssize_t filter_content_next(struct filter_content *c, const char **data)
{
	return spool_next(&c->spool, data);
}

struct filter {
	struct pkt_reader in;          /* stdin: git's requests */
	int out;                       /* stdout: our answers */
	unsigned negotiated;           /* the commands agreed in the handshake */
	unsigned aborted;              /* the commands answered status=abort */
	const struct filter_ops *ops;
	struct filter_content content;   /* the spool */
	char pathname[PKT_MAX];        /* the current request's, out of the reader's buffer */
};

/* The keys of one request as they came; check_request() judges them. */
struct request {
	struct filter_request file;
	unsigned commands;             /* how many command= lines */
	unsigned pathnames;            /* how many pathname= lines */
	size_t pathname_len;
	char command[32];              /* the command= value, for messages */
};

/* Split the text packet just read at its first '='; -1 if it is not key=value. */
static int split_key_value(struct pkt_reader *r, const char *where, const char **value,
			   size_t *value_len)
{
	const char *eq = memchr(r->buf, '=', r->len);
	struct buf q = BUF_INIT;

	if (!eq || eq == r->buf) {
		box_error_set("expected a key=value line %s, got '%s'", where,
			      quote_for_message(&q, r->buf));
		buf_release(&q);
		return -1;
	}
	*value = eq + 1;
	*value_len = r->len - (size_t)(eq + 1 - r->buf);
	return (int)(eq - r->buf);
}

static int is_key(const struct pkt_reader *r, int key_len, const char *key)
{
	return strlen(key) == (size_t)key_len && !memcmp(r->buf, key, (size_t)key_len);
}

static int is_value(const char *value, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(value, want, len);
}

/* A packet where a line was expected: name what came instead. */
static int unexpected(int status, const char *expected)
{
	if (status == PKT_EOF)
		box_error_set("end of input where %s was expected", expected);
	else if (status == PKT_FLUSH)
		box_error_set("flush packet where %s was expected", expected);
	return -1;
}

/*
 * git-filter-client, version=2, flush -> git-filter-server, version=2, flush;
 * then the capabilities: we take clean and smudge, never delay (we answer
 * every file at once), and answer with those git offered.
 */
static int handshake(struct filter *f)
{
	struct buf offered = BUF_INIT;
	const char *value;
	size_t value_len;
	int ret, key_len, v2 = 0;
	unsigned capabilities = 0;

	ret = pkt_read_text(&f->in);
	if (ret != PKT_DATA)
		return unexpected(ret, "'git-filter-client'");
	if (strcmp(f->in.buf, "git-filter-client")) {
		struct buf q = BUF_INIT;

		box_error_set("expected 'git-filter-client', got '%s'", quote_for_message(&q, f->in.buf));
		buf_release(&q);
		return -1;
	}
	while ((ret = pkt_read_text(&f->in)) == PKT_DATA) {
		key_len = split_key_value(&f->in, "in the version list", &value, &value_len);
		if (key_len < 0) {
			ret = -1;
			goto out;
		}
		if (!is_key(&f->in, key_len, "version"))
			continue;
		if (is_value(value, value_len, "2"))
			v2 = 1;
		/* for the message only: a client listing thousands must not grow it */
		if (offered.len < 256)
			buf_addf(&offered, "%s%.*s", offered.len ? ", " : "", (int)value_len, value);
	}
	if (ret != PKT_FLUSH) {
		ret = unexpected(ret, "the end of the version list");
		goto out;
	}
	if (!v2) {
		box_error_set("git offers protocol version %s; only version 2 is spoken here",
			      offered.len ? offered.ptr : "(none)");
		ret = -1;
		goto out;
	}
	if (pkt_write_text(f->out, "git-filter-server") < 0 ||
	    pkt_write_text(f->out, "version=2") < 0 || pkt_write_flush(f->out) < 0) {
		ret = -1;
		goto out;
	}

	while ((ret = pkt_read_text(&f->in)) == PKT_DATA) {
		key_len = split_key_value(&f->in, "in the capability list", &value, &value_len);
		if (key_len < 0) {
			ret = -1;
			goto out;
		}
		if (!is_key(&f->in, key_len, "capability"))
			continue;
		if (is_value(value, value_len, "clean"))
			capabilities |= FILTER_CLEAN;
		else if (is_value(value, value_len, "smudge"))
			capabilities |= FILTER_SMUDGE;
	}
	if (ret != PKT_FLUSH) {
		ret = unexpected(ret, "the end of the capability list");
		goto out;
	}
	if (((capabilities & FILTER_CLEAN) && pkt_write_text(f->out, "capability=clean") < 0) ||
	    ((capabilities & FILTER_SMUDGE) && pkt_write_text(f->out, "capability=smudge") < 0) ||
	    pkt_write_flush(f->out) < 0) {
		ret = -1;
		goto out;
	}
	f->negotiated = capabilities;
	ret = 0;
out:
	buf_release(&offered);
	return ret;
}

/*
 * Read the key=value lines of a request up to their flush. Returns 1 for
 * a request (good or bad: check_request() judges it), 0 at a clean end of
 * input, -1 on a protocol violation. Keys other than command and pathname
 * (ref, treeish, blob, can-delay, any later one) are not needed and skipped.
 */
static int read_request(struct filter *f, struct request *req)
{
	const char *value;
	size_t value_len;
	int ret, key_len;

	memset(req, 0, sizeof(*req));
	req->file.pathname = f->pathname;
	f->pathname[0] = '\0';
	ret = pkt_read_text(&f->in);
	if (ret == PKT_EOF)
		return 0;
	for (; ret == PKT_DATA; ret = pkt_read_text(&f->in)) {
		key_len = split_key_value(&f->in, "in a request", &value, &value_len);
		if (key_len < 0)
			return -1;
		if (is_key(&f->in, key_len, "command")) {
			req->commands++;
			if (is_value(value, value_len, "clean"))
				req->file.command = FILTER_CLEAN;
			else if (is_value(value, value_len, "smudge"))
				req->file.command = FILTER_SMUDGE;
			else
				req->file.command = 0;
			snprintf(req->command, sizeof(req->command), "%.*s", (int)value_len, value);
		} else if (is_key(&f->in, key_len, "pathname")) {
			req->pathnames++;
			memcpy(f->pathname, value, value_len);
			f->pathname[value_len] = '\0';
			req->pathname_len = value_len;
		}
	}
	if (ret == PKT_EOF)
		box_error_set("end of input inside a request");
	return ret == PKT_FLUSH ? 1 : -1;
}

/*
 * git names only files inside the work tree, relative to its top, as C
 * strings: its verify_path() keeps anything else out of the index. A
 * pathname with a NUL byte, a leading '/' or a ".." component is one git
 * never sends; whoever sends it is not a git we understand, or is trying
 * to make the checks look at a file outside the box. Such a request is
 * not one bad file but a client we must stop serving, hence status=abort.
 * (A newline is allowed: it is legal in a file name, and git sends it as is.)
 */
static int is_repository_path(const char *path, size_t len)
{
	const char *p = path, *end = path + len;

	if (memchr(path, '\0', len) || path[0] == '/')
		return 0;
	while (p < end) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 0;
		p += n + 1;
	}
	return 1;
}

/* The protocol's own per-file checks, before the filter's. */
static enum filter_verdict check_request(const struct filter *f, const struct request *req)
{
	if (!req->commands) {
		box_error_set("request without a command");
		return FILTER_ERROR;
	}
	if (req->commands > 1 || req->pathnames > 1) {
		box_error_set("request with more than one %s", req->commands > 1 ? "command" : "pathname");
		return FILTER_ERROR;
	}
	if (!req->file.command) {
		box_error_set("unknown command '%s'", req->command);
		return FILTER_ERROR;
	}
	if (f->aborted & req->file.command) {
		box_error_set("command '%s' was aborted earlier in this process", req->command);
		return FILTER_ABORT;
	}
	if (!(f->negotiated & req->file.command)) {
		box_error_set("command '%s' was not negotiated", req->command);
		return FILTER_ERROR;
	}
	if (!req->pathname_len) {
		box_error_set("request without a pathname");
		return FILTER_ERROR;
	}
	if (!is_repository_path(f->pathname, req->pathname_len)) {
		box_error_set("pathname is not inside the repository%s; no more '%s' requests will be served",
			      memchr(f->pathname, '\0', req->pathname_len) ? " (it holds a NUL byte)" : "",
			      req->command);
		return FILTER_ABORT;
	}
	return FILTER_PASS;
}

/* Say why on stderr, then answer status=error or status=abort. */
static int refuse(struct filter *f, const struct request *req, enum filter_verdict verdict)
{
	struct buf q = BUF_INIT;

	if (req->pathname_len)
		error("filter-process: '%s': %s", quote_for_message(&q, f->pathname), box_error_last());
	else
		error("filter-process: %s", box_error_last());
	buf_release(&q);
	if (verdict == FILTER_ABORT)
		f->aborted |= req->file.command;
	if (f->ops->hint && req->pathname_len && req->file.command)
		f->ops->hint(f->ops->data, &req->file);
	if (pkt_write_text(f->out, verdict == FILTER_ABORT ? "status=abort" : "status=error") < 0 ||
	    pkt_write_flush(f->out) < 0)
		return -1;
	return 1;
}

/*
 * Serve one request. Returns 1 when it was answered (whatever the answer),
 * 0 at a clean end of input, -1 on a protocol violation or when git can no
 * longer be written to: both end the process.
 */
static int serve_request(struct filter *f)
{
	struct request req;
	enum filter_verdict verdict;
	const char *piece;
	ssize_t n;
	int ret;

	ret = read_request(f, &req);
	if (ret <= 0)
		return ret;
	verdict = check_request(f, &req);
	if (verdict == FILTER_PASS)
		verdict = f->ops->start(f->ops->data, &req.file);

	/* The content is read to its flush even for a refused file: it is part of the framing. */
	while ((ret = pkt_read(&f->in)) == PKT_DATA) {
		if (verdict != FILTER_PASS)
			continue;
		if (f->ops->content)
			verdict = f->ops->content(f->ops->data, f->in.buf, f->in.len);
		if (verdict == FILTER_PASS && spool_add(&f->content.spool, f->in.buf, f->in.len) < 0)
			verdict = FILTER_ERROR;
	}
	if (ret != PKT_FLUSH) {
		if (ret == PKT_EOF)
			box_error_set("end of input inside the content of a request");
		ret = -1;
		goto out;
	}
	if (verdict == FILTER_PASS)
		verdict = f->ops->finish(f->ops->data, &req.file, &f->content);
	if (verdict == FILTER_PASS && spool_rewind(&f->content.spool) < 0)
		verdict = FILTER_ERROR;
	if (verdict != FILTER_PASS) {
		ret = refuse(f, &req, verdict);
		goto out;
	}

	ret = -1;
	if (pkt_write_text(f->out, "status=success") < 0 || pkt_write_flush(f->out) < 0)
		goto out;
	while ((n = spool_next(&f->content.spool, &piece)) > 0)
		if (pkt_write_stream(f->out, piece, (size_t)n) < 0)
			goto out;
	if (pkt_write_flush(f->out) < 0)
		goto out;
	/*
	 * The final list keeps status=success when empty. If the content
	 * could not be read back it was cut short: say status=error after
	 * it, and git throws away what it got.
	 */
	if (n < 0)
		ret = refuse(f, &req, FILTER_ERROR);
	else
		ret = pkt_write_flush(f->out) < 0 ? -1 : 1;
out:
	spool_reset(&f->content.spool);
	return ret;
}

static struct filter *filter_new(const struct filter_ops *ops)
{
	struct filter *f = xcalloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	pkt_reader_init(&f->in, 0);
	f->out = 1;
	f->ops = ops;
	f->content.spool.mem = xmalloc(SPOOL_MEM);
	f->content.spool.fd = -1;
	f->content.spool.dir = tmp && *tmp ? tmp : "/tmp";
	return f;
}

static void filter_free(struct filter *f)
{
	spool_reset(&f->content.spool);
	free(f->content.spool.mem);
	free(f);
}

/* 0 when git closes our stdin between requests, -1 when the conversation breaks. */
static int filter_run(struct filter *f)
{
	int ret;

	if (handshake(f) < 0)
		return -1;
	while ((ret = serve_request(f)) > 0)
		;
	return ret;
}

static const char *const filter_process_synopsis[] = {
	"git box filter-process",
	NULL,
};

static const struct command_usage filter_process_usage = {
	"filter-process", filter_process_synopsis,
};

int cmd_filter_process(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct readonly_filter *guard;
	struct filter_ops ops;
	struct filter *f;
	int c, exit_code = BOX_OK;

	while ((c = parse_options(argc, argv, "h", longopts, &filter_process_usage, &exit_code)) != -1)
		if (c == PARSE_OPTIONS_EXIT)
			return exit_code ? exit_code : (finish_stdout() ? BOX_ERROR : BOX_OK);
	if (optind < argc)
		return usage_error(&filter_process_usage, "unexpected argument '%s'", argv[optind]);

	guard = readonly_filter_new();
	readonly_filter_ops(&ops, guard);
	f = filter_new(&ops);
	if (filter_run(f) < 0) {
		fprintf_ln(stderr, "fatal: filter-process: %s", box_error_last());
		exit_code = BOX_ERROR;
	}
	filter_free(f);
	readonly_filter_free(guard);
	return exit_code;
}

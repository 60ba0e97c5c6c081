#include "catfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "util.h"
#include "banned.h"

#define READ_BUFFER (128 * 1024)
#define PIPE_SIZE (1024 * 1024)

struct catfile {
	struct child child;
	char *buf;            /* bytes read from git, not consumed yet: buf[pos..len) */
	size_t pos, len;
	uint64_t remaining;   /* content bytes of the current blob still to read */
	int in_content;       /* a header was read and its content (and LF) is not */
	int broken;           /* the stream is out of step: stop */
};

int catfile_open(struct catfile **out, git_repository *repo)
{
	/*
	 * git streams a packed blob only when it is larger than
	 * core.bigFileThreshold (else it reads it whole), and maps packs in
	 * windows: a small threshold and small windows keep its memory
	 * bounded too, whatever the size of a file or a pack.
	 */
	static const char *const argv[] = {
		"git", "--no-replace-objects", "-c", "core.bigFileThreshold=16m",
		"-c", "core.packedGitWindowSize=8m", "-c", "core.packedGitLimit=64m",
		"-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
		"cat-file", "--batch", NULL,
	};
	static const char *const drop[] = { "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE",
					    "GIT_NO_REPLACE_OBJECTS", "GIT_NO_LAZY_FETCH", NULL };
	struct child_options o = { argv, NULL, NULL, CHILD_SOCKET, CHILD_PIPE, CHILD_INHERIT };
	struct catfile *cf = xcalloc(1, sizeof(*cf));
	char *git_dir = xstrfmt("GIT_DIR=%s", git_repository_path(repo));
	/* the objects as stored: no replacements, and nothing fetched for a partial clone */
	const char *add[] = { git_dir, "GIT_NO_REPLACE_OBJECTS=1", "GIT_NO_LAZY_FETCH=1", NULL };
	char **env = child_env(drop, add);
	int ret;

	o.env = env;
	ret = child_start(&cf->child, &o);
	child_env_free(env);
	free(git_dir);
	if (ret < 0) {
		box_error_wrap("cannot read git's objects");
		free(cf);
		return -1;
	}
	/* A larger pipe means fewer trips through the kernel; the default also works. */
	fcntl(cf->child.out, F_SETPIPE_SZ, PIPE_SIZE);
	cf->buf = xmalloc(READ_BUFFER);
	*out = cf;
	return 0;
}

int catfile_request(struct catfile *cf, const git_oid *id)
{
	char line[GIT_OID_HEXSZ + 2];
	size_t done = 0;

	git_oid_tostr(line, sizeof(line), id);
	line[GIT_OID_HEXSZ] = '\n';
	while (done < sizeof(line) - 1) {
		ssize_t n = send(cf->child.in, line + done, sizeof(line) - 1 - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			box_error_set("git cat-file went away: %s", strerror(errno));
			cf->broken = 1;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Read more from git into the buffer; 0 at the end of the stream. */
static ssize_t fill(struct catfile *cf)
{
	ssize_t n;

	if (cf->pos == cf->len)
		cf->pos = cf->len = 0;
	if (cf->pos > 0 && cf->len == READ_BUFFER) {
		memmove(cf->buf, cf->buf + cf->pos, cf->len - cf->pos);
		cf->len -= cf->pos;
		cf->pos = 0;
	}
	do
		n = read(cf->child.out, cf->buf + cf->len, READ_BUFFER - cf->len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		box_error_set("cannot read from git cat-file: %s", strerror(errno));
		return -1;
	}
	cf->len += (size_t)n;
	return n;
}

int catfile_header(struct catfile *cf, const git_oid *id, uint64_t *size)
{
	char want[GIT_OID_HEXSZ + 1], type[16];
	char *line, *nl, *end;
	unsigned long long n;

	if (cf->broken || cf->in_content) {
		box_error_set("git cat-file is out of step");
		return -1;
	}
	git_oid_tostr(want, sizeof(want), id);
	for (;;) {
		nl = memchr(cf->buf + cf->pos, '\n', cf->len - cf->pos);
		if (nl)
			break;
		if (cf->len - cf->pos >= 256) {
			box_error_set("git cat-file sent an overlong header");
			goto broken;
		}
		if (fill(cf) <= 0) {
			box_error_set("git cat-file ended before answering for %s", want);
			goto broken;
		}
	}
	line = cf->buf + cf->pos;
	*nl = '\0';
	cf->pos = (size_t)(nl - cf->buf) + 1;
	if (strncmp(line, want, GIT_OID_HEXSZ) || line[GIT_OID_HEXSZ] != ' ') {
		box_error_set("git cat-file answered '%.60s' for %s", line, want);
		goto broken;
	}
	line += GIT_OID_HEXSZ + 1;
	if (!strcmp(line, "missing")) {
		box_error_set("object %s is missing from the repository", want);
		return -1;
	}
	end = strchr(line, ' ');
	if (!end || (size_t)(end - line) >= sizeof(type)) {
		box_error_set("git cat-file sent a header it should not: '%.60s'", line);
		goto broken;
	}
	memcpy(type, line, (size_t)(end - line));
	type[end - line] = '\0';
	errno = 0;
	n = strtoull(end + 1, &end, 10);
	if (errno || *end || end[-1] == ' ') {
		box_error_set("git cat-file sent a header it should not: '%.60s'", line);
		goto broken;
	}
	cf->remaining = n;
	cf->in_content = 1;
	if (strcmp(type, "blob")) {
		/* Skip its content so that the next answer can be read. */
		char skip[4096];
		ssize_t r;

		while ((r = catfile_read(cf, skip, sizeof(skip))) > 0)
			;
		if (r == 0)
			box_error_set("object %s is a %s, not a file's content", want, type);
		return -1;
	}
	*size = n;
	return 0;
broken:
	cf->broken = 1;
	return -1;
}

/* After the content, git writes one LF. */
static int finish_content(struct catfile *cf)
{
	if (cf->pos == cf->len && fill(cf) <= 0) {
		box_error_set("git cat-file ended in the middle of an object");
		cf->broken = 1;
		return -1;
	}
	if (cf->buf[cf->pos] != '\n') {
		box_error_set("git cat-file is out of step");
		cf->broken = 1;
		return -1;
	}
	cf->pos++;
	cf->in_content = 0;
	return 0;
}

ssize_t catfile_read(struct catfile *cf, void *buf, size_t len)
{
	size_t want;
	ssize_t n;

	if (cf->broken || !cf->in_content)
		return cf->broken ? -1 : 0;
	if (cf->remaining == 0)
		return finish_content(cf) < 0 ? -1 : 0;
	want = len < cf->remaining ? len : (size_t)cf->remaining;
	if (cf->pos < cf->len) {
		n = (ssize_t)(cf->len - cf->pos < want ? cf->len - cf->pos : want);
		memcpy(buf, cf->buf + cf->pos, (size_t)n);
		cf->pos += (size_t)n;
	} else if (want >= READ_BUFFER / 2) {
		/* Large reads go straight into the caller's buffer. */
		do
			n = read(cf->child.out, buf, want);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			box_error_set(n < 0 ? "cannot read from git cat-file"
				      : "git cat-file ended in the middle of an object");
			cf->broken = 1;
			return -1;
		}
	} else {
		if (fill(cf) <= 0) {
			box_error_set("git cat-file ended in the middle of an object");
			cf->broken = 1;
			return -1;
		}
		return catfile_read(cf, buf, len);
	}
	cf->remaining -= (uint64_t)n;
	return n;
}

int catfile_stream(struct catfile *cf, const git_oid *id, catfile_fn fn, void *payload, uint64_t *size)
{
	char chunk[64 * 1024];
	ssize_t n;

	if (catfile_request(cf, id) < 0 || catfile_header(cf, id, size) < 0)
		return -1;
	while ((n = catfile_read(cf, chunk, sizeof(chunk))) > 0) {
		if (fn(chunk, (size_t)n, payload)) {
			/* Drain the rest, so the reader stays usable. */
			while (catfile_read(cf, chunk, sizeof(chunk)) > 0)
				;
			return -1;
		}
	}
	return n < 0 ? -1 : 0;
}

int catfile_close(struct catfile *cf)
{
	int status, ret = 0;

	if (!cf)
		return 0;
	if (child_finish(&cf->child, &status) < 0)
		ret = -1;
	else if (!cf->broken && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		box_error_set("git cat-file failed");
		ret = -1;
	}
	free(cf->buf);
	free(cf);
	return ret;
}

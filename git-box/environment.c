#include "environment.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <curl/curl.h>
#include <git2.h>
#include <gpgme.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "child.h"
#include "banned.h"

#define OS_RELEASE_MAX (64 * 1024)

struct output {
	struct buf data;
	size_t max;
	int truncated;
	int open;
};

static void split_blanks(struct strlist *out, const char *command)
{
	const char *p = command;

	while (*p) {
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (len)
			strlist_add_nodup(out, xstrndup(p, len));
		p += len;
	}
}

static void drain(struct output *o, int fd)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		o->open = 0;
		return;
	}
	if (o->data.len + (size_t)n > o->max) {
		size_t room = o->max - o->data.len;

		buf_add(&o->data, chunk, room);
		o->truncated = 1;
	} else {
		buf_add(&o->data, chunk, (size_t)n);
	}
}

static double now_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Read stdout and stderr together until both end or time runs out; 1 on timeout. */
static int collect(struct child *c, struct output *out, struct output *err)
{
	double deadline = now_seconds() + ENVIRONMENT_TIMEOUT;

	out->open = err->open = 1;
	while (out->open || err->open) {
		struct pollfd fds[2] = { { c->out, POLLIN, 0 }, { c->err, POLLIN, 0 } };
		double left = deadline - now_seconds();
		int n;

		if (left <= 0)
			return 1;
		if (!out->open)
			fds[0].fd = -1;
		if (!err->open)
			fds[1].fd = -1;
		n = poll(fds, 2, (int)(left * 1000) + 1);
		if (n < 0 && errno != EINTR)
			return 1;
		if (n <= 0)
			continue;
		if (fds[0].revents)
			drain(out, c->out);
		if (fds[1].revents)
			drain(err, c->err);
	}
	return 0;
}

static int is_text(const struct buf *b)
{
	json_t *probe;

	if (!b->len)
		return 1;
	if (memchr(b->ptr, '\0', b->len))
		return 0;
	probe = json_stringn(b->ptr, b->len);
	json_decref(probe);
	return probe != NULL;
}

static json_t *base64(const struct buf *b)
{
	size_t len = 4 * ((b->len + 2) / 3);
	unsigned char *out = xmalloc(len + 1);
	json_t *s;

	EVP_EncodeBlock(out, (const unsigned char *)(b->ptr ? b->ptr : ""), (int)b->len);
	s = json_stringn((const char *)out, len);
	free(out);
	return s;
}

json_t *environment_run(const char *command, const char *dir)
{
	struct strlist words = STRLIST_INIT;
	struct output out = { BUF_INIT, ENVIRONMENT_MAX_OUTPUT, 0, 0 };
	struct output err = { BUF_INIT, ENVIRONMENT_MAX_STDERR, 0, 0 };
	struct child c = CHILD_INIT;
	json_t *argv = json_array(), *record;
	char *failure = NULL;
	int status = 0, ran = 0, timed_out = 0, text;
	const char **args;

	split_blanks(&words, command);
	for (size_t i = 0; i < words.nr; i++)
		json_array_append_new(argv, json_string(words.items[i]));
	args = xcalloc(words.nr + 1, sizeof(*args));
	for (size_t i = 0; i < words.nr; i++)
		args[i] = words.items[i];

	if (!words.nr) {
		failure = xstrdup("the command is empty");
	} else {
		struct child_options o = { args, NULL, dir, CHILD_NULL, CHILD_PIPE, CHILD_PIPE };

		if (child_start(&c, &o) < 0) {
			failure = xstrdup(box_error_last());
		} else {
			ran = 1;
			timed_out = collect(&c, &out, &err);
			if (timed_out) {
				kill(c.pid, SIGKILL);
				failure = xstrfmt("killed after %d seconds", ENVIRONMENT_TIMEOUT);
			}
			if (child_finish(&c, &status) < 0 && !failure)
				failure = xstrdup(box_error_last());
		}
	}

	text = is_text(&out.data) && is_text(&err.data);
	record = json_pack("{s:s, s:o, s:s, s:o, s:o, s:b}",
			   "command", command, "argv", argv,
			   "encoding", text ? "utf-8" : "base64",
			   "output", text ? json_stringn(out.data.ptr ? out.data.ptr : "", out.data.len)
					  : base64(&out.data),
			   "stderr", text ? json_stringn(err.data.ptr ? err.data.ptr : "", err.data.len)
					  : base64(&err.data),
			   "truncated", out.truncated || err.truncated);
	if (ran && !timed_out && WIFEXITED(status)) {
		json_object_set_new(record, "exit", json_integer(WEXITSTATUS(status)));
		json_object_set_new(record, "signal", json_null());
	} else {
		json_object_set_new(record, "exit", json_null());
		json_object_set_new(record, "signal", ran && WIFSIGNALED(status)
				    ? json_integer(WTERMSIG(status)) : json_null());
	}
	if (!failure && ran && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		failure = WIFEXITED(status) ? xstrfmt("exited with status %d", WEXITSTATUS(status))
			: xstrfmt("killed by signal %d", WTERMSIG(status));
	json_object_set_new(record, "status", json_string(failure ? "failed" : "ok"));
	json_object_set_new(record, "error", failure ? json_string(failure) : json_null());

	free(failure);
	free(args);
	strlist_release(&words);
	buf_release(&out.data);
	buf_release(&err.data);
	return record;
}

static json_t *libraries(void)
{
	int major, minor, rev;
	char libgit2[32];
	curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	git_libgit2_version(&major, &minor, &rev);
	snprintf(libgit2, sizeof(libgit2), "%d.%d.%d", major, minor, rev);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			 "libgit2", libgit2,
			 "openssl", OpenSSL_version(OPENSSL_VERSION),
			 "gpgme", gpgme_check_version(NULL),
			 "libyaml", yaml_get_version_string(),
			 "libarchive", archive_version_string(),
			 "libcurl", curl->version,
			 "jansson", jansson_version_str());
}

/* PRETTY_NAME from os-release(5), or NULL. */
static json_t *os_name(void)
{
	static const char *const files[] = { "/etc/os-release", "/usr/lib/os-release" };
	json_t *name = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(files) && !name; i++) {
		struct buf text = BUF_INIT;
		char *line, *save = NULL;

		if (buf_read_file(&text, files[i], OS_RELEASE_MAX) < 0) {
			buf_release(&text);
			continue;
		}
		for (line = strtok_r(text.ptr, "\n", &save); line && !name; line = strtok_r(NULL, "\n", &save)) {
			size_t len;

			if (!starts_with(line, "PRETTY_NAME="))
				continue;
			line += strlen("PRETTY_NAME=");
			len = strlen(line);
			if (len >= 2 && (line[0] == '"' || line[0] == '\'') && line[len - 1] == line[0]) {
				line++;
				len -= 2;
			}
			name = json_stringn(line, len);
		}
		buf_release(&text);
	}
	box_error_clear();
	return name ? name : json_null();
}

static json_t *operating_system(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return json_pack("{s:o}", "name", os_name());
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "system", u.sysname, "release", u.release,
			 "version", u.version, "machine", u.machine, "name", os_name());
}

/* "git version 2.39.5", or null when git cannot be run. */
static json_t *git_version(const char *dir)
{
	json_t *run = environment_run("git --version", dir), *out = json_object_get(run, "output");
	json_t *version = json_null();

	if (!strcmp(json_string_value(json_object_get(run, "status")), "ok") &&
	    !strcmp(json_string_value(json_object_get(run, "encoding")), "utf-8")) {
		const char *s = json_string_value(out);

		version = json_stringn(s, strcspn(s, "\n"));
	}
	json_decref(run);
	return version;
}

int environment_capture(json_t **out, const struct strlist *commands, const char *dir)
{
	json_t *captures = json_array();

	for (size_t i = 0; i < commands->nr; i++)
		json_array_append_new(captures, environment_run(commands->items[i], dir));
	*out = json_pack("{s:s, s:o, s:o, s:o, s:o}",
			 "git-box", GIT_BOX_VERSION,
			 "libraries", libraries(),
			 "git", git_version(dir),
			 "os", operating_system(),
			 "captures", captures);
	if (!*out) {
		box_error_set("cannot record the environment: a value is not valid UTF-8");
		return -1;
	}
	return 0;
}

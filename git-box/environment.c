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

/*
 * The probes: git box's own commands for what an analysis ran on. A
 * policy names one; no word of their argv comes from a repository. R and
 * Julia read the user's own start-up files, as they do for the analysis,
 * and none of a repository's, since they run in "/".
 */
static const char *const pip_argv[] = { "python3", "-m", "pip", "freeze", NULL };
static const char *const conda_argv[] = { "conda", "list", "--export", NULL };
static const char *const r_argv[] = {
	"Rscript", "-e",
	"cat(R.version.string, '\\n', sep = ''); "
	"p <- installed.packages()[, c('Package', 'Version'), drop = FALSE]; "
	"writeLines(paste0(p[, 1], '==', p[, 2]))",
	NULL,
};
static const char *const julia_argv[] = {
	"julia", "-e", "import Pkg; println(\"julia \", VERSION); Pkg.status()", NULL,
};

const struct environment_probe environment_probes[] = {
	{ "pip", "python3 -m pip freeze", pip_argv, ENVIRONMENT_TIMEOUT },
	{ "conda", "conda list --export", conda_argv, ENVIRONMENT_TIMEOUT },
	{ "r", NULL, r_argv, ENVIRONMENT_TIMEOUT },
	/* Julia loads Pkg and may compile it on a first run. */
	{ "julia", NULL, julia_argv, 300 },
};
const size_t environment_probes_nr = ARRAY_SIZE(environment_probes);

static const char *const git_argv[] = { "git", "--version", NULL };

/* Probes run here: no repository's files are in it, and only root writes to it. */
#define PROBE_DIR "/"

const struct environment_probe *environment_probe_find(const char *entry)
{
	for (size_t i = 0; i < environment_probes_nr; i++) {
		const struct environment_probe *p = &environment_probes[i];

		if (!strcmp(entry, p->name) || (p->command && !strcmp(entry, p->command)))
			return p;
	}
	return NULL;
}

int environment_probe_available(const struct environment_probe *probe)
{
	char *program = child_find_program_absolute(probe->argv[0]);
	int found = program != NULL;

	free(program);
	return found;
}

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

/* Read stdout and stderr together until both end or `timeout` seconds pass; 1 on timeout. */
static int collect(struct child *c, struct output *out, struct output *err, int timeout)
{
	double deadline = now_seconds() + timeout;

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

/*
 * Run `argv`, its program started from `program` (NULL: it was not
 * found), in `dir`, and describe how it went.
 */
static json_t *run(const char *const *argv, const char *program, const char *dir, int timeout)
{
	struct output out = { BUF_INIT, ENVIRONMENT_MAX_OUTPUT, 0, 0 };
	struct output err = { BUF_INIT, ENVIRONMENT_MAX_STDERR, 0, 0 };
	struct child c = CHILD_INIT;
	json_t *words = json_array(), *record;
	char *failure = NULL;
	int status = 0, ran = 0, timed_out = 0, text;
	size_t nr = 0;
	const char **args;

	while (argv[nr])
		json_array_append_new(words, json_string(argv[nr++]));
	args = xcalloc(nr + 1, sizeof(*args));
	memcpy(args, argv, nr * sizeof(*args));

	if (!nr) {
		failure = xstrdup("the command is empty");
	} else if (!program) {
		failure = xstrfmt("cannot run '%s': %s", argv[0], strerror(ENOENT));
	} else {
		struct child_options o = { args, NULL, dir, CHILD_NULL, CHILD_PIPE, CHILD_PIPE };

		args[0] = program;
		if (child_start(&c, &o) < 0) {
			failure = xstrdup(box_error_last());
		} else {
			ran = 1;
			timed_out = collect(&c, &out, &err, timeout);
			if (timed_out) {
				kill(c.pid, SIGKILL);
				failure = xstrfmt("killed after %d seconds", timeout);
			}
			if (child_finish(&c, &status) < 0 && !failure)
				failure = xstrdup(box_error_last());
		}
	}

	text = is_text(&out.data) && is_text(&err.data);
	record = json_pack("{s:o, s:s, s:o, s:o, s:b}", "argv", words,
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
	buf_release(&out.data);
	buf_release(&err.data);
	return record;
}

/* A record says where its command came from: the policy's probe, or one's own configuration. */
static json_t *tell(json_t *record, const char *command, const char *probe, const char *source)
{
	json_object_set_new(record, "command", json_string(command));
	json_object_set_new(record, "probe", probe ? json_string(probe) : json_null());
	json_object_set_new(record, "source", json_string(source));
	return record;
}

static json_t *run_probe(const struct environment_probe *probe, const char *entry)
{
	char *program = child_find_program_absolute(probe->argv[0]);
	json_t *record = run(probe->argv, program, PROBE_DIR, probe->timeout);

	free(program);
	return tell(record, entry, probe->name, "policy");
}

/* One's own command: a program named with a '/' is taken as written, from `dir`. */
static json_t *run_command(const char *command, const char *dir)
{
	struct strlist words = STRLIST_INIT;
	const char **argv;
	char *program = NULL;
	json_t *record;

	split_blanks(&words, command);
	argv = xcalloc(words.nr + 1, sizeof(*argv));
	memcpy(argv, words.items, words.nr * sizeof(*argv));
	if (words.nr)
		program = strchr(argv[0], '/') ? xstrdup(argv[0]) : child_find_program_absolute(argv[0]);
	record = run(argv, program, dir, ENVIRONMENT_TIMEOUT);
	free(program);
	free(argv);
	strlist_release(&words);
	return tell(record, command, NULL, "config");
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
static json_t *git_version(void)
{
	char *program = child_find_program_absolute(git_argv[0]);
	json_t *run_git = run(git_argv, program, PROBE_DIR, ENVIRONMENT_TIMEOUT);
	json_t *out = json_object_get(run_git, "output"), *version = json_null();

	if (!strcmp(json_string_value(json_object_get(run_git, "status")), "ok") &&
	    !strcmp(json_string_value(json_object_get(run_git, "encoding")), "utf-8")) {
		const char *text = json_string_value(out);

		version = json_stringn(text, strcspn(text, "\n"));
	}
	json_decref(run_git);
	free(program);
	return version;
}

int environment_config_commands(struct strlist *out, git_repository *repo)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int err, ret = -1;

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		box_error_from_git("cannot read the configuration");
		return -1;
	}
	if (git_config_multivar_iterator_new(&it, cfg, ENVIRONMENT_CONFIG_KEY, NULL) < 0) {
		box_error_from_git("cannot read %s", ENVIRONMENT_CONFIG_KEY);
		goto out;
	}
	while (!(err = git_config_next(&entry, it))) {
		json_t *utf8 = json_string(entry->value);

		json_decref(utf8);
		if (!utf8) {
			box_error_set("%s is not valid UTF-8", ENVIRONMENT_CONFIG_KEY);
			goto out;
		}
		/* An empty value forgets the commands before it, as git's credential.helper does. */
		if (!*entry->value)
			strlist_release(out);
		else
			strlist_add(out, entry->value);
	}
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot read %s", ENVIRONMENT_CONFIG_KEY);
		goto out;
	}
	ret = 0;
out:
	git_config_iterator_free(it);
	git_config_free(cfg);
	return ret;
}

int environment_capture(json_t **out, const struct strlist *capture, git_repository *repo)
{
	const struct environment_probe **probes = xcalloc(capture->nr + 1, sizeof(*probes));
	struct strlist commands = STRLIST_INIT;
	const char *dir = git_repository_workdir(repo);
	json_t *captures = NULL;
	int ret = -1;

	*out = NULL;
	/* All or nothing: a policy that names anything else runs nothing at all. */
	for (size_t i = 0; i < capture->nr; i++) {
		struct buf q = BUF_INIT;

		probes[i] = environment_probe_find(capture->items[i]);
		if (!probes[i]) {
			box_error_set("environment.capture[%zu]: '%s' is not a built-in probe; "
				      "nothing was run", i, quote_for_message(&q, capture->items[i]));
			buf_release(&q);
			goto out;
		}
	}
	if (environment_config_commands(&commands, repo) < 0)
		goto out;

	captures = json_array();
	for (size_t i = 0; i < capture->nr; i++)
		json_array_append_new(captures, run_probe(probes[i], capture->items[i]));
	for (size_t i = 0; i < commands.nr; i++)
		json_array_append_new(captures, run_command(commands.items[i],
							    dir ? dir : git_repository_path(repo)));
	*out = json_pack("{s:s, s:o, s:o, s:o, s:o}",
			 "git-box", GIT_BOX_VERSION,
			 "libraries", libraries(),
			 "git", git_version(),
			 "os", operating_system(),
			 "captures", captures);
	if (!*out) {
		box_error_set("cannot record the environment: a value is not valid UTF-8");
		goto out;
	}
	ret = 0;
out:
	strlist_release(&commands);
	free(probes);
	return ret;
}

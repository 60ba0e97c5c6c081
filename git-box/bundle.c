#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "hash.h"
#include "manifest.h"
#include "policy.h"
#include "repo.h"
#include "tsa.h"
#include "banned.h"

#define BUNDLE_FILE "box/repo.bundle"
/* A git bundle's header (its refs and prerequisites) is read whole up to this. */
#define HEADER_MAX (16u << 20)
/* What is kept of a git child's standard error for the report. */
#define GIT_STDERR_MAX 4096
#define POLICY_MAX (1024 * 1024)
#define CHAIN_MAX (4 << 20)
/* Past this many differing payload files, the rest are counted, not listed. */
#define DATA_LISTED_MAX 50

/* The bag checker names content as git does, in SHA-1: libgit2's only object format. */
_Static_assert(GIT_OID_RAWSZ == BAG_BLOB_ID_LEN, "a git blob id is not a SHA-1");

enum { KEEP_MANIFEST, KEEP_ASC, KEEP_TSR, KEEP_CHAIN, KEEP_VERIFY, KEEP_NR };

static const char *const keep_files[KEEP_NR + 1] = {
	"box/manifest.json", "box/manifest.json.asc", "box/manifest.tsr", "box/tsa-chain.pem",
	"box/verify.json", NULL,
};

struct reader {
	struct verify_report *r;
	const struct verify_options *o;
	const char *path;            /* the archive, as named */
	char *tmp;                   /* the private temporary folder */
	char *bundle;                /* tmp/repo.bundle */
	char *git_dir;               /* tmp/repo.git */
	char **env;                  /* for git: nothing of the user's git configuration */
	struct bag_report bag;
	git_repository *repo;
	git_oid commit;              /* Git-Box-Commit */
};

#define add verify_report_add

/* ---- the archive and the bag ------------------------------------------------ */

static int open_archive(int *fd, const char *path)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (*fd < 0) {
		box_error_set("cannot open the bundle '%s': %s", path,
			      errno == ELOOP ? "it is a symbolic link (name the file it points to)"
					     : strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		box_error_set("the bundle '%s' is not a regular file", path);
		close(*fd);
		*fd = -1;
		return -1;
	}
	if (fcntl(*fd, F_SETFL, 0) < 0) {
		box_error_set("cannot read the bundle '%s': %s", path, strerror(errno));
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

static int make_tmp(struct reader *rd)
{
	char *home;

	rd->tmp = make_private_tmpdir("bundle");
	if (!rd->tmp)
		return -1;
	home = xstrfmt("%s/home", rd->tmp);
	if (mkdir(home, 0700) < 0) {
		box_error_set("cannot make '%s': %s", home, strerror(errno));
		free(home);
		return -1;
	}
	free(home);
	rd->bundle = xstrfmt("%s/repo.bundle", rd->tmp);
	rd->git_dir = xstrfmt("%s/repo.git", rd->tmp);
	return 0;
}

static int is_unsafe(const char *problem)
{
	return starts_with(problem, "refusing") || strstr(problem, "is not a readable tar") ||
	       strstr(problem, "is truncated at");
}

/*
 * Check the bag, streaming box/repo.bundle into the private folder.
 * Returns 1 when the reading may go on (the history is there to check),
 * 0 when it must stop (the report says why), -1 on an error.
 */
static int check_bag(struct reader *rd, int fd, const struct bundle_options *bo)
{
	struct bag_check_opts opts = BAG_CHECK_OPTS_INIT;
	struct verify_report *r = rd->r;
	const char *value;
	int out, ret, unsafe = 0;

	out = open(rd->bundle, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		box_error_set("cannot make '%s': %s", rd->bundle, strerror(errno));
		return -1;
	}
	opts.limits = bo->limits;
	opts.keep = keep_files;
	opts.stream = BUNDLE_FILE;
	opts.stream_fd = out;
	opts.blob_ids = 1;
	ret = bag_check(&rd->bag, fd, rd->path, &opts);
	if (close(out) < 0 && ret >= 0) {
		box_error_set("cannot write '%s': %s", rd->bundle, strerror(errno));
		return -1;
	}
	if (ret < 0)
		return -1;

	for (size_t i = 0; i < rd->bag.problems.nr; i++) {
		const char *p = rd->bag.problems.items[i];

		add(r, VERIFY_FAIL, "bag", NULL, NULL, NULL, "%s", p);
		unsafe |= is_unsafe(p);
	}
	for (size_t i = 0; i < rd->bag.warnings.nr; i++)
		add(r, VERIFY_WARN, "bag", NULL, NULL, NULL, "%s", rd->bag.warnings.items[i]);
	if (unsafe) {
		add(r, VERIFY_FAIL, "bag", NULL, NULL, NULL,
		    "the archive was refused: nothing more of it was read");
		return 0;
	}
	if (rd->bag.has_fetch)
		add(r, VERIFY_FAIL, "bag", NULL, NULL, "fetch.txt",
		    "the bag has a fetch.txt, which git box never follows: "
		    "an audit bundle holds everything it needs");
	if (!ret) {
		if (!(rd->bag.manifest_algs & BAG_ALG_BIT(BAG_SHA256)))
			add(r, VERIFY_FAIL, "bag", NULL, NULL, "manifest-sha256.txt",
			    "missing: an audit bundle lists its payload in manifest-sha256.txt");
		if (!(rd->bag.tagmanifest_algs & BAG_ALG_BIT(BAG_SHA256)))
			add(r, VERIFY_FAIL, "bag", NULL, NULL, "tagmanifest-sha256.txt",
			    "missing: an audit bundle lists its tag files in tagmanifest-sha256.txt");
		if ((rd->bag.manifest_algs & BAG_ALG_BIT(BAG_SHA256)) &&
		    (rd->bag.tagmanifest_algs & BAG_ALG_BIT(BAG_SHA256)))
			add(r, VERIFY_OK, "bag", NULL, NULL, NULL,
			    "'%s/' is a valid BagIt %s bag: %zu payload files, each file as its manifests "
			    "say, nothing missing or extra", rd->bag.name ? rd->bag.name : "?",
			    rd->bag.version ? rd->bag.version : "?", rd->bag.payload_nr);
	}

	value = bag_info_get(&rd->bag, "Git-Box-Commit");
	if (!value || strlen(value) != GIT_OID_HEXSZ || strspn(value, "0123456789abcdef") != GIT_OID_HEXSZ ||
	    git_oid_fromstr(&rd->commit, value) < 0) {
		git_error_clear();
		add(r, VERIFY_FAIL, "bag", NULL, NULL, "bag-info.txt",
		    value ? "Git-Box-Commit is not a full commit id (40 lower-case hex digits)"
			  : "no Git-Box-Commit: the bag does not say which commit it holds");
		return 0;
	}
	if (!rd->bag.streamed) {
		add(r, VERIFY_FAIL, "bag", NULL, NULL, BUNDLE_FILE,
		    "missing: the bag holds no history to check");
		return 0;
	}
	return 1;
}

/* ---- the git bundle ---------------------------------------------------------- */

/*
 * Read the git bundle's header: its format line, then capabilities (v3),
 * prerequisites ("-<id> ...") and refs up to a blank line. A prerequisite
 * makes it thin: its history is not all there.
 */
static int check_header(struct reader *rd)
{
	struct buf head = BUF_INIT;
	char chunk[8192];
	const char *p, *end, *blank = NULL;
	size_t prerequisites = 0, refs = 0;
	int fd, ret = 0;
	ssize_t n;

	fd = open(rd->bundle, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		box_error_set("cannot read '%s': %s", rd->bundle, strerror(errno));
		return -1;
	}
	while (head.len < HEADER_MAX && !(blank = head.len ? memmem(head.ptr, head.len, "\n\n", 2) : NULL) &&
	       (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&head, chunk, (size_t)n);
	close(fd);
	if (!blank && head.len)
		blank = memmem(head.ptr, head.len, "\n\n", 2);
	if (!head.len || (!starts_with(head.ptr, "# v2 git bundle\n") && !starts_with(head.ptr, "# v3 git bundle\n")) ||
	    !blank) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE,
		    "not a git bundle (v2 or v3): no header ending in a blank line");
		goto out;
	}
	for (p = strchr(head.ptr, '\n') + 1; p <= blank; p = end + 1) {
		end = memchr(p, '\n', (size_t)(blank + 1 - p));
		if (!end)
			break;
		if (*p == '-') {
			add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE,
			    "thin: it needs commit %.*s, which it does not hold (a bundle must be complete)",
			    (int)(strcspn(p + 1, " \n") < 64 ? strcspn(p + 1, " \n") : 64), p + 1);
			prerequisites++;
		} else if (*p != '@') {
			refs++;
		}
	}
	ret = !prerequisites && refs ? 1 : 0;
	if (!refs && !prerequisites)
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE, "it holds no refs");
out:
	buf_release(&head);
	return ret;
}

/* Run git in the private repository; `err` gets the start of its standard error. */
static int run_git(struct reader *rd, const char *const *argv, struct buf *err, int *ok)
{
	struct child c = CHILD_INIT;
	struct child_options o = { NULL, NULL, NULL, CHILD_NULL, CHILD_NULL, CHILD_PIPE };
	char chunk[4096];
	ssize_t n;
	int status;

	o.argv = argv;
	o.env = rd->env;
	o.dir = rd->tmp;
	if (child_start(&c, &o) < 0)
		return -1;
	while ((n = read(c.err, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (err->len < GIT_STDERR_MAX)
			buf_add(err, chunk, (size_t)n < GIT_STDERR_MAX - err->len ? (size_t)n
										 : GIT_STDERR_MAX - err->len);
	}
	if (child_finish(&c, &status) < 0) {
		box_error_set("cannot wait for %s: %s", argv[0], strerror(errno));
		return -1;
	}
	*ok = WIFEXITED(status) && !WEXITSTATUS(status);
	while (err->len && (err->ptr[err->len - 1] == '\n' || err->ptr[err->len - 1] == '\r'))
		err->ptr[--err->len] = '\0';
	for (size_t i = 0; i < err->len; i++)
		if (err->ptr[i] == '\n')
			err->ptr[i] = ' ';
	return 0;
}

static int import_bundle(struct reader *rd)
{
	static const char *const drop[] = {
		"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_NAMESPACE", "GIT_OBJECT_DIRECTORY",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_SHALLOW_FILE",
		"GIT_REPLACE_REF_BASE", "GIT_CONFIG", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
		"GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_COUNT", "GIT_CONFIG_PARAMETERS", "GIT_CEILING_DIRECTORIES",
		"GIT_QUARANTINE_PATH", "HOME", "XDG_CONFIG_HOME", "GIT_TEMPLATE_DIR", "GIT_PROTOCOL_FROM_USER",
		"GIT_ALLOW_PROTOCOL", NULL,
	};
	const char *verify_argv[] = { "git", "bundle", "verify", "-q", rd->bundle, NULL };
	const char *fetch_argv[] = {
		"git", "-c", "transfer.fsckObjects=true", "-c", "fetch.fsckObjects=true",
		"-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0", "-c", "maintenance.auto=false",
		"-c", "fetch.writeCommitGraph=false", "-c", "core.fsmonitor=false",
		"fetch", "-q", "--no-write-fetch-head", "--no-tags", "--no-recurse-submodules",
		rd->bundle, "refs/*:refs/*", NULL,
	};
	git_repository_init_options init;
	git_repository *repo = NULL;
	struct buf err = BUF_INIT;
	char *git_dir, *home, *xdg;
	int ok, ret = -1;

	if (git_repository_init_options_init(&init, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0) {
		box_error_from_git("cannot make a temporary repository");
		return -1;
	}
	init.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKDIR;
	init.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	if (git_repository_init_ext(&repo, rd->git_dir, &init) < 0) {
		box_error_from_git("cannot make a temporary repository '%s'", rd->git_dir);
		return -1;
	}
	git_repository_free(repo);

	git_dir = xstrfmt("GIT_DIR=%s", rd->git_dir);
	home = xstrfmt("HOME=%s/home", rd->tmp);
	xdg = xstrfmt("XDG_CONFIG_HOME=%s/home", rd->tmp);
	{
		const char *add_env[] = { git_dir, home, xdg, "GIT_CONFIG_NOSYSTEM=1",
					  "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
					  "GIT_NO_REPLACE_OBJECTS=1", "GIT_TERMINAL_PROMPT=0",
					  "GIT_ALLOW_PROTOCOL=file", NULL };

		rd->env = child_env(drop, add_env);
	}
	free(git_dir);
	free(home);
	free(xdg);

	if (run_git(rd, verify_argv, &err, &ok) < 0)
		goto out;
	if (!ok) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE,
		    "git bundle verify refused it in an empty repository: %s", err.len ? err.ptr : "(no message)");
		ret = 0;
		goto out;
	}
	buf_reset(&err);
	if (run_git(rd, fetch_argv, &err, &ok) < 0)
		goto out;
	if (!ok) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE,
		    "git fetch with fsck refused it: %s", err.len ? err.ptr : "(no message)");
		ret = 0;
		goto out;
	}
	if (git_repository_open_ext(&rd->repo, rd->git_dir, GIT_REPOSITORY_OPEN_NO_SEARCH |
				    GIT_REPOSITORY_OPEN_BARE, NULL) < 0) {
		box_error_from_git("cannot open the temporary repository '%s'", rd->git_dir);
		goto out;
	}
	add(rd->r, VERIFY_OK, "bundle", NULL, NULL, BUNDLE_FILE,
	    "a complete git bundle, imported with fsck into a private repository (%llu bytes)",
	    (unsigned long long)rd->bag.stream_size);
	ret = 1;
out:
	buf_release(&err);
	return ret;
}

/* ---- the bag against the history ------------------------------------------------ */

static const struct bag_kept_file *kept(const struct reader *rd, int which)
{
	const struct bag_kept_file *k = &rd->bag.kept[which];

	return k->found ? k : NULL;
}

static void compare_file(struct reader *rd, int which, const char *what, const void *data, size_t len,
			 int expected)
{
	const struct bag_kept_file *k = kept(rd, which);
	const char *path = keep_files[which];

	if (!expected && !k)
		return;
	if (!expected)
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, path, "present, but %s", what);
	else if (!k)
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, path, "missing: it should be %s", what);
	else if (k->content.len != len || (len && memcmp(k->content.ptr, data, len)))
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, path, "is not %s", what);
	else
		add(rd->r, VERIFY_OK, "bundle", NULL, &rd->commit, path, "is %s, byte for byte", what);
}

static void compare_timestamp(struct reader *rd)
{
	struct tsa_tag parsed = TSA_TAG_INIT;
	git_object *obj = NULL;
	char *tag = NULL, *ref = NULL, *what = NULL;
	const char *message;

	if (tsa_find_tag(&tag, rd->repo, &rd->commit) < 0) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, keep_files[KEEP_TSR],
		    "the timestamp tags cannot be read: %s", box_error_last());
		goto out;
	}
	if (!tag) {
		compare_file(rd, KEEP_TSR, "no timestamp tag stamps this commit", NULL, 0, 0);
		goto out;
	}
	ref = xstrfmt("refs/tags/%s", tag);
	if (git_revparse_single(&obj, rd->repo, ref) < 0 || git_object_type(obj) != GIT_OBJECT_TAG ||
	    !(message = git_tag_message((git_tag *)obj)) ||
	    tsa_tag_parse(&parsed, message, strlen(message)) < 0) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, keep_files[KEEP_TSR],
		    "the timestamp tag '%s' cannot be read", tag);
		goto out;
	}
	what = xstrfmt("the timestamp response of the tag '%s'", tag);
	compare_file(rd, KEEP_TSR, what, parsed.der, parsed.der_len, 1);
out:
	box_error_clear();
	git_error_clear();
	free(what);
	free(ref);
	free(tag);
	git_object_free(obj);
	tsa_tag_release(&parsed);
}

static void compare_chain(struct reader *rd)
{
	struct policy policy = POLICY_INIT;
	struct buf text = BUF_INIT, chain = BUF_INIT;
	char *what = NULL;
	int has;

	if (repo_read_blob_at(&text, rd->repo, &rd->commit, POLICY_PATH, POLICY_MAX) < 0 ||
	    policy_parse(&policy, "bundle:" POLICY_PATH, text.ptr ? text.ptr : "", text.len) < 0) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, keep_files[KEEP_CHAIN],
		    "cannot be checked: %s", box_error_last());
		goto out;
	}
	has = policy.tsa_ca ? repo_commit_has_path(rd->repo, &rd->commit, policy.tsa_ca) : 0;
	if (has <= 0) {
		compare_file(rd, KEEP_CHAIN, "the policy names no TSA trust anchors in this commit",
			     NULL, 0, 0);
		goto out;
	}
	if (repo_read_blob_at(&chain, rd->repo, &rd->commit, policy.tsa_ca, CHAIN_MAX) < 0) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, keep_files[KEEP_CHAIN],
		    "cannot be checked: %s", box_error_last());
		goto out;
	}
	what = xstrfmt("the policy's timestamp.ca '%s'", policy.tsa_ca);
	compare_file(rd, KEEP_CHAIN, what, chain.ptr, chain.len, 1);
out:
	box_error_clear();
	git_error_clear();
	free(what);
	policy_release(&policy);
	buf_release(&text);
	buf_release(&chain);
}

static int compare_manifest_files(const void *a, const void *b)
{
	return strcmp((*(const struct manifest_file *const *)a)->path,
		      (*(const struct manifest_file *const *)b)->path);
}

static void data_differs(struct reader *rd, size_t *bad, const char *event, const char *path,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void data_differs(struct reader *rd, size_t *bad, const char *event, const char *path,
			 const char *fmt, ...)
{
	char *full;
	va_list ap;

	if ((*bad)++ >= DATA_LISTED_MAX)
		return;
	full = xstrfmt("data/%s", path);
	va_start(ap, fmt);
	verify_report_addv(rd->r, VERIFY_FAIL, "data", event, &rd->commit, full, fmt, ap);
	va_end(ap);
	free(full);
}

/* data/ must be exactly the manifest's inputs, outputs and code. */
static void compare_data(struct reader *rd, const struct manifest *m)
{
	const struct manifest_file **files;
	const struct bag_payload_file *p = rd->bag.payload;
	size_t n = 0, i = 0, j = 0, bad = 0, pnr = rd->bag.payload_nr;
	const char *class;
	uint64_t bytes = 0;

	while (manifest_file_at(m, n, &class))
		n++;
	files = xcalloc(n ? n : 1, sizeof(*files));
	for (size_t k = 0; k < n; k++)
		files[k] = manifest_file_at(m, k, &class);
	qsort(files, n, sizeof(*files), compare_manifest_files);
	while (i < n || j < pnr) {
		int c = i == n ? 1 : j == pnr ? -1 : strcmp(files[i]->path, p[j].path);

		if (c < 0) {
			data_differs(rd, &bad, m->event, files[i]->path,
				     "in the manifest, but not in data/");
			i++;
			continue;
		}
		if (c > 0) {
			data_differs(rd, &bad, m->event, p[j].path, "in data/, but not in the manifest");
			j++;
			continue;
		}
		if (files[i]->size != p[j].size) {
			data_differs(rd, &bad, m->event, p[j].path, "%llu bytes, but the manifest says %llu",
				     (unsigned long long)p[j].size, (unsigned long long)files[i]->size);
		} else if (memcmp(files[i]->sha256, p[j].sha256, SHA256_LEN)) {
			char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];

			sha256_hex(want, files[i]->sha256);
			sha256_hex(got, p[j].sha256);
			data_differs(rd, &bad, m->event, p[j].path, "sha256 %s, but the manifest says %s",
				     got, want);
		} else if ((files[i]->mode == 0100755) != !!p[j].executable) {
			data_differs(rd, &bad, m->event, p[j].path, "%s, but the manifest says mode %06o",
				     p[j].executable ? "executable" : "not executable", files[i]->mode);
		}
		bytes += p[j].size;
		i++;
		j++;
	}
	if (bad > DATA_LISTED_MAX)
		add(rd->r, VERIFY_FAIL, "data", m->event, &rd->commit, NULL,
		    "and %zu more files differ from the manifest", bad - DATA_LISTED_MAX);
	if (!bad)
		add(rd->r, VERIFY_OK, "data", m->event, &rd->commit, NULL,
		    "data/ is exactly the %zu files of the manifest (%llu bytes): each path, size, "
		    "sha256 and mode", n, (unsigned long long)bytes);
	free(files);
}

static void compare_bag(struct reader *rd)
{
	struct buf payload = BUF_INIT, signatures = BUF_INIT;
	struct manifest m = MANIFEST_INIT;
	int found;

	found = box_note_read(&payload, &signatures, rd->repo, &rd->commit);
	if (found) {
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, NULL,
		    "the commit has no manifest note in box/repo.bundle%s%s", found < 0 ? ": " : "",
		    found < 0 ? box_error_last() : "");
		box_error_clear();
		goto out;
	}
	compare_file(rd, KEEP_MANIFEST, "the payload of the manifest note on this commit",
		     payload.ptr, payload.len, 1);
	compare_file(rd, KEEP_ASC, signatures.len ? "the signatures of the manifest note on this commit"
						  : "the manifest note on this commit has no signature",
		     signatures.ptr, signatures.len, signatures.len > 0);
	compare_timestamp(rd);
	compare_chain(rd);
	if (kept(rd, KEEP_VERIFY))
		add(rd->r, VERIFY_OK, "bundle", NULL, NULL, keep_files[KEEP_VERIFY],
		    "present, and not read: every check here was made again");
	if (manifest_parse(&m, payload.ptr ? payload.ptr : "", payload.len) < 0) {
		add(rd->r, VERIFY_FAIL, "data", NULL, &rd->commit, NULL,
		    "data/ cannot be checked: the note is not a manifest: %s", box_error_last());
		box_error_clear();
		goto out;
	}
	compare_data(rd, &m);
out:
	manifest_release(&m);
	buf_release(&payload);
	buf_release(&signatures);
}

static int compare_hash_files(const void *a, const void *b)
{
	return strcmp(((const struct hash_file *)a)->path, ((const struct hash_file *)b)->path);
}

static void tree_differs(struct reader *rd, size_t *bad, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void tree_differs(struct reader *rd, size_t *bad, const char *path, const char *fmt, ...)
{
	char *full;
	va_list ap;

	if ((*bad)++ >= DATA_LISTED_MAX)
		return;
	full = xstrfmt("data/%s", path);
	va_start(ap, fmt);
	verify_report_addv(rd->r, VERIFY_FAIL, "data", NULL, &rd->commit, full, fmt, ap);
	va_end(ap);
	free(full);
}

/*
 * data/ must be exactly the files of the commit's tree, with the bytes
 * of their blobs: the git blob id the bag checker computed of each
 * payload file as it streamed by is the tree entry's, and its execute
 * bit the entry's mode (a symbolic link is a file holding its target,
 * not executable). The manifest says the same of a verified box, but
 * this holds whatever the manifest, the note or the reading of either.
 */
static void compare_tree(struct reader *rd)
{
	struct hash_files tree = HASH_FILES_INIT;
	const struct bag_payload_file *p = rd->bag.payload;
	size_t i = 0, j = 0, bad = 0, pnr = rd->bag.payload_nr;
	git_commit *commit = NULL;
	git_tree *root = NULL;
	char got[GIT_OID_HEXSZ + 1], want[GIT_OID_HEXSZ + 1];

	if (git_commit_lookup(&commit, rd->repo, &rd->commit) < 0 || git_commit_tree(&root, commit) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(&rd->commit));
		goto cannot;
	}
	if (hash_files_from_tree(&tree, rd->repo, root) < 0)
		goto cannot;
	if (tree.nr > 1)
		qsort(tree.items, tree.nr, sizeof(*tree.items), compare_hash_files);
	while (i < tree.nr || j < pnr) {
		const struct hash_file *f = i < tree.nr ? &tree.items[i] : NULL;
		int c = !f ? 1 : j == pnr ? -1 : strcmp(f->path, p[j].path);
		git_oid id;

		if (c < 0) {
			tree_differs(rd, &bad, f->path, "in the commit's tree, but not in data/");
			i++;
			continue;
		}
		if (c > 0) {
			tree_differs(rd, &bad, p[j].path, "in data/, but not a file of the commit's tree");
			j++;
			continue;
		}
		git_oid_fromraw(&id, p[j].blob_id);
		if (!git_oid_equal(&id, &f->id)) {
			git_oid_tostr(got, sizeof(got), &id);
			git_oid_tostr(want, sizeof(want), &f->id);
			tree_differs(rd, &bad, f->path, "its content is blob %s, but the commit's tree has blob %s",
				     got, want);
		} else if (!!p[j].executable != (f->mode == 0100755)) {
			tree_differs(rd, &bad, f->path, "%s, but the commit's tree has %s",
				     p[j].executable ? "executable" : "not executable",
				     f->mode == 0120000 ? "a symbolic link (mode 120000)"
				     : f->mode == 0100755 ? "mode 100755" : "mode 100644");
		}
		i++;
		j++;
	}
	if (bad > DATA_LISTED_MAX)
		add(rd->r, VERIFY_FAIL, "data", NULL, &rd->commit, NULL,
		    "and %zu more files differ from the commit's tree", bad - DATA_LISTED_MAX);
	if (!bad)
		add(rd->r, VERIFY_OK, "data", NULL, &rd->commit, NULL,
		    "data/ is exactly the %zu files of the commit's tree %.12s: each path, git blob id and "
		    "execute bit", tree.nr, git_oid_tostr_s(git_tree_id(root)));
	goto out;
cannot:
	add(rd->r, VERIFY_FAIL, "data", NULL, &rd->commit, NULL,
	    "data/ cannot be checked against the commit's tree: %s", box_error_last());
	box_error_clear();
	git_error_clear();
out:
	hash_files_release(&tree);
	git_tree_free(root);
	git_commit_free(commit);
}

/* ---- all of it ---------------------------------------------------------------------- */

/* Which commit to verify: Git-Box-Commit, which must be on the box branch. */
static int pick_commit(struct reader *rd, const char **rev, int *rev_given)
{
	struct box b;
	git_commit *commit = NULL;
	git_oid notes;
	int not_a_box, on = 0;

	memset(&b, 0, sizeof(b));
	if (box_open_flags(&b, rd->repo, &not_a_box, BOX_OPEN_POLICY_AT_INIT) < 0) {
		b.repo = NULL;
		box_release(&b);
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE, "it holds no git box: %s",
		    box_error_last());
		box_error_clear();
		return 0;
	}
	if (git_reference_name_to_id(&notes, rd->repo, BOX_NOTES_REF) < 0) {
		/* On a clone that is a fetch to make; in a bundle, evidence missing. */
		git_error_clear();
		b.repo = NULL;
		box_release(&b);
		add(rd->r, VERIFY_FAIL, "bundle", NULL, NULL, BUNDLE_FILE,
		    "it holds no %s: the box's manifests are missing", BOX_NOTES_REF);
		return 0;
	}
	if (git_commit_lookup(&commit, rd->repo, &rd->commit) < 0)
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, BUNDLE_FILE,
		    "bag-info.txt's Git-Box-Commit is not a commit of the bundle");
	else if (git_oid_equal(&b.tip, &rd->commit) ||
		 git_graph_descendant_of(rd->repo, &b.tip, &rd->commit) == 1)
		on = 1;
	else
		add(rd->r, VERIFY_FAIL, "bundle", NULL, &rd->commit, BUNDLE_FILE,
		    "bag-info.txt's Git-Box-Commit is not on the box branch %s: the box is verified "
		    "at its tip instead", b.branch_ref);
	git_error_clear();
	*rev = NULL;
	*rev_given = 0;
	if (on && !git_oid_equal(&b.tip, &rd->commit)) {
		*rev = git_oid_tostr_s(&rd->commit);
		*rev_given = 1;
	}
	git_commit_free(commit);
	b.repo = NULL;
	box_release(&b);
	return on ? 1 : 2;
}

int bundle_verify(struct verify_report *out, const char *path, const struct verify_options *o,
		  const struct bundle_options *bo)
{
	struct reader rd;
	struct verify_report history = VERIFY_REPORT_INIT;
	struct verify_options vo = *o;
	char rev_hex[GIT_OID_HEXSZ + 1];
	const char *rev = NULL, *id;
	int fd = -1, ret = -1, go, picked;
	struct held_signals held;

	memset(out, 0, sizeof(*out));
	memset(&rd, 0, sizeof(rd));
	rd.r = out;
	rd.o = o;
	rd.path = path;
	out->self_check = o->self_check;
	if (verify_options_check(out, o) < 0)
		return -1;
	if (o->expect_seal) {
		unsigned char digest[SHA256_LEN];

		if (sha256_from_hex(digest, o->expect_seal) < 0) {
			box_error_set("--expect-seal '%s' is not a SHA-256 (64 lower-case hex digits)",
				      o->expect_seal);
			return -1;
		}
	}
	signals_hold(&held);
	if (open_archive(&fd, path) < 0 || make_tmp(&rd) < 0)
		goto out;
	go = check_bag(&rd, fd, bo);
	close(fd);
	fd = -1;
	if (signals_caught())
		go = -1;
	if (go <= 0) {
		ret = go;
		goto out;
	}
	go = check_header(&rd);
	if (go > 0)
		go = import_bundle(&rd);
	if (signals_caught())
		go = -1;
	if (go <= 0) {
		ret = go;
		goto out;
	}
	picked = pick_commit(&rd, &rev, &vo.rev_given);
	if (!picked) {
		ret = 0;
		goto out;
	}
	if (rev) {
		memcpy(rev_hex, rev, sizeof(rev_hex));
		rev = rev_hex;
	}
	if (verify_repository(&history, rd.repo, rev, &vo) < 0 || signals_caught()) {
		verify_report_take(out, &history);
		goto out;
	}
	verify_report_take(out, &history);
	id = bag_info_get(&rd.bag, "External-Identifier");
	if (out->box && (!id || strcmp(id, out->box)))
		add(out, VERIFY_FAIL, "bag", NULL, NULL, "bag-info.txt",
		    "External-Identifier '%s' is not the box's id %s", id ? id : "", out->box);
	if (picked == 1) {
		compare_bag(&rd);
		compare_tree(&rd);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (!out->commit && rd.bag.payload_nr + rd.bag.info_nr && !git_oid_is_zero(&rd.commit))
		out->commit = xstrdup(git_oid_tostr_s(&rd.commit));
	git_repository_free(rd.repo);
	child_env_free(rd.env);
	if (rd.tmp) {
		remove_tree(rd.tmp);
		free(rd.tmp);
	}
	free(rd.bundle);
	free(rd.git_dir);
	bag_report_release(&rd.bag);
	signals_release(&held);
	return ret;
}

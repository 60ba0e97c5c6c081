/*
 * git box init: make a box of a new folder or of an existing repository.
 *
 * Everything that can be refused is checked before the first change.
 * From then on every file, folder and setting this run creates is logged,
 * and a failure removes them all: there is never a half-made box.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "install.h"
#include "output.h"
#include "repo.h"
#include "templates.h"
#include "banned.h"

#define TSA_CA_PATH ".box/tsa-ca.pem"
#define COPY_CHUNK (128 * 1024)

static const char *const synopsis[] = {
	"git box init [<dir>] [--name <name>] [--input <path>]... [--output <path>]... "
	"[--from <src>]... [--branch <branch>] [--policy <file>] [--signer <fpr>]... "
	"[--quorum <n>] [--tsa <url>]... [--tsa-ca <file>] [--json]",
	NULL,
};

static const struct command_usage usage = { "init", synopsis };

struct init_options {
	const char *dir;
	const char *name;
	const char *branch;
	const char *policy_file;
	const char *tsa_ca;
	struct strlist inputs, outputs, from, signers, tsa;
	const char *quorum;
	int json;
};

/* What this run changed, newest last, so that a failure can take it back. */
struct undo {
	char *made_dir;              /* the folder we created, removed whole */
	char *made_git_dir;          /* the .git we created */
	struct strlist made;         /* files and folders we created, in order */
	char *attributes_path;
	struct buf attributes_before;
	int attributes_existed;
	int installed;
};

struct target {
	char *path;          /* absolute, no trailing '/' */
	char *workdir;       /* path + '/' */
	int exists;
	git_repository *repo;   /* an existing repository, or the one we make */
	char *head_branch;      /* its current branch */
};

struct copy_stats {
	size_t files;
	uint64_t bytes;
	struct progress *progress;
};

/* ---- the policy ---------------------------------------------------------- */

/* A YAML double-quoted scalar: safe for any name or path a person types. */
static void yaml_quote(struct buf *out, const char *s)
{
	buf_addch(out, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			buf_addf(out, "\\x%02x", *p);
		else
			buf_addch(out, (char)*p);
	}
	buf_addch(out, '"');
}

static void yaml_list(struct buf *out, const struct strlist *l)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < l->nr; i++) {
		if (i)
			buf_adds(out, ", ");
		yaml_quote(out, l->items[i]);
	}
	buf_addch(out, ']');
}

static const struct box_template *find_template(const char *name)
{
	for (const struct box_template *t = box_templates; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static void fill_policy_template(struct buf *out, const struct init_options *o, const char *name,
				 const char *branch)
{
	const struct box_template *t = find_template("policy.yaml");
	const char *p = t->data, *end = t->data + t->len;
	struct strlist default_inputs = STRLIST_INIT, default_outputs = STRLIST_INIT;

	strlist_add(&default_inputs, "input/");
	strlist_add(&default_outputs, "output/");
	while (p < end) {
		const char *at = memchr(p, '@', (size_t)(end - p)), *close;
		struct buf key = BUF_INIT;

		if (!at || !(close = memchr(at + 1, '@', (size_t)(end - at - 1)))) {
			buf_add(out, p, (size_t)(end - p));
			break;
		}
		buf_add(out, p, (size_t)(at - p));
		buf_add(&key, at + 1, (size_t)(close - at - 1));
		if (!strcmp(key.ptr, "NAME"))
			yaml_quote(out, name);
		else if (!strcmp(key.ptr, "BRANCH"))
			yaml_quote(out, branch);
		else if (!strcmp(key.ptr, "INPUTS"))
			yaml_list(out, o->inputs.nr ? &o->inputs : &default_inputs);
		else if (!strcmp(key.ptr, "OUTPUTS"))
			yaml_list(out, o->outputs.nr ? &o->outputs : &default_outputs);
		else if (!strcmp(key.ptr, "SIGNING_WHEN"))
			buf_adds(out, o->signers.nr ? "seal" : "none");
		else if (!strcmp(key.ptr, "SIGNERS"))
			yaml_list(out, &o->signers);
		else if (!strcmp(key.ptr, "QUORUM"))
			buf_adds(out, o->quorum ? o->quorum : o->signers.nr ? "1" : "0");
		else if (!strcmp(key.ptr, "TIMESTAMP_WHEN"))
			buf_adds(out, o->tsa.nr ? "seal" : "none");
		else if (!strcmp(key.ptr, "TSA"))
			yaml_list(out, &o->tsa);
		else if (!strcmp(key.ptr, "TSA_CA"))
			buf_adds(out, o->tsa_ca ? "\"" TSA_CA_PATH "\"" : "null");
		else
			buf_add(out, at, (size_t)(close - at + 1));
		buf_release(&key);
		p = close + 1;
	}
	strlist_release(&default_inputs);
	strlist_release(&default_outputs);
}

/* ---- checks before anything changes --------------------------------------- */

static int folder_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Absolute form of a path that may not exist yet: resolve its existing part. */
static char *absolute_path(const char *path)
{
	char *copy = xstrdup(path), *resolved = realpath(path, NULL), *parent, *base, *result;

	if (resolved) {
		free(copy);
		return resolved;
	}
	base = xstrdup(basename(copy));
	parent = absolute_path(dirname(copy));
	result = !strcmp(base, ".") ? xstrdup(parent)
		: xstrfmt("%s%s%s", parent, ends_with(parent, "/") ? "" : "/", base);
	free(base);
	free(parent);
	free(copy);
	return result;
}

static char *nearest_existing(const char *path)
{
	char *p = xstrdup(path);
	struct stat st;

	while (lstat(p, &st) < 0) {
		char *slash = strrchr(p, '/');

		if (!slash || slash == p) {
			free(p);
			return xstrdup("/");
		}
		*slash = '\0';
	}
	return p;
}

static char *current_branch(git_repository *repo)
{
	git_reference *head = NULL;
	char *branch = NULL;

	if (!git_reference_lookup(&head, repo, "HEAD") &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    starts_with(git_reference_symbolic_target(head), "refs/heads/"))
		branch = xstrdup(git_reference_symbolic_target(head) + strlen("refs/heads/"));
	git_reference_free(head);
	return branch;
}

static char *default_branch(void)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	char *branch;

	if (!git_config_open_default(&cfg) && !git_config_get_string_buf(&value, cfg, "init.defaultBranch")
	    && *value.ptr)
		branch = xstrdup(value.ptr);
	else
		branch = xstrdup("main");
	git_buf_dispose(&value);
	git_config_free(cfg);
	return branch;
}

static int examine_target(struct target *t, const char *dir)
{
	git_repository *found = NULL;
	char *start, *top = NULL;
	struct stat st;
	int ret = -1;

	t->path = absolute_path(dir);
	if (strlen(t->path) > 1 && ends_with(t->path, "/"))
		t->path[strlen(t->path) - 1] = '\0';
	t->workdir = xstrfmt("%s/", t->path);
	if (!lstat(t->path, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			box_error_set("'%s' exists and is not a folder", t->path);
			return -1;
		}
		t->exists = 1;
	}

	start = nearest_existing(t->path);
	if (git_repository_open_ext(&found, start, 0, getenv("GIT_CEILING_DIRECTORIES")) < 0) {
		free(start);
		git_error_clear();
		if (t->exists && !folder_is_empty(t->path)) {
			box_error_set("'%s' is not empty and is not a git repository", t->path);
			return -1;
		}
		return 0;
	}
	free(start);

	if (git_repository_is_bare(found)) {
		box_error_set("'%s' is inside the bare repository '%s'", t->path, git_repository_path(found));
		goto out;
	}
	top = realpath(git_repository_workdir(found), NULL);
	if (top && t->exists && !strcmp(top, t->path)) {
		struct box probe = BOX_INIT;
		int not_a_box;

		if (!box_open(&probe, found, &not_a_box)) {
			box_error_set("'%s' is already a git box ('%s')", t->path, probe.policy.name);
			box_release(&probe);
			found = NULL;
			goto out;
		}
		probe.repo = NULL;
		box_release(&probe);
		if (!not_a_box)
			goto out;
		t->repo = found;
		found = NULL;
		t->head_branch = current_branch(t->repo);
		if (!t->head_branch) {
			box_error_set("HEAD of '%s' is not on a branch", t->path);
			goto out;
		}
		ret = 0;
		goto out;
	}
	{
		struct box probe = BOX_INIT;
		int not_a_box;

		if (!box_open(&probe, found, &not_a_box))
			box_error_set("'%s' lies inside the git box at '%s'", t->path, top ? top : "?");
		else
			box_error_set("'%s' lies inside the git repository at '%s'; "
				      "run 'git box init' at its top level", t->path, top ? top : "?");
		box_release(&probe);
		found = NULL;
	}
out:
	free(top);
	git_repository_free(found);
	return ret;
}

/* Walk a source, calling `fn` for each entry below `src` ("" is the top). */
typedef int (*walk_fn)(const char *src_path, const char *rel, const struct stat *st, void *data);

static int walk_source(const char *root_real, const char *path, const char *rel, walk_fn fn, void *data);

static int check_link(const char *root_real, const char *path, struct stat *st)
{
	char *target = realpath(path, NULL);
	size_t len = strlen(root_real);
	int inside;

	if (!target) {
		box_error_set("'%s' is a symbolic link that leads nowhere", path);
		return -1;
	}
	inside = !strncmp(target, root_real, len) && (target[len] == '/' || !target[len]);
	if (!inside) {
		box_error_set("'%s' is a symbolic link to '%s', outside the source", path, target);
		free(target);
		return -1;
	}
	if (stat(target, st) < 0 || !S_ISREG(st->st_mode)) {
		box_error_set("'%s' is a symbolic link to a folder or special file; "
			      "copy what it points to instead", path);
		free(target);
		return -1;
	}
	free(target);
	return 0;
}

static int walk_source(const char *root_real, const char *path, const char *rel, walk_fn fn, void *data)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (lstat(path, &st) < 0) {
		box_error_set("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	/* A link inside the source is copied as the file it names; never a way out. */
	if (S_ISLNK(st.st_mode) && *rel && check_link(root_real, path, &st) < 0)
		return -1;
	if (S_ISLNK(st.st_mode) && stat(path, &st) < 0) {
		box_error_set("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		box_error_set("'%s' is a special file (not a file or a folder)", path);
		return -1;
	}
	if (fn(path, rel, &st, data) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;

	d = opendir(path);
	if (!d) {
		box_error_set("cannot read the folder '%s': %s", path, strerror(errno));
		return -1;
	}
	while (!ret && (errno = 0, e = readdir(d))) {
		char *child, *child_rel;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		child = xstrfmt("%s/%s", path, e->d_name);
		child_rel = *rel ? xstrfmt("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		ret = walk_source(root_real, child, child_rel, fn, data);
		free(child);
		free(child_rel);
	}
	if (!ret && errno) {
		box_error_set("cannot read the folder '%s': %s", path, strerror(errno));
		ret = -1;
	}
	closedir(d);
	return ret;
}

static int check_readable(const char *src_path, const char *rel, const struct stat *st, void *data)
{
	int fd;

	(void)rel;
	(void)data;
	if (!S_ISREG(st->st_mode))
		return 0;
	fd = open(src_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		box_error_set("cannot read '%s': %s", src_path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int check_sources(const struct target *t, const struct policy *p, const struct strlist *from)
{
	struct strlist names = STRLIST_INIT;
	int ret = -1;

	if (!from->nr)
		return 0;
	if (!ends_with(p->inputs.items[0], "/")) {
		box_error_set("--from copies into the first input, but '%s' is a file, not a folder",
			      p->inputs.items[0]);
		return -1;
	}
	for (size_t i = 0; i < from->nr; i++) {
		char *real = realpath(from->items[i], NULL), *copy, *dest;
		const char *name;
		struct stat st;
		size_t tlen = strlen(t->path);

		if (!real) {
			box_error_set("cannot read '%s': %s", from->items[i], strerror(errno));
			goto out;
		}
		copy = xstrdup(real);
		name = basename(copy);
		if ((!strncmp(real, t->path, tlen) && (real[tlen] == '/' || !real[tlen])) ||
		    (!strncmp(t->path, real, strlen(real)) && t->path[strlen(real)] == '/')) {
			box_error_set("'%s' and the box '%s' contain one another", from->items[i], t->path);
			free(copy);
			free(real);
			goto out;
		}
		if (strlist_has(&names, name)) {
			box_error_set("two sources are named '%s'; each is copied under its own name", name);
			free(copy);
			free(real);
			goto out;
		}
		strlist_add(&names, name);
		dest = xstrfmt("%s%s%s", t->workdir, p->inputs.items[0], name);
		if (!lstat(dest, &st)) {
			box_error_set("copying '%s' would overwrite '%s'", from->items[i], dest);
			free(dest);
			free(copy);
			free(real);
			goto out;
		}
		free(dest);
		free(copy);
		if (walk_source(real, from->items[i], "", check_readable, NULL) < 0) {
			free(real);
			goto out;
		}
		free(real);
	}
	ret = 0;
out:
	strlist_release(&names);
	return ret;
}

static int check_existing_repo(const struct target *t, const struct policy *p)
{
	git_index *index = NULL;
	git_object *head_tree = NULL;
	git_diff *diff = NULL;
	struct stat st;
	char *path;
	int ret = -1;

	path = xstrfmt("%s.box", t->workdir);
	if (!lstat(path, &st)) {
		box_error_set("'%s' already exists", path);
		free(path);
		return -1;
	}
	free(path);
	if (strcmp(t->head_branch, p->branch)) {
		box_error_set("the policy's branch is '%s' but HEAD is on '%s'; "
			      "switch to it first (git switch -c %s)", p->branch, t->head_branch, p->branch);
		return -1;
	}
	/* The init commit must hold the box and nothing a person staged by the way. */
	if (git_repository_index(&index, t->repo) < 0) {
		box_error_from_git("cannot read the index");
		goto out;
	}
	if (!git_revparse_single(&head_tree, t->repo, "HEAD^{tree}")) {
		if (git_diff_tree_to_index(&diff, t->repo, (git_tree *)head_tree, index, NULL) < 0) {
			box_error_from_git("cannot compare the index with HEAD");
			goto out;
		}
		if (git_diff_num_deltas(diff)) {
			box_error_set("the index has staged changes; commit or unstage them first");
			goto out;
		}
	} else if (git_index_entrycount(index)) {
		box_error_set("the index has staged changes; commit or unstage them first");
		goto out;
	}
	ret = 0;
out:
	git_diff_free(diff);
	git_object_free(head_tree);
	git_index_free(index);
	return ret;
}

/* ---- making it, with an undo log ----------------------------------------- */

static int make_dir(struct undo *u, const char *path)
{
	struct stat st;

	if (!lstat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return 0;
		box_error_set("'%s' exists and is not a folder", path);
		return -1;
	}
	if (mkdir(path, 0755) < 0) {
		box_error_set("cannot create the folder '%s': %s", path, strerror(errno));
		return -1;
	}
	strlist_add(&u->made, path);
	return 0;
}

/*
 * mkdir -p under the work tree, logging each folder made: every folder of
 * `rel`, which names a folder when it ends in '/' and a file otherwise.
 */
static int make_dirs(struct undo *u, const char *workdir, const char *rel)
{
	char *path = xstrfmt("%s%s", workdir, rel);
	size_t base = strlen(workdir);
	int ret = 0;

	/* An absolute path's leading '/' is not a folder to make. */
	for (char *p = path + base + (base == 0); !ret && *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ret = make_dir(u, path);
		*p = '/';
	}
	free(path);
	return ret;
}

static int write_new_file(struct undo *u, const char *path, const void *data, size_t len)
{
	struct stat st;

	if (!lstat(path, &st)) {
		box_error_set("'%s' already exists", path);
		return -1;
	}
	if (write_file_atomic(path, data, len, 0644) < 0)
		return -1;
	strlist_add(&u->made, path);
	return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode, struct copy_stats *stats)
{
	char *chunk = xmalloc(COPY_CHUNK);
	int in = -1, out = -1, ret = -1;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		box_error_set("cannot read '%s': %s", from, strerror(errno));
		goto done;
	}
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (out < 0) {
		box_error_set("cannot create '%s': %s", to, strerror(errno));
		goto done;
	}
	while ((n = read(in, chunk, COPY_CHUNK)) != 0) {
		char *p = chunk;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			box_error_set("cannot read '%s': %s", from, strerror(errno));
			goto done;
		}
		while (n > 0) {
			ssize_t w = write(out, p, (size_t)n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				box_error_set("cannot write '%s': %s", to, strerror(errno));
				goto done;
			}
			p += w;
			n -= w;
			stats->bytes += (uint64_t)w;
		}
		progress_update(stats->progress, stats->files, stats->bytes);
	}
	if (close(out) < 0) {
		out = -1;
		box_error_set("cannot write '%s': %s", to, strerror(errno));
		goto done;
	}
	out = -1;
	stats->files++;
	ret = 0;
done:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(chunk);
	return ret;
}

struct copy_data {
	struct undo *undo;
	const char *dest;     /* absolute, ends with the source's name */
	struct copy_stats *stats;
};

static int copy_entry(const char *src_path, const char *rel, const struct stat *st, void *data)
{
	struct copy_data *c = data;
	char *to = *rel ? xstrfmt("%s/%s", c->dest, rel) : xstrdup(c->dest);
	int ret;

	if (S_ISDIR(st->st_mode)) {
		ret = make_dir(c->undo, to);
	} else {
		/* Log before writing: a half-copied file must go too. */
		strlist_add(&c->undo->made, to);
		ret = copy_file(src_path, to, (st->st_mode & 0100) ? 0755 : 0644, c->stats);
	}
	free(to);
	return ret;
}

static int copy_sources(struct undo *u, const struct target *t, const struct policy *p,
			const struct strlist *from)
{
	struct copy_stats stats = { 0, 0, NULL };
	int ret = 0;

	if (!from->nr)
		return 0;
	if (make_dirs(u, t->workdir, p->inputs.items[0]) < 0)
		return -1;
	stats.progress = progress_start("Copying inputs", 0);
	for (size_t i = 0; !ret && i < from->nr; i++) {
		char *real = realpath(from->items[i], NULL), *copy = xstrdup(from->items[i]);
		struct copy_data c = { u, NULL, &stats };
		char *dest;

		if (!real) {
			box_error_set("cannot read '%s': %s", from->items[i], strerror(errno));
			free(copy);
			ret = -1;
			break;
		}
		free(copy);
		copy = xstrdup(real);
		dest = xstrfmt("%s%s%s", t->workdir, p->inputs.items[0], basename(copy));
		c.dest = dest;
		ret = walk_source(real, from->items[i], "", copy_entry, &c);
		free(dest);
		free(copy);
		free(real);
	}
	progress_stop(stats.progress, stats.files, stats.bytes);
	return ret;
}

/* A gitattributes pattern for a box path: glob characters escaped, blanks as '?'. */
static void attribute_pattern(struct buf *out, const char *path)
{
	buf_addch(out, '/');
	for (const char *p = path; *p; p++) {
		if (*p == ' ' || *p == '\t')
			buf_addch(out, '?');
		else if (strchr("*?[\\!#", *p))
			buf_addch(out, '\\'), buf_addch(out, *p);
		else
			buf_addch(out, *p);
	}
	if (ends_with(path, "/"))
		buf_adds(out, "**");
}

static int write_attributes(struct undo *u, const struct target *t, const struct policy *p)
{
	const struct box_template *header = find_template("gitattributes");
	struct buf content = BUF_INIT;
	struct stat st;
	int ret = -1;

	u->attributes_path = xstrfmt("%s.gitattributes", t->workdir);
	if (!lstat(u->attributes_path, &st)) {
		if (!S_ISREG(st.st_mode)) {
			box_error_set("'%s' is not a regular file", u->attributes_path);
			goto out;
		}
		if (buf_read_file(&u->attributes_before, u->attributes_path, 1024 * 1024) < 0)
			goto out;
		u->attributes_existed = 1;
		buf_add(&content, u->attributes_before.ptr, u->attributes_before.len);
		if (content.len && content.ptr[content.len - 1] != '\n')
			buf_addch(&content, '\n');
	}
	buf_add(&content, header->data, header->len);
	for (size_t i = 0; i < p->inputs.nr; i++) {
		attribute_pattern(&content, p->inputs.items[i]);
		buf_adds(&content, " filter=box -text\n");
	}
	buf_adds(&content, "/" POLICY_PATH " filter=box -text\n");
	if (write_file_atomic(u->attributes_path, content.ptr, content.len, 0644) < 0)
		goto out;
	if (!u->attributes_existed)
		strlist_add(&u->made, u->attributes_path);
	ret = 0;
out:
	buf_release(&content);
	return ret;
}

static void undo_all(struct undo *u, git_repository *repo)
{
	struct install_report report = INSTALL_REPORT_INIT;

	if (u->installed && repo)
		box_uninstall(repo, &report);
	install_report_release(&report);
	if (u->attributes_existed)
		write_file_atomic(u->attributes_path, u->attributes_before.ptr ? u->attributes_before.ptr : "",
				  u->attributes_before.len, 0644);
	for (size_t i = u->made.nr; i > 0; i--)
		remove_tree(u->made.items[i - 1]);
	if (u->made_git_dir)
		remove_tree(u->made_git_dir);
	if (u->made_dir)
		remove_tree(u->made_dir);
}

static void undo_release(struct undo *u)
{
	free(u->made_dir);
	free(u->made_git_dir);
	strlist_release(&u->made);
	free(u->attributes_path);
	buf_release(&u->attributes_before);
}

/* Stage every regular file under a box path as it is on disk. */
static int stage_path(git_index *index, const char *workdir, const char *rel)
{
	char *path = xstrfmt("%s%s", workdir, rel);
	struct stat st;
	DIR *d;
	struct dirent *e;
	int ret = 0;

	if (ends_with(path, "/"))
		path[strlen(path) - 1] = '\0';
	if (lstat(path, &st) < 0) {
		free(path);
		return 0;   /* an input folder with nothing in it yet */
	}
	if (S_ISREG(st.st_mode)) {
		char *entry = xstrdup(rel);

		if (ends_with(entry, "/"))
			entry[strlen(entry) - 1] = '\0';
		if (git_index_add_bypath(index, entry) < 0) {
			box_error_from_git("cannot add '%s'", entry);
			ret = -1;
		}
		free(entry);
		free(path);
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		box_error_set("'%s' is not a regular file: inputs must be plain files", path);
		free(path);
		return -1;
	}
	d = opendir(path);
	if (!d) {
		box_error_set("cannot read the folder '%s': %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (!ret && (e = readdir(d))) {
		char *child;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, ".git"))
			continue;
		child = xstrfmt("%s%s%s", rel, ends_with(rel, "/") ? "" : "/", e->d_name);
		if (e->d_type == DT_DIR) {
			char *folder = xstrfmt("%s/", child);
			ret = stage_path(index, workdir, folder);
			free(folder);
		} else {
			ret = stage_path(index, workdir, child);
		}
		free(child);
	}
	closedir(d);
	free(path);
	return ret;
}

static int make_commit(git_oid *out, git_repository *repo, const struct policy *p)
{
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid tree_id, head;
	char *message = NULL;
	int ret = -1;

	if (git_repository_index(&index, repo) < 0) {
		box_error_from_git("cannot read the index");
		goto out;
	}
	if (git_index_add_bypath(index, POLICY_PATH) < 0 ||
	    git_index_add_bypath(index, ".gitattributes") < 0) {
		box_error_from_git("cannot stage the policy");
		goto out;
	}
	if (p->tsa_ca && git_index_add_bypath(index, p->tsa_ca) < 0) {
		box_error_from_git("cannot stage '%s'", p->tsa_ca);
		goto out;
	}
	for (size_t i = 0; i < p->inputs.nr; i++)
		if (stage_path(index, git_repository_workdir(repo), p->inputs.items[i]) < 0)
			goto out;
	if (git_index_write_tree(&tree_id, index) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0) {
		box_error_from_git("cannot write the tree");
		goto out;
	}
	if (!git_reference_name_to_id(&head, repo, "HEAD") && git_commit_lookup(&parent, repo, &head) < 0) {
		box_error_from_git("cannot read HEAD");
		goto out;
	}
	if (repo_signature(&author, repo, 0) < 0 || repo_signature(&committer, repo, 1) < 0)
		goto out;
	message = xstrfmt("Initialize git box '%s'\n\n%s: init\n", p->name, BOX_EVENT_TRAILER);
	/* One ref update, and libgit2 refuses it if HEAD moved under us. */
	if (git_commit_create(out, repo, "HEAD", author, committer, NULL, message, tree,
			      parent ? 1 : 0, (const git_commit **)&parent) < 0) {
		box_error_from_git("cannot commit");
		goto out;
	}
	if (git_index_write(index) < 0)
		fprintf(stderr, "warning: the box is made, but the index could not be written: %s\n"
			"hint: run 'git reset' to refresh it\n", git_error_last() ? git_error_last()->message : "");
	ret = 0;
out:
	free(message);
	git_signature_free(author);
	git_signature_free(committer);
	git_commit_free(parent);
	git_tree_free(tree);
	git_index_free(index);
	return ret;
}

static int build(struct undo *u, struct target *t, const struct policy *p, const struct buf *policy_text,
		 const struct init_options *o, git_oid *commit)
{
	struct install_report report = INSTALL_REPORT_INIT;
	struct strlist conflicts = STRLIST_INIT;
	struct buf path = BUF_INIT, ca = BUF_INIT;
	int ret = -1;

	if (!t->exists) {
		char *top = nearest_existing(t->path);
		size_t skip = strlen(top) + (strcmp(top, "/") ? 1 : 0);

		/* Remember the highest folder we make, to remove it whole on failure. */
		u->made_dir = xstrndup(t->path, skip + strcspn(t->path + skip, "/"));
		free(top);
		if (make_dirs(u, "", t->workdir) < 0)
			goto out;
	}
	if (!t->repo) {
		git_repository_init_options opts;

		git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		opts.flags = GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
		opts.initial_head = p->branch;
		u->made_git_dir = xstrfmt("%s.git", t->workdir);
		if (git_repository_init_ext(&t->repo, t->path, &opts) < 0) {
			box_error_from_git("cannot create a git repository in '%s'", t->path);
			goto out;
		}
	}

	buf_addf(&path, "%s.box", t->workdir);
	if (make_dir(u, path.ptr) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "%s%s", t->workdir, POLICY_PATH);
	if (write_new_file(u, path.ptr, policy_text->ptr, policy_text->len) < 0)
		goto out;
	if (o->tsa_ca) {
		buf_reset(&path);
		buf_addf(&path, "%s%s", t->workdir, p->tsa_ca);
		if (buf_read_file(&ca, o->tsa_ca, 4 * 1024 * 1024) < 0 ||
		    make_dirs(u, t->workdir, p->tsa_ca) < 0 ||
		    write_new_file(u, path.ptr, ca.ptr, ca.len) < 0)
			goto out;
	}
	if (write_attributes(u, t, p) < 0 || copy_sources(u, t, p, &o->from) < 0)
		goto out;
	for (size_t i = 0; i < p->outputs.nr; i++)
		if (ends_with(p->outputs.items[i], "/") && make_dirs(u, t->workdir, p->outputs.items[i]) < 0)
			goto out;

	u->installed = 1;
	if (box_install(t->repo, &report, &conflicts) < 0) {
		for (size_t i = 0; i < conflicts.nr; i++)
			box_error_wrap("%s", conflicts.items[i]);
		goto out;
	}
	ret = make_commit(commit, t->repo, p);
out:
	install_report_release(&report);
	strlist_release(&conflicts);
	buf_release(&path);
	buf_release(&ca);
	return ret;
}

static void report(const struct box *b, const char *path, int json)
{
	char id[GIT_OID_HEXSZ + 1];

	git_oid_tostr(id, sizeof(id), &b->id);
	if (json) {
		json_t *inputs = json_array(), *outputs = json_array(), *o;

		for (size_t i = 0; i < b->policy.inputs.nr; i++) {
			size_t files;
			uint64_t bytes;

			box_count_path(&files, &bytes, b, &b->tip, b->policy.inputs.items[i]);
			json_array_append_new(inputs, json_pack("{s:s, s:I, s:I}", "path",
				b->policy.inputs.items[i], "files", (json_int_t)files, "bytes", (json_int_t)bytes));
		}
		for (size_t i = 0; i < b->policy.outputs.nr; i++)
			json_array_append_new(outputs, json_string(b->policy.outputs.items[i]));
		o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "name", b->policy.name, "id", id,
			      "path", path, "branch", b->policy.branch, "inputs", inputs, "outputs", outputs,
			      "state", "CREATED");
		print_json(o);
		json_decref(o);
		return;
	}
	printf("Initialized git box '%s' in %s\n", b->policy.name, path);
	printf("  id       %s\n", id);
	printf("  branch   %s\n", b->policy.branch);
	for (size_t i = 0; i < b->policy.inputs.nr; i++) {
		size_t files = 0;
		uint64_t bytes = 0;

		box_count_path(&files, &bytes, b, &b->tip, b->policy.inputs.items[i]);
		printf("  %-8s %s (%zu file%s, read-only)\n", i ? "" : "inputs", b->policy.inputs.items[i],
		       files, files == 1 ? "" : "s");
	}
	for (size_t i = 0; i < b->policy.outputs.nr; i++)
		printf("  %-8s %s\n", i ? "" : "outputs", b->policy.outputs.items[i]);
	printf("next: add your code and commit; 'git box status' shows where the box stands\n");
}

static int parse_init_options(struct init_options *o, int argc, char **argv, int *exit_code)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "branch", required_argument, NULL, 'b' },
		{ "policy", required_argument, NULL, 'p' },
		{ "signer", required_argument, NULL, 's' },
		{ "quorum", required_argument, NULL, 'q' },
		{ "tsa", required_argument, NULL, 't' },
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = parse_options(argc, argv, "h", options, &usage, exit_code)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return -1;
		case 'n': o->name = optarg; break;
		case 'i': strlist_add(&o->inputs, optarg); break;
		case 'o': strlist_add(&o->outputs, optarg); break;
		case 'f': strlist_add(&o->from, optarg); break;
		case 'b': o->branch = optarg; break;
		case 'p': o->policy_file = optarg; break;
		case 's': strlist_add(&o->signers, optarg); break;
		case 'q': o->quorum = optarg; break;
		case 't': strlist_add(&o->tsa, optarg); break;
		case 'c': o->tsa_ca = optarg; break;
		case 'j': o->json = 1; break;
		}
	}
	if (optind < argc)
		o->dir = argv[optind++];
	if (optind < argc) {
		*exit_code = usage_error(&usage, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->policy_file && (o->name || o->branch || o->inputs.nr || o->outputs.nr || o->signers.nr ||
			       o->quorum || o->tsa.nr)) {
		*exit_code = usage_error(&usage, "--policy gives the whole policy; it does not mix with "
					 "--name, --input, --output, --branch, --signer, --quorum or --tsa");
		return -1;
	}
	if (o->quorum && strspn(o->quorum, "0123456789") != strlen(o->quorum)) {
		*exit_code = usage_error(&usage, "--quorum takes a whole number, not '%s'", o->quorum);
		return -1;
	}
	return 0;
}

int cmd_init(int argc, char **argv)
{
	struct init_options o = { 0 };
	struct target t = { 0 };
	struct undo u = { 0 };
	struct policy policy = POLICY_INIT;
	struct buf text = BUF_INIT;
	struct box box = BOX_INIT;
	git_oid commit;
	int ret = BOX_ERROR, not_a_box;

	if (parse_init_options(&o, argc, argv, &ret) < 0)
		goto out;
	if (examine_target(&t, o.dir ? o.dir : ".") < 0) {
		error_last(NULL);
		goto out;
	}

	if (o.policy_file) {
		if (buf_read_file(&text, o.policy_file, 1024 * 1024) < 0 ||
		    policy_parse(&policy, o.policy_file, text.ptr ? text.ptr : "", text.len) < 0) {
			error_last(NULL);
			goto out;
		}
	} else {
		char *copy = xstrdup(t.path);
		char *branch = o.branch ? xstrdup(o.branch)
			: t.head_branch ? xstrdup(t.head_branch) : default_branch();

		fill_policy_template(&text, &o, o.name ? o.name : basename(copy), branch);
		free(branch);
		free(copy);
		if (policy_parse(&policy, "the options", text.ptr, text.len) < 0) {
			error("invalid policy from the options: %s", box_error_last());
			goto out;
		}
	}
	if (policy.tsa_ca && !o.tsa_ca) {
		char *ca = xstrfmt("%s%s", t.workdir, policy.tsa_ca);
		int present = !access(ca, R_OK);

		free(ca);
		if (!present) {
			error("the policy names the TSA certificates '%s'; give them with --tsa-ca FILE",
			      policy.tsa_ca);
			goto out;
		}
	}
	if (o.tsa_ca && access(o.tsa_ca, R_OK) < 0) {
		error("cannot read '%s': %s", o.tsa_ca, strerror(errno));
		goto out;
	}
	if (o.tsa_ca && !policy.tsa_ca) {
		error("--tsa-ca is given but the policy names no 'timestamp.ca' path");
		goto out;
	}
	if ((t.repo && check_existing_repo(&t, &policy) < 0) || check_sources(&t, &policy, &o.from) < 0) {
		error_last(NULL);
		goto out;
	}

	/* From here on, every change is logged and a failure takes them all back. */
	if (build(&u, &t, &policy, &text, &o, &commit) < 0) {
		error_last(NULL);
		undo_all(&u, t.repo);
		hint("nothing was changed; fix the cause above and run 'git box init' again");
		goto out;
	}

	if (box_open(&box, t.repo, &not_a_box) < 0) {
		t.repo = NULL;
		error_last("the box was made but cannot be read back");
		goto out;
	}
	t.repo = NULL;
	{
		size_t tightened;

		if (box_make_inputs_readonly(&box, &tightened) < 0) {
			warning("%s", box_error_last());
			hint("run 'git box install' to make the inputs read-only");
		}
	}
	report(&box, t.path, o.json);
	ret = finish_stdout() ? BOX_ERROR : BOX_OK;
out:
	if (box.repo)
		box_release(&box);
	git_repository_free(t.repo);
	free(t.path);
	free(t.workdir);
	free(t.head_branch);
	undo_release(&u);
	policy_release(&policy);
	buf_release(&text);
	strlist_release(&o.inputs);
	strlist_release(&o.outputs);
	strlist_release(&o.from);
	strlist_release(&o.signers);
	strlist_release(&o.tsa);
	return ret;
}

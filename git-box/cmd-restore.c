/*
 * git box restore: put inputs (and the policy) back in the work tree as
 * they were frozen: their content, read-only modes and index entries.
 *
 * Only what differs is written, each file through a temporary name in
 * its own folder and a rename, so that a file is always either as it was
 * or as it was frozen. Nothing else is touched: code, outputs, and files
 * in an input folder that are not frozen inputs stay as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catfile.h"
#include "commands.h"
#include "output.h"
#include "pkt-line.h"
#include "repo.h"
#include "banned.h"

/* Blobs up to this size are written from memory; larger ones stream from git cat-file. */
#define RESTORE_MEM_MAX (64 * 1024 * 1024)
#define COPY_CHUNK (128 * 1024)

static const char *const synopsis[] = {
	"git box restore [--json] [--] <path>...",
	NULL,
};

static const struct command_usage usage = { "restore", synopsis };

struct frozen_file {
	char *path;
	git_oid id;
	git_filemode_t mode;
};

struct restore {
	struct box *box;
	const char *workdir;
	struct frozen_file *files;
	size_t nr, alloc;
	struct strlist restored;
	struct strlist unchanged;
	struct strlist failed;
	size_t tightened;        /* folders made read-only again */
};

/* ---- which files ---------------------------------------------------------- */

static void add_file(struct restore *r, const char *path, const git_tree_entry *e)
{
	struct frozen_file *f;

	for (size_t i = 0; i < r->nr; i++)
		if (!strcmp(r->files[i].path, path))
			return;   /* named twice, or inside a folder also named */
	if (r->nr == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 16;
		r->files = xrealloc(r->files, r->alloc * sizeof(*r->files));
	}
	f = &r->files[r->nr++];
	f->path = xstrdup(path);
	git_oid_cpy(&f->id, git_tree_entry_id(e));
	f->mode = git_tree_entry_filemode(e);
}

struct collect {
	struct restore *r;
	const char *base;
	size_t matched;
};

static int collect_entry(const char *root, const git_tree_entry *e, void *data)
{
	struct collect *c = data;
	char *path;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	path = xstrfmt("%s%s%s", c->base, root, git_tree_entry_name(e));
	if (policy_is_protected(&c->r->box->policy, path)) {
		add_file(c->r, path, e);
		c->matched++;
	}
	free(path);
	return 0;
}

/*
 * The repository path a user-given path names, from the folder git box
 * runs in: "../input/a.csv" from "code/" is "input/a.csv". Returns NULL
 * with box_error set when it leaves the work tree.
 */
static char *repo_path(const char *top, const char *prefix, const char *arg)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	size_t top_len = strlen(top);
	const char *p;
	char *ret = NULL;

	if (*arg == '/') {
		/* an absolute path must lie in the work tree */
		if (strncmp(arg, top, top_len) || (arg[top_len] && arg[top_len] != '/')) {
			box_error_set("'%s' is outside the work tree '%s'", arg, top);
			return NULL;
		}
		buf_adds(&in, arg + top_len);
	} else {
		buf_addf(&in, "%s%s", prefix, arg);
	}
	p = in.ptr;
	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);

		if (len == 2 && !memcmp(p, "..", 2)) {
			char *slash;

			if (!out.len) {
				box_error_set("'%s' is outside the work tree", arg);
				goto out;
			}
			slash = strrchr(out.ptr, '/');
			out.len = slash ? (size_t)(slash - out.ptr) : 0;
			out.ptr[out.len] = '\0';
		} else if (len && (len != 1 || *p != '.')) {
			if (out.len)
				buf_addch(&out, '/');
			buf_add(&out, p, len);
		}
		p = *end ? end + 1 : end;
	}
	if (!out.ptr)
		buf_adds(&out, "");
	ret = buf_detach(&out);
out:
	buf_release(&in);
	buf_release(&out);
	return ret;
}

/* Where git box runs, relative to the top of the work tree: "" or "code/sub/". */
static char *current_prefix(const char *top)
{
	char *cwd = realpath(".", NULL), *prefix = NULL;
	size_t len = strlen(top);

	if (cwd && !strncmp(cwd, top, len) && cwd[len] == '/')
		prefix = xstrfmt("%s/", cwd + len + 1);
	free(cwd);
	return prefix ? prefix : xstrdup("");
}

static int collect(struct restore *r, git_tree *tip, const char *path, const char *arg)
{
	git_tree_entry *entry = NULL;
	git_tree *sub = NULL;
	struct collect c = { r, "", 0 };
	char *base = NULL;
	int ret = -1;

	if (!*path) {
		if (git_tree_walk(tip, GIT_TREEWALK_PRE, collect_entry, &c) < 0)
			goto walk_failed;
	} else if (git_tree_entry_bypath(&entry, tip, path) < 0) {
		git_error_clear();
		if (policy_is_protected(&r->box->policy, path))
			box_error_set("'%s' is not among the frozen inputs: there is nothing to put back",
				      arg);
		else
			box_error_set("'%s' is not an input; 'git restore' restores code and outputs", arg);
		goto out;
	} else if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
		base = xstrfmt("%s/", path);
		c.base = base;
		if (git_tree_lookup(&sub, r->box->repo, git_tree_entry_id(entry)) < 0 ||
		    git_tree_walk(sub, GIT_TREEWALK_PRE, collect_entry, &c) < 0)
			goto walk_failed;
	} else if (git_tree_entry_type(entry) == GIT_OBJECT_BLOB &&
		   policy_is_protected(&r->box->policy, path)) {
		add_file(r, path, entry);
		c.matched++;
	}
	if (!c.matched) {
		box_error_set("'%s' %s; 'git restore' restores code and outputs", arg,
			      entry && git_tree_entry_type(entry) != GIT_OBJECT_TREE
			      ? "is not an input" : "holds no input");
		goto out;
	}
	ret = 0;
	goto out;
walk_failed:
	box_error_from_git("cannot read the frozen inputs under '%s'", arg);
out:
	free(base);
	git_tree_free(sub);
	git_tree_entry_free(entry);
	return ret;
}

/* ---- one file ------------------------------------------------------------- */

static mode_t disk_mode(git_filemode_t mode)
{
	return mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0555 : 0444;
}

/* Does the work tree file hold the frozen content, with its read-only mode? */
static int is_as_frozen(struct restore *r, const struct frozen_file *f, const char *abs,
			const struct stat *st, int *content_ok)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	git_oid id;

	*content_ok = 0;
	if (!S_ISREG(st->st_mode))
		return 0;
	if (git_repository_odb(&odb, r->box->repo) < 0 ||
	    git_odb_read_header(&size, &type, odb, &f->id) < 0) {
		git_odb_free(odb);
		git_error_clear();
		return 0;
	}
	git_odb_free(odb);
	if ((uint64_t)st->st_size != size || git_odb_hashfile(&id, abs, GIT_OBJECT_BLOB) < 0) {
		git_error_clear();
		return 0;
	}
	*content_ok = git_oid_equal(&id, &f->id);
	return *content_ok && (st->st_mode & 07777) == disk_mode(f->mode);
}

/* Make the folders that hold `rel` (they may have been deleted), and let us write in the last. */
static int open_folder(const char *workdir, const char *rel, mode_t *was, int *made_writable)
{
	struct buf dir = BUF_INIT;
	const char *slash;
	struct stat st;
	int ret = -1;

	*made_writable = 0;
	buf_adds(&dir, workdir);
	for (const char *p = rel; (slash = strchr(p, '/')); p = slash + 1) {
		buf_add(&dir, p, (size_t)(slash - p + 1));
		if (mkdir(dir.ptr, 0755) < 0 && errno != EEXIST) {
			box_error_set("cannot make the folder '%s': %s", dir.ptr, strerror(errno));
			goto out;
		}
	}
	if (lstat(dir.ptr, &st) < 0 || !S_ISDIR(st.st_mode)) {
		box_error_set("'%s' is not a folder", dir.ptr);
		goto out;
	}
	*was = st.st_mode & 07777;
	if (!(st.st_mode & S_IWUSR)) {
		if (chmod(dir.ptr, *was | S_IWUSR) < 0) {
			box_error_set("cannot write in '%s': %s", dir.ptr, strerror(errno));
			goto out;
		}
		*made_writable = 1;
	}
	ret = 0;
out:
	buf_release(&dir);
	return ret;
}

struct copy_target {
	int fd;
	const char *path;
};

static int write_chunk(const void *data, size_t len, void *payload)
{
	const struct copy_target *t = payload;

	if (io_write_full(t->fd, data, len) < 0) {
		box_error_set("cannot write '%s': %s", t->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int copy_blob(int fd, struct restore *r, const struct frozen_file *f, size_t size)
{
	struct copy_target target = { fd, f->path };
	git_blob *blob = NULL;
	struct catfile *cf = NULL;
	uint64_t streamed;
	int ret;

	if (size <= RESTORE_MEM_MAX) {
		if (git_blob_lookup(&blob, r->box->repo, &f->id) < 0) {
			box_error_from_git("cannot read the frozen '%s'", f->path);
			return -1;
		}
		ret = write_chunk(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), &target);
		git_blob_free(blob);
		return ret;
	}
	/* A large input streams through git, never held whole. */
	if (catfile_open(&cf, r->box->repo) < 0)
		return -1;
	ret = catfile_stream(cf, &f->id, write_chunk, &target, &streamed);
	if (catfile_close(cf) < 0 && !ret) {
		box_error_wrap("cannot read the frozen '%s' from git", f->path);
		ret = -1;
	}
	return ret < 0 ? -1 : 0;
}

static int write_frozen(struct restore *r, const struct frozen_file *f, const char *abs)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t size;
	struct buf tmp = BUF_INIT;
	mode_t folder_mode = 0;
	int fd = -1, made_writable = 0, ret = -1;

	if (git_repository_odb(&odb, r->box->repo) < 0 ||
	    git_odb_read_header(&size, &type, odb, &f->id) < 0) {
		box_error_from_git("cannot read the frozen '%s'", f->path);
		goto out;
	}
	if (open_folder(r->workdir, f->path, &folder_mode, &made_writable) < 0)
		goto out;
	buf_addf(&tmp, "%s.box-restore-XXXXXX", abs);
	fd = mkostemp(tmp.ptr, O_CLOEXEC);
	if (fd < 0) {
		box_error_set("cannot write beside '%s': %s", abs, strerror(errno));
		goto out;
	}
	if (copy_blob(fd, r, f, size) < 0)
		goto out;
	if (fsync(fd) < 0 || fchmod(fd, disk_mode(f->mode)) < 0 || close(fd) < 0) {
		fd = -1;
		box_error_set("cannot write '%s': %s", abs, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp.ptr, abs) < 0) {
		box_error_set("cannot put '%s' in place: %s", abs, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp.ptr)
		unlink(tmp.ptr);
	if (made_writable) {
		char *dir = xstrndup(abs, (size_t)(strrchr(abs, '/') - abs));

		chmod(dir, folder_mode);
		free(dir);
	}
	buf_release(&tmp);
	git_odb_free(odb);
	return ret;
}

/* 1 when something was put back, 0 when it was as frozen, -1 on error. */
static int restore_file(struct restore *r, git_index *index, const struct frozen_file *f)
{
	char *abs = xstrfmt("%s%s", r->workdir, f->path);
	const git_index_entry *e = git_index_get_bypath(index, f->path, 0);
	int index_ok = e && git_oid_equal(&e->id, &f->id) && e->mode == (uint32_t)f->mode;
	int content_ok = 0, ret = -1;
	struct stat st;

	if (lstat(abs, &st) < 0) {
		if (errno != ENOENT) {
			box_error_set("cannot read '%s': %s", abs, strerror(errno));
			goto out;
		}
	} else if (S_ISDIR(st.st_mode)) {
		box_error_set("'%s' is a folder in the work tree; move it away, then run "
			      "'git box restore' again", f->path);
		goto out;
	} else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		box_error_set("'%s' is a special file in the work tree; remove it, then run "
			      "'git box restore' again", f->path);
		goto out;
	} else if (is_as_frozen(r, f, abs, &st, &content_ok) && index_ok) {
		ret = 0;
		goto out;
	}
	if (content_ok) {
		/* only the mode was loosened */
		if (chmod(abs, disk_mode(f->mode)) < 0) {
			box_error_set("cannot make '%s' read-only: %s", abs, strerror(errno));
			goto out;
		}
	} else if (write_frozen(r, f, abs) < 0) {
		goto out;
	}
	/* The index entry as git would make it from the restored file. */
	if (git_index_add_bypath(index, f->path) < 0) {
		box_error_from_git("cannot update the index for '%s'", f->path);
		goto out;
	}
	ret = 1;
out:
	free(abs);
	return ret;
}

/* ---- the command ---------------------------------------------------------- */

static int report(const struct restore *r, int json)
{
	if (json) {
		json_t *o = json_object(), *restored = json_array(), *unchanged = json_array();
		int ret;

		for (size_t i = 0; i < r->restored.nr; i++)
			json_array_append_new(restored, json_text(r->restored.items[i]));
		for (size_t i = 0; i < r->unchanged.nr; i++)
			json_array_append_new(unchanged, json_text(r->unchanged.items[i]));
		json_object_set_new(o, "restored", restored);
		json_object_set_new(o, "unchanged", unchanged);
		json_object_set_new(o, "folders_made_read_only", json_integer((json_int_t)r->tightened));
		ret = print_json(o);
		json_decref(o);
		return ret;
	}
	for (size_t i = 0; i < r->restored.nr; i++) {
		struct buf q = BUF_INIT;

		printf_ln("restored '%s'", quote_for_message(&q, r->restored.items[i]));
		buf_release(&q);
	}
	if (r->tightened)
		printf_ln("made %zu folder%s read-only again", r->tightened, r->tightened == 1 ? "" : "s");
	if (!r->restored.nr && !r->failed.nr && !r->tightened)
		printf_ln("nothing to restore: %zu input%s as frozen", r->unchanged.nr,
			  r->unchanged.nr == 1 ? " is" : "s are");
	return 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct restore r = { 0 };
	git_commit *tip = NULL;
	git_tree *tree = NULL;
	git_index *index = NULL;
	char *prefix = NULL, *top = NULL;
	int c, json = 0, index_dirty = 0, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
		if (c == 'j')
			json = 1;
	}
	if (optind == argc)
		return usage_error(&usage, "which inputs? name the paths to restore");

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	r.box = &box;
	r.workdir = git_repository_workdir(box.repo);
	if (!r.workdir) {
		error("'%s' is a bare repository: it has no files to restore",
		      git_repository_path(box.repo));
		goto out;
	}
	if (git_commit_lookup(&tip, box.repo, &box.tip) < 0 || git_commit_tree(&tree, tip) < 0 ||
	    git_repository_index(&index, box.repo) < 0) {
		error_last("cannot read the box");
		goto out;
	}
	top = realpath(r.workdir, NULL);
	if (!top) {
		error("cannot read the work tree '%s': %s", r.workdir, strerror(errno));
		goto out;
	}
	prefix = current_prefix(top);
	for (int i = optind; i < argc; i++) {
		char *path = repo_path(top, prefix, argv[i]);

		if (!path || collect(&r, tree, path, argv[i]) < 0) {
			free(path);
			error_last(NULL);
			goto out;
		}
		free(path);
	}

	for (size_t i = 0; i < r.nr; i++) {
		int done = restore_file(&r, index, &r.files[i]);

		if (done < 0) {
			error_last(NULL);
			strlist_add(&r.failed, r.files[i].path);
		} else if (done) {
			strlist_add(&r.restored, r.files[i].path);
			index_dirty = 1;
		} else {
			strlist_add(&r.unchanged, r.files[i].path);
		}
	}
	if (index_dirty && git_index_write(index) < 0) {
		box_error_from_git("the inputs are restored, but the index could not be written");
		error_last(NULL);
		hint("run 'git reset -- <path>' for each restored input");
		goto out;
	}
	/* Each folder once, from the first file in it (tree order keeps them together). */
	for (size_t i = 0; i < r.nr; i++) {
		const char *path = r.files[i].path, *slash = strrchr(path, '/');
		const char *prev = i ? r.files[i - 1].path : NULL;
		size_t dir = slash ? (size_t)(slash - path) : 0;

		if (prev && !strncmp(prev, path, dir) && (prev[dir] == '/' || !dir) &&
		    !strchr(prev + dir + (dir ? 1 : 0), '/'))
			continue;
		if (box_make_input_readonly(&box, path, &r.tightened) < 0) {
			warning("%s", box_error_last());
			hint("run 'git box install' to make the inputs read-only again");
			break;
		}
	}
	ret = report(&r, json) < 0 || finish_stdout() ? BOX_ERROR : BOX_OK;
	if (r.failed.nr) {
		hint("%zu input%s could not be restored; see above", r.failed.nr,
		     r.failed.nr == 1 ? "" : "s");
		ret = BOX_ERROR;
	}
out:
	for (size_t i = 0; i < r.nr; i++)
		free(r.files[i].path);
	free(r.files);
	strlist_release(&r.restored);
	strlist_release(&r.unchanged);
	strlist_release(&r.failed);
	free(prefix);
	free(top);
	git_index_free(index);
	git_tree_free(tree);
	git_commit_free(tip);
	box_release(&box);
	return ret;
}

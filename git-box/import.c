/*
 * Copying sources into a box, with a log of everything made so that a
 * failure takes it all back, and staging what was copied.
 */
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "banned.h"

#define COPY_CHUNK (128 * 1024)

struct copy_stats {
	size_t files;
	uint64_t bytes;
	import_progress_fn progress;
	void *progress_data;
};

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

int import_check_sources(const struct strlist *from, const char *box_path, const char *dest_dir)
{
	struct strlist names = STRLIST_INIT;
	size_t tlen = strlen(box_path);
	int ret = -1;

	for (size_t i = 0; i < from->nr; i++) {
		char *real = realpath(from->items[i], NULL), *copy, *dest;
		const char *name;
		struct stat st;

		if (!real) {
			box_error_set("cannot read '%s': %s", from->items[i], strerror(errno));
			goto out;
		}
		copy = xstrdup(real);
		name = basename(copy);
		if ((!strncmp(real, box_path, tlen) && (real[tlen] == '/' || !real[tlen])) ||
		    (!strncmp(box_path, real, strlen(real)) && box_path[strlen(real)] == '/')) {
			box_error_set("'%s' and the box '%s' contain one another", from->items[i], box_path);
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
		dest = xstrfmt("%s%s", dest_dir, name);
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

int import_make_dir(struct import_undo *u, const char *path)
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

int import_make_dirs(struct import_undo *u, const char *workdir, const char *rel)
{
	char *path = xstrfmt("%s%s", workdir, rel);
	size_t base = strlen(workdir);
	int ret = 0;

	/* An absolute path's leading '/' is not a folder to make. */
	for (char *p = path + base + (base == 0); !ret && *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		ret = import_make_dir(u, path);
		*p = '/';
	}
	free(path);
	return ret;
}

int import_write_new_file(struct import_undo *u, const char *path, const void *data, size_t len)
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
		if (stats->progress)
			stats->progress(stats->progress_data, stats->files, stats->bytes);
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
	struct import_undo *undo;
	const char *dest;     /* absolute, ends with the source's name */
	const char *workdir;
	struct strlist *copied;
	struct copy_stats *stats;
};

static int copy_entry(const char *src_path, const char *rel, const struct stat *st, void *data)
{
	struct copy_data *c = data;
	char *to = *rel ? xstrfmt("%s/%s", c->dest, rel) : xstrdup(c->dest);
	int ret;

	if (S_ISDIR(st->st_mode)) {
		ret = import_make_dir(c->undo, to);
	} else {
		/* Log before writing: a half-copied file must go too. */
		strlist_add(&c->undo->made, to);
		ret = copy_file(src_path, to, (st->st_mode & 0100) ? 0755 : 0644, c->stats);
		if (!ret && c->copied)
			strlist_add(c->copied, to + strlen(c->workdir));
	}
	free(to);
	return ret;
}

int import_copy_sources(struct import_undo *u, const struct strlist *from, const char *workdir,
			const char *dest_dir, struct strlist *copied, import_progress_fn progress, void *data)
{
	struct copy_stats stats = { 0, 0, progress, data };
	int ret = 0;

	if (!from->nr)
		return 0;
	if (import_make_dirs(u, "", dest_dir) < 0)
		return -1;
	for (size_t i = 0; !ret && i < from->nr; i++) {
		char *real = realpath(from->items[i], NULL), *copy;
		struct copy_data c = { u, NULL, workdir, copied, &stats };
		char *dest;

		if (!real) {
			box_error_set("cannot read '%s': %s", from->items[i], strerror(errno));
			ret = -1;
			break;
		}
		copy = xstrdup(real);
		dest = xstrfmt("%s%s", dest_dir, basename(copy));
		c.dest = dest;
		ret = walk_source(real, from->items[i], "", copy_entry, &c);
		free(dest);
		free(copy);
		free(real);
	}
	return ret;
}

int import_stage_path(git_index *index, const char *workdir, const char *rel)
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
			ret = import_stage_path(index, workdir, folder);
			free(folder);
		} else {
			ret = import_stage_path(index, workdir, child);
		}
		free(child);
	}
	closedir(d);
	free(path);
	return ret;
}

int import_check_index_clean(git_repository *repo)
{
	git_index *index = NULL;
	git_object *head_tree = NULL;
	git_diff *diff = NULL;
	int ret = -1;

	if (git_repository_index(&index, repo) < 0) {
		box_error_from_git("cannot read the index");
		goto out;
	}
	if (!git_revparse_single(&head_tree, repo, "HEAD^{tree}")) {
		if (git_diff_tree_to_index(&diff, repo, (git_tree *)head_tree, index, NULL) < 0) {
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

void import_undo(struct import_undo *u)
{
	for (size_t i = u->made.nr; i > 0; i--)
		remove_tree(u->made.items[i - 1]);
	strlist_release(&u->made);
}

void import_undo_release(struct import_undo *u)
{
	strlist_release(&u->made);
}

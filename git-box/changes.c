#include "changes.h"

#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "util.h"
#include "banned.h"

/* The id of the empty tree: git knows it without having it stored. */
#define EMPTY_TREE_HEX "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

static void add_change(struct changes *out, const char *path, size_t len, const git_oid *old_id,
		       uint32_t old_mode, const git_oid *new_id, uint32_t new_mode)
{
	struct change *c;

	if (out->nr == out->alloc) {
		out->alloc = out->alloc ? 2 * out->alloc : 16;
		out->items = xrealloc(out->items, out->alloc * sizeof(*out->items));
	}
	c = &out->items[out->nr++];
	memset(c, 0, sizeof(*c));
	c->path = xstrndup(path, len);
	if (old_id)
		git_oid_cpy(&c->old_id, old_id);
	if (new_id)
		git_oid_cpy(&c->new_id, new_id);
	c->old_mode = old_mode;
	c->new_mode = new_mode;
}

/*
 * git's tree order: names compare byte by byte, a tree's name as if it
 * ended in '/'. Entries of the same name and kind meet; a file and a
 * folder of the same name do not, which is what a change from one to the
 * other is: everything under the folder and the file, each on its side.
 */
static int entry_compare(const git_tree_entry *a, const git_tree_entry *b)
{
	const char *na = git_tree_entry_name(a), *nb = git_tree_entry_name(b);
	size_t la = strlen(na), lb = strlen(nb), n = la < lb ? la : lb;
	int cmp = memcmp(na, nb, n);
	unsigned char ca, cb;

	if (cmp)
		return cmp;
	ca = la > n ? (unsigned char)na[n] : git_tree_entry_type(a) == GIT_OBJECT_TREE ? '/' : 0;
	cb = lb > n ? (unsigned char)nb[n] : git_tree_entry_type(b) == GIT_OBJECT_TREE ? '/' : 0;
	return ca - cb;
}

static int diff_trees(struct changes *out, git_repository *repo, const git_tree *a,
		      const git_tree *b, struct buf *prefix);

/* Descend into the tree of one entry (or of both when they differ). */
static int diff_subtrees(struct changes *out, git_repository *repo, const git_tree_entry *ea,
			 const git_tree_entry *eb, struct buf *prefix)
{
	git_tree *ta = NULL, *tb = NULL;
	size_t len = prefix->len;
	int ret = -1;

	if ((ea && git_tree_lookup(&ta, repo, git_tree_entry_id(ea)) < 0) ||
	    (eb && git_tree_lookup(&tb, repo, git_tree_entry_id(eb)) < 0)) {
		box_error_from_git("cannot read the tree '%s%s'", prefix->ptr ? prefix->ptr : "",
				   git_tree_entry_name(ea ? ea : eb));
		goto out;
	}
	buf_adds(prefix, git_tree_entry_name(ea ? ea : eb));
	buf_addch(prefix, '/');
	ret = diff_trees(out, repo, ta, tb, prefix);
	prefix->len = len;
	prefix->ptr[len] = '\0';
out:
	git_tree_free(ta);
	git_tree_free(tb);
	return ret;
}

static void add_entry(struct changes *out, const struct buf *prefix, const git_tree_entry *ea,
		      const git_tree_entry *eb)
{
	struct buf path = BUF_INIT;
	const git_tree_entry *e = ea ? ea : eb;

	buf_add(&path, prefix->ptr, prefix->len);
	buf_adds(&path, git_tree_entry_name(e));
	add_change(out, path.ptr, path.len, ea ? git_tree_entry_id(ea) : NULL,
		   ea ? (uint32_t)git_tree_entry_filemode(ea) : 0,
		   eb ? git_tree_entry_id(eb) : NULL, eb ? (uint32_t)git_tree_entry_filemode(eb) : 0);
	buf_release(&path);
}

static int diff_trees(struct changes *out, git_repository *repo, const git_tree *a,
		      const git_tree *b, struct buf *prefix)
{
	size_t na = a ? git_tree_entrycount(a) : 0, nb = b ? git_tree_entrycount(b) : 0;
	size_t i = 0, j = 0;

	while (i < na || j < nb) {
		const git_tree_entry *ea = i < na ? git_tree_entry_byindex(a, i) : NULL;
		const git_tree_entry *eb = j < nb ? git_tree_entry_byindex(b, j) : NULL;
		int cmp = !ea ? 1 : !eb ? -1 : entry_compare(ea, eb);
		const git_tree_entry *left = cmp <= 0 ? ea : NULL, *right = cmp >= 0 ? eb : NULL;
		const git_tree_entry *e = left ? left : right;

		i += left != NULL;
		j += right != NULL;
		if (left && right && git_oid_equal(git_tree_entry_id(left), git_tree_entry_id(right)) &&
		    git_tree_entry_filemode(left) == git_tree_entry_filemode(right))
			continue;
		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			if (diff_subtrees(out, repo, left, right, prefix) < 0)
				return -1;
		} else {
			add_entry(out, prefix, left, right);
		}
	}
	return 0;
}

int changes_between_trees(struct changes *out, git_repository *repo, const git_tree *old,
			  const git_tree *new)
{
	struct buf prefix = BUF_INIT;
	int ret;

	buf_adds(&prefix, "");
	ret = diff_trees(out, repo, old, new, &prefix);
	buf_release(&prefix);
	return ret;
}

int changes_of_commit(struct changes *out, git_repository *repo, const git_commit *commit)
{
	git_commit *parent = NULL;
	git_tree *old = NULL, *new = NULL;
	int ret = -1;

	if (git_commit_tree(&new, commit) < 0 ||
	    (git_commit_parentcount(commit) && (git_commit_parent(&parent, commit, 0) < 0 ||
						 git_commit_tree(&old, parent) < 0))) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(git_commit_id(commit)));
		goto out;
	}
	ret = changes_between_trees(out, repo, old, new);
out:
	git_tree_free(old);
	git_tree_free(new);
	git_commit_free(parent);
	return ret;
}

/* ":100644 100644 <old> <new> M" -> the change, or -1 if it is not that shape. */
static int parse_raw(struct change *c, const char *rec)
{
	char *end;

	if (*rec++ != ':')
		return -1;
	c->old_mode = (uint32_t)strtoul(rec, &end, 8);
	if (*end != ' ')
		return -1;
	c->new_mode = (uint32_t)strtoul(end + 1, &end, 8);
	if (*end != ' ' || git_oid_fromstrn(&c->old_id, end + 1, GIT_OID_HEXSZ) < 0)
		return -1;
	end += 1 + GIT_OID_HEXSZ;
	if (*end != ' ' || git_oid_fromstrn(&c->new_id, end + 1, GIT_OID_HEXSZ) < 0)
		return -1;
	end += 1 + GIT_OID_HEXSZ;
	return *end == ' ' && end[1] ? 0 : -1;
}

int changes_staged(struct changes *out, git_repository *repo)
{
	const char *argv[] = { "git", "diff-index", "--cached", "--raw", "-z", "--no-renames",
			       "--no-abbrev", "--ignore-submodules=none", NULL, "--", NULL };
	struct child c = CHILD_INIT;
	FILE *diff = NULL;
	char *rec = NULL, *path = NULL;
	size_t rec_alloc = 0, path_alloc = 0;
	git_oid head;
	char head_hex[GIT_OID_HEXSZ + 1];
	ssize_t n;
	int ret = -1;

	if (!git_reference_name_to_id(&head, repo, "HEAD")) {
		git_oid_tostr(head_hex, sizeof(head_hex), &head);
		argv[8] = head_hex;
	} else {
		git_error_clear();
		argv[8] = EMPTY_TREE_HEX;
	}
	if (child_read_start(&c, &diff, argv) < 0)
		return -1;
	while ((n = getdelim(&rec, &rec_alloc, '\0', diff)) > 0) {
		struct change ch = { 0 };

		if (parse_raw(&ch, rec) < 0 || getdelim(&path, &path_alloc, '\0', diff) <= 0) {
			box_error_set("cannot read what 'git diff-index' printed");
			goto out;
		}
		/* git says "absent" with a zero mode and a zero id; keep the mode as the flag */
		add_change(out, path, strlen(path), &ch.old_id, ch.old_mode, &ch.new_id, ch.new_mode);
	}
	ret = 0;
out:
	if (ret < 0) {
		/* keep the first error: closing early may make git fail too */
		char *first = xstrdup(box_error_last());

		child_read_finish(&c, diff, argv);
		box_error_set("%s", first);
		free(first);
	} else if (child_read_finish(&c, diff, argv) < 0) {
		ret = -1;
	}
	free(rec);
	free(path);
	return ret;
}

void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->nr; i++)
		free(c->items[i].path);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

const char *change_kind(const struct change *c)
{
	if (!c->old_mode)
		return "added";
	if (!c->new_mode)
		return "deleted";
	if ((c->old_mode & 0170000) != (c->new_mode & 0170000))
		return "type changed";
	if (c->old_mode != c->new_mode)
		return "mode changed";
	return "modified";
}

void change_describe(struct buf *out, const struct change *c)
{
	buf_adds(out, change_kind(c));
	if (c->old_mode && c->new_mode && c->old_mode != c->new_mode)
		buf_addf(out, " (%06o to %06o%s)", c->old_mode, c->new_mode,
			 (c->new_mode & 0170000) == 0120000 ? ", a symbolic link" : "");
}

int change_is_file(const struct change *c)
{
	return (c->new_mode & 0170000) == 0100000;
}

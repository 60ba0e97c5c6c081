/*
 * The read-only guard on inputs, run by git box filter-process for every
 * path with the `filter=box` attribute (git box init gives it to each
 * input and to the policy).
 *
 * clean (git add)      an input passes byte for byte when its content is
 *                      the frozen one, the content at the tip of the box
 *                      branch, or content the repository holds already
 *                      (see ro_finish()); anything new is refused: an
 *                      input changed on disk, or a new file among them.
 * smudge (checkout)    everything passes byte for byte; an input that
 *                      differs from the frozen one gets a warning, so
 *                      that checking out rewritten history shows it.
 *
 * Content is compared by git's own blob id, SHA-1 over "blob <size>\0"
 * and the bytes, read from the loop's spool once the whole content is
 * there: in memory for a small file, in a temporary file for a large
 * one, so memory stays the same whatever the file's size. The frozen
 * tree is read once per process, and each folder of it parsed once; each
 * path costs a lookup down its folders, whatever the number of inputs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "filter.h"
#include "output.h"
#include "repo.h"
#include "rules.h"
#include "banned.h"

struct readonly_filter {
	int opened;               /* the box was looked for */
	int no_box;               /* not a box: every file passes */
	char *broken;             /* the box cannot be read: why */
	int warned_broken;
	struct box box;
	git_tree *frozen;         /* the tree at the tip of the box branch */
	git_odb *odb;
	git_oid freeze;           /* the commit that froze the inputs, for messages */
	int has_freeze;
	EVP_MD_CTX *sha1;

	/* the file being served */
	int input;                /* it is an input (or the policy) */
	int is_new;               /* not among the frozen inputs */
	git_oid expect;           /* the frozen blob */
	int refused;              /* the last refusal was ours: hint() has something to say */
};

static const char *freeze_commit(struct readonly_filter *f)
{
	if (!f->has_freeze) {
		if (box_freeze_commit(&f->freeze, &f->box) < 0)
			git_oid_cpy(&f->freeze, &f->box.tip);
		f->has_freeze = 1;
	}
	return git_oid_tostr_s(&f->freeze);
}

static void open_box(struct readonly_filter *f)
{
	git_repository *repo = NULL;
	git_commit *tip = NULL;
	int not_a_box, err;

	f->opened = 1;
	/*
	 * libgit2 caches trees of up to 4 KiB only; an input folder of
	 * 10,000 files is a tree of 400 KiB, read again and parsed for each
	 * of its files without this. Each folder is parsed once now.
	 */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)64 << 20);
	err = git_repository_open_ext(&repo, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL);
	if (err == GIT_ENOTFOUND) {
		/* run by hand outside a repository: there is no box to guard */
		git_error_clear();
		f->no_box = 1;
		return;
	}
	if (err < 0) {
		box_error_from_git("cannot open the repository");
		f->broken = xstrdup(box_error_last());
		return;
	}
	if (box_open(&f->box, repo, &not_a_box) < 0) {
		if (not_a_box)
			f->no_box = 1;
		else
			f->broken = xstrdup(box_error_last());
		if (!f->box.repo)
			git_repository_free(repo);
		return;
	}
	if (git_commit_lookup(&tip, f->box.repo, &f->box.tip) < 0 ||
	    git_commit_tree(&f->frozen, tip) < 0 || git_repository_odb(&f->odb, f->box.repo) < 0) {
		box_error_from_git("cannot read the box branch");
		f->broken = xstrdup(box_error_last());
	}
	git_commit_free(tip);
}

/* The blob id of the whole content: SHA-1 over "blob <size>\0" and the bytes. */
static int content_id(git_oid *out, EVP_MD_CTX *ctx, struct filter_content *content)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char header[64];
	const char *piece;
	ssize_t n;
	int len = snprintf(header, sizeof(header), "blob %" PRIu64, filter_content_size(content));

	if (!EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(ctx, header, (size_t)len + 1) || filter_content_rewind(content) < 0)
		return -1;
	while ((n = filter_content_next(content, &piece)) > 0)
		if (!EVP_DigestUpdate(ctx, piece, (size_t)n))
			return -1;
	if (n < 0 || !EVP_DigestFinal_ex(ctx, md, &md_len) || md_len != GIT_OID_RAWSZ)
		return -1;
	return git_oid_fromraw(out, md);
}

static enum filter_verdict ro_start(void *data, const struct filter_request *req)
{
	struct readonly_filter *f = data;
	git_tree_entry *entry = NULL;

	f->input = f->is_new = f->refused = 0;
	if (!f->opened)
		open_box(f);
	if (f->no_box)
		return FILTER_PASS;
	if (f->broken) {
		if (req->command == FILTER_SMUDGE) {
			if (!f->warned_broken++)
				warning("filter-process: cannot check the inputs: %s", f->broken);
			return FILTER_PASS;
		}
		box_error_set("cannot check the inputs: %s", f->broken);
		return FILTER_ABORT;
	}
	if (!policy_is_protected(&f->box.policy, req->pathname))
		return FILTER_PASS;

	f->input = 1;
	if (!git_tree_entry_bypath(&entry, f->frozen, req->pathname) &&
	    git_tree_entry_type(entry) == GIT_OBJECT_BLOB)
		git_oid_cpy(&f->expect, git_tree_entry_id(entry));
	else
		f->is_new = 1;
	git_error_clear();
	git_tree_entry_free(entry);
	return FILTER_PASS;
}

/*
 * The content's blob id decides, computed once the whole content is in
 * the loop's spool (its size known, as git's header needs): the frozen
 * blob passes. So does a blob the repository holds already: staging it
 * adds nothing. That is history checked out that rewrites an input, or
 * what the index holds, which git compares this way whenever a file's
 * stat data changed (git status, or before a checkout overwrites it);
 * the commit hooks judge what is staged. An input a person edits is new
 * content, and is refused.
 */
static enum filter_verdict ro_finish(void *data, const struct filter_request *req,
				     struct filter_content *content)
{
	struct readonly_filter *f = data;
	git_oid id;
	int known;

	if (!f->input)
		return FILTER_PASS;
	if (content_id(&id, f->sha1, content) < 0) {
		box_error_set("cannot hash the content of '%s'", req->pathname);
		return req->command == FILTER_SMUDGE ? FILTER_PASS : FILTER_ERROR;
	}
	if (!f->is_new && git_oid_equal(&id, &f->expect))
		return FILTER_PASS;
	known = git_odb_exists(f->odb, &id);
	if (req->command == FILTER_CLEAN) {
		if (known)
			return FILTER_PASS;
		f->refused = 1;
		if (f->is_new)
			box_error_set("%s: not among the inputs frozen at %.12s",
				      rules_protected_name(req->pathname), freeze_commit(f));
		else
			box_error_set("%s: its content differs from the one frozen at %.12s",
				      rules_protected_name(req->pathname), freeze_commit(f));
		return FILTER_ERROR;
	}
	if (f->is_new)
		warning("'%s' is not among the box's frozen inputs, but this checkout writes it",
			req->pathname);
	else
		warning("'%s' is a %s, but the content checked out differs from the one frozen "
			"in the box", req->pathname, rules_protected_name(req->pathname));
	hint("this history changes what the box froze; 'git box status' lists the differences");
	return FILTER_PASS;
}

static void ro_hint(void *data, const struct filter_request *req)
{
	struct readonly_filter *f = data;
	struct buf q = BUF_INIT;

	if (!f->refused)
		return;
	f->refused = 0;
	if (f->is_new)
		hint("the inputs are frozen; move '%s' out of them (while the box is "
		     "CREATED, 'git box import' adds inputs)", quote_for_message(&q, req->pathname));
	else
		hint("inputs are read-only once the work starts; run 'git box restore %s' "
		     "to put it back", quote_for_shell(&q, req->pathname));
	buf_release(&q);
}

struct readonly_filter *readonly_filter_new(void)
{
	struct readonly_filter *f = xcalloc(1, sizeof(*f));

	f->box = (struct box)BOX_INIT;
	f->sha1 = EVP_MD_CTX_new();
	if (!f->sha1) {
		fputs("fatal: out of memory\n", stderr);
		exit(BOX_ERROR);
	}
	return f;
}

void readonly_filter_ops(struct filter_ops *ops, struct readonly_filter *f)
{
	ops->start = ro_start;
	ops->content = NULL;
	ops->finish = ro_finish;
	ops->hint = ro_hint;
	ops->data = f;
}

void readonly_filter_free(struct readonly_filter *f)
{
	if (!f)
		return;
	git_tree_free(f->frozen);
	git_odb_free(f->odb);
	if (f->box.repo)
		box_release(&f->box);
	free(f->broken);
	EVP_MD_CTX_free(f->sha1);
	free(f);
}

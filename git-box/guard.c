#include "guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "util.h"
#include "banned.h"

void guard_init(struct guard *g, git_repository *repo, const struct policy *p,
		const git_oid *box_tip, int server)
{
	memset(g, 0, sizeof(*g));
	g->repo = repo;
	g->policy = p;
	g->box_ref = xstrfmt("refs/heads/%s", p->branch);
	if (box_tip) {
		git_oid_cpy(&g->box_tip, box_tip);
		g->has_box_tip = 1;
	}
	g->server = server;
}

void guard_release(struct guard *g)
{
	free(g->box_ref);
	memset(g, 0, sizeof(*g));
}

int guard_judges_ref(const char *refname, int server)
{
	if (!strcmp(refname, "HEAD"))
		return 0;
	return server || starts_with(refname, "refs/heads/") || !strcmp(refname, BOX_NOTES_REF) ||
	       starts_with(refname, BOX_TAG_PREFIX);
}

int guard_ref_value(git_oid *out, git_repository *repo, const char *refname)
{
	git_reference *ref = NULL, *resolved = NULL;
	int err, ret = -1;

	err = git_reference_lookup(&ref, repo, refname);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (err < 0 || git_reference_resolve(&resolved, ref) < 0) {
		if (git_error_last() && git_error_last()->klass == GIT_ERROR_REFERENCE && ref &&
		    git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC) {
			/* a symbolic ref to a branch not born yet */
			git_error_clear();
			ret = 0;
			goto out;
		}
		box_error_from_git("cannot read '%s'", refname);
		goto out;
	}
	git_oid_cpy(out, git_reference_target(resolved));
	ret = 1;
out:
	git_reference_free(resolved);
	git_reference_free(ref);
	return ret;
}

/* ---- deletions that delete nothing --------------------------------------- */

static int read_loose(git_oid *out, git_repository *repo, const char *refname)
{
	struct buf path = BUF_INIT, data = BUF_INIT;
	int found = 0;

	buf_addf(&path, "%s%s", git_repository_commondir(repo), refname);
	if (!buf_read_file(&data, path.ptr, 128) && data.len >= GIT_OID_HEXSZ &&
	    !git_oid_fromstrn(out, data.ptr, GIT_OID_HEXSZ))
		found = 1;
	box_error_clear();
	buf_release(&path);
	buf_release(&data);
	return found;
}

static int read_packed(git_oid *out, git_repository *repo, const char *refname)
{
	struct buf path = BUF_INIT;
	char *line = NULL;
	size_t alloc = 0, name_len = strlen(refname);
	ssize_t n;
	FILE *f;
	int found = 0;

	buf_addf(&path, "%spacked-refs", git_repository_commondir(repo));
	f = fopen(path.ptr, "re");
	buf_release(&path);
	if (!f)
		return 0;
	while (!found && (n = getline(&line, &alloc, f)) > 0) {
		if (n < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ')
			continue;
		if ((size_t)n - GIT_OID_HEXSZ - 1 >= name_len &&
		    !memcmp(line + GIT_OID_HEXSZ + 1, refname, name_len) &&
		    (line[GIT_OID_HEXSZ + 1 + name_len] == '\n' || !line[GIT_OID_HEXSZ + 1 + name_len]))
			found = !git_oid_fromstrn(out, line, GIT_OID_HEXSZ);
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * git pack-refs (and so git gc) copies refs into packed-refs, then deletes
 * their loose copies in a transaction of its own, which the hook sees as
 * deletions. A deletion takes nothing away when the ref is both loose and
 * packed with the same value: whichever copy goes, the other one stays.
 */
static int deletion_keeps_value(git_repository *repo, const char *refname)
{
	git_oid loose, packed;

	return read_loose(&loose, repo, refname) && read_packed(&packed, repo, refname) &&
	       git_oid_equal(&loose, &packed);
}

/* ---- commits ------------------------------------------------------------ */

static char *event_of(git_repository *repo, const git_oid *id)
{
	git_commit *c = NULL;
	char *event = NULL;

	if (!git_commit_lookup(&c, repo, id))
		event = commit_event(c);
	git_commit_free(c);
	return event;
}

static int is_event(const char *event, const char *name)
{
	return event && !strcmp(event, name);
}

int guard_may_freeze(int *out, git_repository *repo, git_commit *commit)
{
	git_commit *c = commit, *parent = NULL;
	char *event = NULL;
	int ret = -1;

	*out = 0;
	for (;;) {
		event = commit_event(c);
		if (is_event(event, "init")) {
			/* the box's init: the first commit to hold a policy */
			*out = !git_commit_parentcount(c) ||
			       !repo_commit_has_path(repo, git_commit_parent_id(c, 0), POLICY_PATH);
			break;
		}
		if (!is_event(event, "import") || !git_commit_parentcount(c))
			break;
		if (git_commit_parent(&parent, c, 0) < 0) {
			box_error_from_git("cannot read the parent of %.12s",
					   git_oid_tostr_s(git_commit_id(c)));
			goto out;
		}
		if (c != commit)
			git_commit_free(c);
		c = parent;
		parent = NULL;
		free(event);
		event = NULL;
	}
	ret = 0;
out:
	if (c != commit)
		git_commit_free(c);
	free(event);
	return ret;
}

int guard_check_commit(struct violations *out, struct guard *g, git_commit *commit,
		       const char *ref)
{
	struct changes changes = CHANGES_INIT;
	struct violations found = VIOLATIONS_INIT;
	const git_oid *id = git_commit_id(commit);
	char *event = commit_event(commit);
	int may_freeze = -1, ret = -1;

	if (changes_of_commit(&changes, g->repo, commit) < 0)
		goto out;
	for (size_t i = 0; i < changes.nr; i++) {
		const struct change *c = &changes.items[i];
		struct buf what = BUF_INIT;

		if (!policy_is_protected(g->policy, c->path))
			continue;
		if (may_freeze < 0 && guard_may_freeze(&may_freeze, g->repo, commit) < 0)
			goto out;
		if (may_freeze)
			break;
		change_describe(&what, c);
		violations_add(&found, id, ref, c->path, 0, rules_protected_name(c->path), "%s", what.ptr);
		buf_release(&what);
	}
	/* git box's own commits are judged by verify against their signed manifests */
	if (!event) {
		if (rules_check_changes(&found, g->repo, g->policy, &changes, id) < 0)
			goto out;
		rules_check_message(&found, g->policy, git_commit_message(commit), id);
	}
	for (size_t i = 0; i < found.nr; i++) {
		struct violation *v = &found.items[i];

		violations_add(out, &v->commit, ref, v->path, v->line, v->rule, "%s", v->detail);
	}
	ret = 0;
out:
	violations_release(&found);
	changes_release(&changes);
	free(event);
	return ret;
}

/* ---- walking what is new -------------------------------------------------- */

struct oids {
	git_oid *items;
	size_t nr, alloc;
};

static void oids_add(struct oids *o, const git_oid *id)
{
	if (o->nr == o->alloc) {
		o->alloc = o->alloc ? 2 * o->alloc : 16;
		o->items = xrealloc(o->items, o->alloc * sizeof(*o->items));
	}
	git_oid_cpy(&o->items[o->nr++], id);
}

static int oid_compare(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The commit an object names, peeling tags; 0 when it names no commit. */
static int peel_to_commit(git_oid *out, git_repository *repo, const git_oid *id)
{
	git_object *obj = NULL, *peeled = NULL;
	int found = 0;

	if (!git_object_lookup(&obj, repo, id, GIT_OBJECT_ANY) &&
	    !git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT)) {
		git_oid_cpy(out, git_object_id(peeled));
		found = 1;
	}
	git_error_clear();
	git_object_free(peeled);
	git_object_free(obj);
	return found;
}

static int hide(git_revwalk *walk, git_repository *repo, const git_oid *id)
{
	git_oid commit;

	if (!peel_to_commit(&commit, repo, id))
		return 0;
	if (git_revwalk_hide(walk, &commit) < 0) {
		box_error_from_git("cannot walk from %.12s", git_oid_tostr_s(&commit));
		return -1;
	}
	return 0;
}

/* On a server, what any ref holds came through this judge already. */
static int hide_every_ref(git_revwalk *walk, struct guard *g)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int err, ret = -1;

	if (git_reference_iterator_new(&it, g->repo) < 0) {
		box_error_from_git("cannot list the refs");
		return -1;
	}
	while (!(err = git_reference_next(&ref, it))) {
		git_oid id;
		int has = guard_ref_value(&id, g->repo, git_reference_name(ref));

		git_reference_free(ref);
		if (has < 0 || (has > 0 && hide(walk, g->repo, &id) < 0))
			goto out;
	}
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the refs");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_reference_iterator_free(it);
	return ret;
}

static int start_walk(git_revwalk **walk, struct guard *g, const git_oid *old)
{
	if (git_revwalk_new(walk, g->repo) < 0) {
		box_error_from_git("cannot walk the history");
		return -1;
	}
	git_revwalk_sorting(*walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	if ((old && hide(*walk, g->repo, old) < 0) ||
	    (g->has_box_tip && hide(*walk, g->repo, &g->box_tip) < 0) ||
	    (g->server && hide_every_ref(*walk, g) < 0))
		return -1;
	return 0;
}

static int walk_all(struct oids *out, git_revwalk *walk)
{
	git_oid id;
	int err;

	while (!(err = git_revwalk_next(&id, walk)))
		oids_add(out, &id);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot walk the history");
		return -1;
	}
	git_error_clear();
	return 0;
}

/*
 * The commits `new` brings that `old` (and the box branch, and on a
 * server every ref) does not hold, oldest first, leaving out what came
 * before a box's init: a repository made a box keeps its older history,
 * which no rule of the box ever covered.
 */
static int new_commits(struct oids *out, struct guard *g, const git_oid *old, const git_oid *tip)
{
	git_revwalk *walk = NULL;
	struct oids all = { NULL, 0, 0 }, before = { NULL, 0, 0 };
	int ret = -1;

	if (start_walk(&walk, g, old) < 0)
		goto out;
	if (git_revwalk_push(walk, tip) < 0) {
		box_error_from_git("cannot walk from %.12s", git_oid_tostr_s(tip));
		goto out;
	}
	if (walk_all(&all, walk) < 0)
		goto out;
	git_revwalk_free(walk);
	walk = NULL;

	for (size_t i = 0; i < all.nr; i++) {
		char *event = event_of(g->repo, &all.items[i]);
		git_commit *c = NULL;
		int init = is_event(event, "init");

		free(event);
		if (!init || git_commit_lookup(&c, g->repo, &all.items[i]) < 0)
			continue;
		for (unsigned p = 0; p < git_commit_parentcount(c); p++) {
			if (!walk && start_walk(&walk, g, old) < 0) {
				git_commit_free(c);
				goto out;
			}
			if (git_revwalk_push(walk, git_commit_parent_id(c, p)) < 0) {
				box_error_from_git("cannot walk the history");
				git_commit_free(c);
				goto out;
			}
		}
		git_commit_free(c);
	}
	if (walk && walk_all(&before, walk) < 0)
		goto out;
	if (before.nr)
		qsort(before.items, before.nr, sizeof(*before.items), oid_compare);
	for (size_t i = 0; i < all.nr; i++)
		if (!before.nr ||
		    !bsearch(&all.items[i], before.items, before.nr, sizeof(*before.items), oid_compare))
			oids_add(out, &all.items[i]);
	ret = 0;
out:
	git_revwalk_free(walk);
	free(all.items);
	free(before.items);
	return ret;
}

/* ---- refs ----------------------------------------------------------------- */

static const char *short_id(const git_oid *id)
{
	static __thread char hex[13];

	git_oid_tostr(hex, sizeof(hex), id);
	return hex;
}

/* Is `ancestor` `descendant` or one of its ancestors? */
static int contains(int *out, git_repository *repo, const git_oid *descendant, const git_oid *ancestor)
{
	int r;

	if (git_oid_equal(descendant, ancestor)) {
		*out = 1;
		return 0;
	}
	r = git_graph_descendant_of(repo, descendant, ancestor);
	if (r < 0) {
		box_error_from_git("cannot compare %.12s with %.12s", git_oid_tostr_s(descendant),
				   short_id(ancestor));
		return -1;
	}
	*out = r;
	return 0;
}

/*
 * A box branch that does not simply move forward must keep the commit
 * that froze the inputs: a rewrite of the work since then is the
 * analyst's business, a rewrite of the box's start is not.
 */
static int check_rewrite(struct violations *out, struct guard *g, const char *ref,
			 const git_oid *old, const git_oid *new)
{
	git_oid base, at;
	int has_base, kept, ret = -1;
	char *event = NULL;

	if (contains(&kept, g->repo, new, old) < 0)
		return -1;
	if (kept)
		return 0;
	has_base = !git_merge_base(&base, g->repo, old, new);
	git_error_clear();
	git_oid_cpy(&at, old);
	/* Down the old line to where the new one joins it, or to the freeze. */
	while (!has_base || !git_oid_equal(&at, &base)) {
		git_commit *c = NULL;

		event = event_of(g->repo, &at);
		if (is_event(event, "init") || is_event(event, "import")) {
			if (contains(&kept, g->repo, new, &at) < 0)
				goto out;
			if (!kept)
				violations_add(out, NULL, ref, NULL, 0, RULE_FROZEN_HISTORY,
					       "'%s' would no longer hold commit %s, which froze "
					       "the inputs (Box-Event: %s)", ref, short_id(&at), event);
			break;
		}
		free(event);
		event = NULL;
		if (git_commit_lookup(&c, g->repo, &at) < 0) {
			box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(&at));
			goto out;
		}
		if (!git_commit_parentcount(c)) {
			git_commit_free(c);
			break;
		}
		git_oid_cpy(&at, git_commit_parent_id(c, 0));
		git_commit_free(c);
	}
	ret = 0;
out:
	free(event);
	return ret;
}

static int check_branch(struct violations *out, struct guard *g, const char *ref,
			const git_oid *old, const git_oid *new)
{
	struct oids commits = { NULL, 0, 0 };
	int is_box = !strcmp(ref, g->box_ref), ret = -1;
	git_oid tip;

	if (is_box && old) {
		char *event = event_of(g->repo, old);
		int sealed = is_event(event, "seal");

		free(event);
		if (sealed) {
			violations_add(out, NULL, ref, NULL, 0, RULE_SEALED,
				       "the box was sealed at %s; its branch '%s' never moves again",
				       short_id(old), ref);
			return 0;
		}
		if (check_rewrite(out, g, ref, old, new) < 0)
			return -1;
	}
	if (!peel_to_commit(&tip, g->repo, new))
		return 0;   /* a tag of a tree or a blob: no history to judge */
	if (new_commits(&commits, g, old, &tip) < 0)
		goto out;
	for (size_t i = 0; i < commits.nr; i++) {
		git_commit *c = NULL;

		if (git_commit_lookup(&c, g->repo, &commits.items[i]) < 0) {
			box_error_from_git("cannot read commit %.12s",
					   git_oid_tostr_s(&commits.items[i]));
			goto out;
		}
		if (guard_check_commit(out, g, c, ref) < 0) {
			git_commit_free(c);
			goto out;
		}
		for (unsigned p = 0; is_box && p < git_commit_parentcount(c); p++) {
			char *event = event_of(g->repo, git_commit_parent_id(c, p));

			if (is_event(event, "seal"))
				violations_add(out, git_commit_id(c), ref, NULL, 0, RULE_SEALED,
					       "commit %s follows the seal %s; nothing may follow a seal",
					       short_id(git_commit_id(c)),
					       git_oid_tostr_s(git_commit_parent_id(c, p)));
			free(event);
		}
		git_commit_free(c);
	}
	ret = 0;
out:
	free(commits.items);
	return ret;
}

/* The note a notes tree path stands for: the path without its fan-out slashes. */
static int note_target(git_oid *out, const char *path)
{
	char hex[GIT_OID_HEXSZ];
	size_t n = 0;

	for (const char *p = path; *p; p++) {
		if (*p == '/')
			continue;
		if (n == GIT_OID_HEXSZ)
			return -1;
		hex[n++] = *p;
	}
	return n == GIT_OID_HEXSZ ? git_oid_fromstrn(out, hex, n) : -1;
}

static int check_notes(struct violations *out, struct guard *g, const char *ref,
		       const git_oid *old, const git_oid *new)
{
	git_commit *oc = NULL, *nc = NULL;
	git_tree *ot = NULL, *nt = NULL;
	struct changes changes = CHANGES_INIT;
	int forward, ret = -1;

	if (contains(&forward, g->repo, new, old) < 0)
		return -1;
	if (!forward) {
		violations_add(out, NULL, ref, NULL, 0, RULE_NOTES,
			       "'%s' would move from %s to %s, which does not hold it: notes are "
			       "only ever added to", ref, short_id(old), git_oid_tostr_s(new));
		return 0;
	}
	if (git_commit_lookup(&oc, g->repo, old) < 0 || git_commit_lookup(&nc, g->repo, new) < 0 ||
	    git_commit_tree(&ot, oc) < 0 || git_commit_tree(&nt, nc) < 0) {
		box_error_from_git("cannot read '%s'", ref);
		goto out;
	}
	if (changes_between_trees(&changes, g->repo, ot, nt) < 0)
		goto out;
	for (size_t i = 0; i < changes.nr; i++) {
		const struct change *c = &changes.items[i];
		git_note *note = NULL;
		git_blob *blob = NULL;
		git_oid target;
		size_t old_len;
		int err;

		if (!c->old_mode || note_target(&target, c->path) < 0)
			continue;   /* a note added, or a file that is not a note */
		err = git_note_commit_read(&note, g->repo, nc, &target);
		if (err == GIT_ENOTFOUND) {
			git_error_clear();
			violations_add(out, NULL, ref, NULL, 0, RULE_NOTES,
				       "the note on commit %s would be removed", short_id(&target));
			continue;
		}
		if (err < 0 || git_blob_lookup(&blob, g->repo, &c->old_id) < 0) {
			box_error_from_git("cannot read the note on %.12s", git_oid_tostr_s(&target));
			git_note_free(note);
			goto out;
		}
		old_len = (size_t)git_blob_rawsize(blob);
		if (strlen(git_note_message(note)) < old_len ||
		    memcmp(git_note_message(note), git_blob_rawcontent(blob), old_len))
			violations_add(out, NULL, ref, NULL, 0, RULE_NOTES,
				       "the note on commit %s would be changed; a note may only grow "
				       "by a signature appended to it", short_id(&target));
		git_blob_free(blob);
		git_note_free(note);
	}
	ret = 0;
out:
	changes_release(&changes);
	git_tree_free(ot);
	git_tree_free(nt);
	git_commit_free(oc);
	git_commit_free(nc);
	return ret;
}

int guard_check_update(struct violations *out, struct guard *g, const char *refname,
		       const git_oid *old, const git_oid *new)
{
	int is_box = !strcmp(refname, g->box_ref);
	int is_notes = !strcmp(refname, BOX_NOTES_REF);
	int is_tag = starts_with(refname, BOX_TAG_PREFIX);

	if (!guard_judges_ref(refname, g->server) || (old && new && git_oid_equal(old, new)))
		return 0;
	if (!new) {
		if (!old || (!is_box && !is_notes && !is_tag))
			return 0;
		if (!g->server && deletion_keeps_value(g->repo, refname))
			return 0;
		violations_add(out, NULL, refname, NULL, 0,
			       is_box ? RULE_BOX_BRANCH : is_notes ? RULE_NOTES : RULE_TAGS,
			       "'%s' would be deleted", refname);
		return 0;
	}
	if (is_tag && old) {
		violations_add(out, NULL, refname, NULL, 0, RULE_TAGS,
			       "'%s' would move from %s to %s; a timestamp tag never moves",
			       refname, short_id(old), git_oid_tostr_s(new));
		return 0;
	}
	if (is_notes)
		return old ? check_notes(out, g, refname, old, new) : 0;
	return check_branch(out, g, refname, old, new);
}

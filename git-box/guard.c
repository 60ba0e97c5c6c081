#include "guard.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>

#include "hash.h"
#include "manifest.h"
#include "repo.h"
#include "tsa.h"
#include "util.h"
#include "banned.h"

#define CA_MAX_BYTES (4 << 20)

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

void guard_set_box(struct guard *g, const git_oid *box_id)
{
	git_oid_cpy(&g->box_id, box_id);
	g->has_box_id = 1;
}

void guard_pending(struct guard *g, const char *refname, const git_oid *new)
{
	if (!new)
		return;
	if (!strcmp(refname, g->box_ref)) {
		git_oid_cpy(&g->box_new, new);
		g->has_box_new = 1;
	} else if (!strcmp(refname, BOX_NOTES_REF)) {
		git_oid_cpy(&g->notes_new, new);
		g->has_notes_new = 1;
	}
}

/* The box branch as the updates leave it, or NULL while there is none. */
static const git_oid *box_line(const struct guard *g)
{
	return g->has_box_new ? &g->box_new : g->has_box_tip ? &g->box_tip : NULL;
}

static int need_box_id(struct guard *g)
{
	const git_oid *tip = box_line(g);

	if (g->has_box_id)
		return 0;
	if (!tip) {
		box_error_set("the box's init commit is not known: there is no box branch '%s'",
			      g->box_ref);
		return -1;
	}
	if (box_find_init(&g->box_id, g->repo, tip) < 0)
		return -1;
	g->has_box_id = 1;
	return 0;
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

static const char *short_id(const git_oid *id)
{
	static __thread char hex[13];

	git_oid_tostr(hex, sizeof(hex), id);
	return hex;
}

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

int guard_check_identity(struct violations *out, struct guard *g, git_commit *commit,
			 const char *ref)
{
	const git_oid *id = git_commit_id(commit);
	char *event;
	int is_init;

	if (need_box_id(g) < 0)
		return -1;
	is_init = git_oid_equal(id, &g->box_id);
	event = commit_event(commit);
	if (is_init && !is_event(event, "init"))
		violations_add(out, id, ref, NULL, 0, RULE_BOX_IDENTITY,
			       "commit %s is where the box's policy begins, its init, but it does "
			       "not say '%s: init'", short_id(id), BOX_EVENT_TRAILER);
	else if (!is_init && is_event(event, "init"))
		violations_add(out, id, ref, NULL, 0, RULE_BOX_IDENTITY,
			       "commit %s says '%s: init', but the box's init is %s: a box has "
			       "one init", short_id(id), BOX_EVENT_TRAILER, git_oid_tostr_s(&g->box_id));
	else if (!is_init && !git_commit_parentcount(commit))
		violations_add(out, id, ref, NULL, 0, RULE_BOX_IDENTITY,
			       "commit %s is a root commit, but the box has one root, its init %s",
			       short_id(id), git_oid_tostr_s(&g->box_id));
	free(event);
	return 0;
}

/* What a commit's Box-Event trailer lets it do, once the claim holds. */
enum claim {
	CLAIM_NONE,     /* a commit people made, or a claim that does not hold */
	CLAIM_INIT,     /* the box's init: writes the inputs, the policy and what init writes */
	CLAIM_IMPORT,   /* an import while the box is CREATED: adds input files */
	CLAIM_SEAL,     /* a seal: one parent, the same tree */
};

/* Is every commit from `id` down its first-parent line to the box's init an import? */
static int only_imports_below(int *out, struct guard *g, const git_oid *id)
{
	git_commit *c = NULL;
	git_oid at;
	int ret = -1;

	*out = 0;
	git_oid_cpy(&at, id);
	for (;;) {
		char *event;

		if (git_oid_equal(&at, &g->box_id)) {
			*out = 1;
			break;
		}
		if (git_commit_lookup(&c, g->repo, &at) < 0) {
			box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(&at));
			goto out;
		}
		event = commit_event(c);
		if (!is_event(event, "import") || !git_commit_parentcount(c)) {
			free(event);
			break;
		}
		free(event);
		git_oid_cpy(&at, git_commit_parent_id(c, 0));
		git_commit_free(c);
		c = NULL;
	}
	ret = 0;
out:
	git_commit_free(c);
	return ret;
}

/*
 * Does the commit's Box-Event trailer hold? An unknown event, an import
 * once the work started, or a seal that is not its parent's tree again
 * is a violation, and the commit is then judged as any other.
 */
static int judge_claim(enum claim *out, struct violations *v, struct guard *g, git_commit *commit,
		       const char *event, const char *ref)
{
	const git_oid *id = git_commit_id(commit);
	unsigned parents = git_commit_parentcount(commit);

	*out = CLAIM_NONE;
	if (!event)
		return 0;
	if (!box_event_trailer_valid(event)) {
		violations_add(v, id, ref, NULL, 0, RULE_EVENT_TRAILER,
			       "commit %s says '%s: %s', which is not an event git box records",
			       short_id(id), BOX_EVENT_TRAILER, event);
		return 0;
	}
	if (is_event(event, "init")) {
		if (git_oid_equal(id, &g->box_id))
			*out = CLAIM_INIT;
		return 0;   /* any other init is guard_check_identity()'s */
	}
	if (is_event(event, "import")) {
		int created;

		if (parents && only_imports_below(&created, g, git_commit_parent_id(commit, 0)) < 0)
			return -1;
		if (parents && created)
			*out = CLAIM_IMPORT;
		else
			violations_add(v, id, ref, NULL, 0, RULE_EVENT_TRAILER,
				       "commit %s says '%s: import', but the work had started: an "
				       "import comes only while the box is CREATED (init and imports "
				       "only)", short_id(id), BOX_EVENT_TRAILER);
		return 0;
	}
	if (parents != 1) {
		violations_add(v, id, ref, NULL, 0, RULE_EVENT_TRAILER,
			       "commit %s says '%s: seal', but has %u parents: a seal has one",
			       short_id(id), BOX_EVENT_TRAILER, parents);
		return 0;
	}
	{
		git_commit *parent = NULL;
		int same;

		if (git_commit_parent(&parent, commit, 0) < 0) {
			box_error_from_git("cannot read the parent of %.12s", git_oid_tostr_s(id));
			return -1;
		}
		same = git_oid_equal(git_commit_tree_id(parent), git_commit_tree_id(commit));
		git_commit_free(parent);
		if (same)
			*out = CLAIM_SEAL;
		else
			violations_add(v, id, ref, NULL, 0, RULE_EVENT_TRAILER,
				       "commit %s says '%s: seal', but changes the files: a seal "
				       "has the tree of its parent", short_id(id), BOX_EVENT_TRAILER);
	}
	return 0;
}

/* The files git box init writes besides the protected ones. */
static int init_writes(const struct policy *p, const char *path)
{
	return !strcmp(path, ".gitattributes") || (p->tsa_ca && !strcmp(path, p->tsa_ca));
}

int guard_check_commit(struct violations *out, struct guard *g, git_commit *commit,
		       const char *ref)
{
	struct changes changes = CHANGES_INIT, judged = CHANGES_INIT;
	struct violations found = VIOLATIONS_INIT;
	const git_oid *id = git_commit_id(commit);
	char *event = commit_event(commit);
	enum claim claim;
	int overstepped = 0, ret = -1;

	if (guard_check_identity(&found, g, commit, ref) < 0 ||
	    judge_claim(&claim, &found, g, commit, event, ref) < 0 ||
	    changes_of_commit(&changes, g->repo, commit) < 0)
		goto out;
	judged.items = xcalloc(changes.nr ? changes.nr : 1, sizeof(*judged.items));
	for (size_t i = 0; i < changes.nr; i++) {
		const struct change *c = &changes.items[i];
		struct buf what = BUF_INIT;

		if (policy_is_protected(g->policy, c->path)) {
			if (claim == CLAIM_INIT || (claim == CLAIM_IMPORT && !c->old_mode &&
						    policy_is_input(g->policy, c->path)))
				continue;
			change_describe(&what, c);
			violations_add(&found, id, ref, c->path, 0, rules_protected_name(c->path),
				       "%s", what.ptr);
			buf_release(&what);
			overstepped = 1;
			continue;
		}
		if (claim == CLAIM_INIT && init_writes(g->policy, c->path))
			continue;   /* the files init writes from the policy itself */
		if (claim == CLAIM_INIT || claim == CLAIM_IMPORT) {
			violations_add(&found, id, ref, c->path, 0, RULE_EVENT_TRAILER,
				       "%s by the %s commit %s, which may only %s", change_kind(c),
				       event, short_id(id), claim == CLAIM_INIT
				       ? "write the inputs, the policy, .gitattributes and the "
					 "TSA anchors" : "add input files");
			overstepped = 1;
		}
		judged.items[judged.nr++] = *c;
	}
	if (rules_check_changes(&found, g->repo, g->policy, &judged, id) < 0)
		goto out;
	/* git box writes the messages of its own init, imports and seals, and only those */
	if (claim == CLAIM_NONE || overstepped)
		rules_check_message(&found, g->policy, git_commit_message(commit), id);
	for (size_t i = 0; i < found.nr; i++) {
		struct violation *v = &found.items[i];

		violations_add(out, &v->commit, ref, v->path, v->line, v->rule, "%s", v->detail);
	}
	ret = 0;
out:
	free(judged.items);
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

/*
 * Hide what `ref` need not be judged for: its old value, the box branch
 * (as it is, and for another ref as the updates leave it: its update is
 * judged under its own name), every ref on a server, and what came
 * before the box's init: a repository made a box keeps its older
 * history, which no rule of the box ever covered.
 */
static int start_walk(git_revwalk **walk, struct guard *g, const char *ref, const git_oid *old)
{
	git_commit *init = NULL;
	int ret = -1;

	if (git_revwalk_new(walk, g->repo) < 0) {
		box_error_from_git("cannot walk the history");
		return -1;
	}
	git_revwalk_sorting(*walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_REVERSE);
	if ((old && hide(*walk, g->repo, old) < 0) ||
	    (g->has_box_tip && hide(*walk, g->repo, &g->box_tip) < 0) ||
	    (g->has_box_new && strcmp(ref, g->box_ref) && hide(*walk, g->repo, &g->box_new) < 0) ||
	    (g->server && hide_every_ref(*walk, g) < 0) || need_box_id(g) < 0)
		return -1;
	if (git_commit_lookup(&init, g->repo, &g->box_id) < 0) {
		box_error_from_git("cannot read the box's init commit %.12s", git_oid_tostr_s(&g->box_id));
		return -1;
	}
	for (unsigned p = 0; p < git_commit_parentcount(init); p++)
		if (hide(*walk, g->repo, git_commit_parent_id(init, p)) < 0)
			goto out;
	ret = 0;
out:
	git_commit_free(init);
	return ret;
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
 * The commits `tip` brings to `ref` that it (and the box branch, and on
 * a server every ref) does not hold yet, oldest first.
 */
static int new_commits(struct oids *out, struct guard *g, const char *ref, const git_oid *old,
		       const git_oid *tip)
{
	git_revwalk *walk = NULL;
	int ret = -1;

	if (start_walk(&walk, g, ref, old) < 0)
		goto out;
	if (git_revwalk_push(walk, tip) < 0) {
		box_error_from_git("cannot walk from %.12s", git_oid_tostr_s(tip));
		goto out;
	}
	ret = walk_all(out, walk);
out:
	git_revwalk_free(walk);
	return ret;
}

/* ---- refs ----------------------------------------------------------------- */

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

/* The first parent of `id` into *out: 1, 0 for a root, -1 with box_error. */
static int first_parent(git_oid *out, git_repository *repo, const git_oid *id)
{
	git_commit *c = NULL;
	int ret = -1;

	if (git_commit_lookup(&c, repo, id) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(id));
		return -1;
	}
	ret = git_commit_parentcount(c) > 0;
	if (ret)
		git_oid_cpy(out, git_commit_parent_id(c, 0));
	git_commit_free(c);
	return ret;
}

/* A set of commit ids, open addressing: commit ids are already uniform. */
struct oidset {
	git_oid *slots;
	unsigned char *used;
	size_t nr, cap;
};

static size_t oidset_slot(const struct oidset *s, const git_oid *id)
{
	size_t h;

	memcpy(&h, id->id, sizeof(h));
	for (h &= s->cap - 1; s->used[h] && !git_oid_equal(&s->slots[h], id); h = (h + 1) & (s->cap - 1))
		;
	return h;
}

static int oidset_has(const struct oidset *s, const git_oid *id)
{
	return s->cap && s->used[oidset_slot(s, id)];
}

static void oidset_add(struct oidset *s, const git_oid *id)
{
	size_t at;

	if (2 * (s->nr + 1) > s->cap) {
		struct oidset bigger = { NULL, NULL, 0, s->cap ? 2 * s->cap : 64 };

		bigger.slots = xcalloc(bigger.cap, sizeof(*bigger.slots));
		bigger.used = xcalloc(bigger.cap, 1);
		for (size_t i = 0; i < s->cap; i++)
			if (s->used[i])
				oidset_add(&bigger, &s->slots[i]);
		free(s->slots);
		free(s->used);
		*s = bigger;
	}
	at = oidset_slot(s, id);
	if (!s->used[at]) {
		s->used[at] = 1;
		git_oid_cpy(&s->slots[at], id);
		s->nr++;
	}
}

static void oidset_release(struct oidset *s)
{
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

/*
 * Where the first-parent lines of `old` and `new` meet: 1 and *fork, or
 * 0 when they never do. Both lines are walked at once, each step
 * remembered, so that the cost is the commits above the fork, not the
 * history below it.
 */
static int first_parent_fork(git_oid *fork, git_repository *repo, const git_oid *old, const git_oid *new)
{
	struct oidset seen_old = { 0 }, seen_new = { 0 };
	git_oid a, b;
	int more_a = 1, more_b = 1, ret = -1;

	git_oid_cpy(&a, new);
	git_oid_cpy(&b, old);
	while (more_a || more_b) {
		if (more_a) {
			if (oidset_has(&seen_old, &a) || git_oid_equal(&a, old)) {
				git_oid_cpy(fork, &a);
				ret = 1;
				goto out;
			}
			oidset_add(&seen_new, &a);
			if ((more_a = first_parent(&a, repo, &a)) < 0)
				goto out;
		}
		if (more_b) {
			if (oidset_has(&seen_new, &b)) {
				git_oid_cpy(fork, &b);
				ret = 1;
				goto out;
			}
			oidset_add(&seen_old, &b);
			if ((more_b = first_parent(&b, repo, &b)) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	oidset_release(&seen_old);
	oidset_release(&seen_new);
	return ret;
}

/* The first remote-tracking ref that holds `commit`, or NULL. */
static int pushed_to(char **out, git_repository *repo, const git_oid *commit)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int err, ret = -1;

	*out = NULL;
	if (git_reference_iterator_glob_new(&it, repo, "refs/remotes/*") < 0) {
		box_error_from_git("cannot list the remote-tracking refs");
		return -1;
	}
	while (!*out && !(err = git_reference_next(&ref, it))) {
		git_oid tip;
		int has = guard_ref_value(&tip, repo, git_reference_name(ref)), held = 0;

		if (has > 0 && contains(&held, repo, &tip, commit) < 0)
			has = -1;
		if (has > 0 && held)
			*out = xstrdup(git_reference_name(ref));
		git_reference_free(ref);
		if (has < 0)
			goto out;
	}
	if (!*out && err != GIT_ITEROVER) {
		box_error_from_git("cannot list the remote-tracking refs");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_reference_iterator_free(it);
	return ret;
}

/*
 * The box branch grows by first parents: its old tip stays on the new
 * tip's first-parent line, so that no event, no input and no root ever
 * leaves the box's line (DESIGN.md, trust model 2). A server holds to
 * that exactly. A clone also lets the analyst rewrite what only it has
 * seen: commits that left its first-parent line may go if none carries
 * an event (a Box-Event trailer, or a note in refs/notes/box) and none
 * was pushed (no remote-tracking ref holds them).
 */
static int check_first_parent(struct violations *out, struct guard *g, const char *ref,
			      const git_oid *old, const git_oid *new)
{
	git_oid fork, at, lowest;
	char *event = NULL, *remote = NULL;
	int has_fork, ret = -1;

	if ((has_fork = first_parent_fork(&fork, g->repo, old, new)) < 0)
		return -1;
	if (has_fork && git_oid_equal(&fork, old))
		return 0;
	if (g->server) {
		violations_add(out, NULL, ref, NULL, 0, RULE_FIRST_PARENT,
			       "'%s' would move from %s to %s, which does not have it on its "
			       "first-parent line", ref, short_id(old), git_oid_tostr_s(new));
		return 0;
	}
	/* Down the old line to the fork, or to the first event: what would leave it. */
	git_oid_cpy(&at, old);
	for (;;) {
		int noted, more, kept;

		git_oid_cpy(&lowest, &at);
		event = event_of(g->repo, &at);
		if (is_event(event, "init") || is_event(event, "import")) {
			if (contains(&kept, g->repo, new, &at) < 0)
				goto out;
			if (kept)
				violations_add(out, NULL, ref, NULL, 0, RULE_FROZEN_HISTORY,
					       "'%s' would take commit %s, which froze the inputs "
					       "(Box-Event: %s), off its first-parent line", ref,
					       short_id(&at), event);
			else
				violations_add(out, NULL, ref, NULL, 0, RULE_FROZEN_HISTORY,
					       "'%s' would no longer hold commit %s, which froze "
					       "the inputs (Box-Event: %s)", ref, short_id(&at), event);
			break;
		}
		if ((noted = box_note_read(NULL, NULL, g->repo, &at)) < 0)
			goto out;
		if (event || !noted) {
			violations_add(out, NULL, ref, NULL, 0, RULE_FIRST_PARENT,
				       "'%s' would take commit %s off its first-parent line, and it "
				       "carries an event (%s)", ref, short_id(&at), event
				       ? "a Box-Event trailer" : "a manifest in " BOX_NOTES_REF);
			break;
		}
		free(event);
		event = NULL;
		if ((more = first_parent(&at, g->repo, &at)) < 0)
			goto out;
		if (!more || (has_fork && git_oid_equal(&at, &fork)))
			break;
	}
	/* What lies below on a line was pushed if anything above it was. */
	if (pushed_to(&remote, g->repo, &lowest) < 0)
		goto out;
	if (remote)
		violations_add(out, NULL, ref, NULL, 0, RULE_FIRST_PARENT,
			       "'%s' would take commit %s off its first-parent line, and it was "
			       "pushed: '%s' holds it", ref, short_id(&lowest), remote);
	ret = 0;
out:
	free(remote);
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
		if (check_first_parent(out, g, ref, old, new) < 0)
			return -1;
	}
	if (!peel_to_commit(&tip, g->repo, new))
		return 0;   /* a tag of a tree or a blob: no history to judge */
	if (new_commits(&commits, g, ref, old, &tip) < 0)
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

/* ---- timestamp tags --------------------------------------------------------- */

/* Is `commit` on the first-parent line from `tip` down to the box's init? */
static int on_box_line(int *out, struct guard *g, const git_oid *tip, const git_oid *commit)
{
	git_oid at;
	int more = 1;

	*out = 0;
	git_oid_cpy(&at, tip);
	while (more) {
		if (git_oid_equal(&at, commit)) {
			*out = 1;
			return 0;
		}
		if (git_oid_equal(&at, &g->box_id))
			return 0;
		if ((more = first_parent(&at, g->repo, &at)) < 0)
			return -1;
	}
	return 0;
}

/*
 * Is `commit` an event of this box's line: on the box branch as the
 * updates leave it, or, in a clone, on a remote-tracking copy of it (a
 * fetch brings the tags before the branch is merged)?
 */
static int on_box_history(int *out, struct guard *g, const git_oid *commit)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	const char *branch = g->box_ref + strlen("refs/heads/");
	int err, ret = -1;

	*out = 0;
	if (box_line(g) && on_box_line(out, g, box_line(g), commit) < 0)
		return -1;
	if (*out || g->server)
		return 0;
	if (git_reference_iterator_glob_new(&it, g->repo, "refs/remotes/*") < 0) {
		box_error_from_git("cannot list the remote-tracking refs");
		return -1;
	}
	while (!*out && !(err = git_reference_next(&ref, it))) {
		const char *name = git_reference_name(ref);
		size_t len = strlen(name), blen = strlen(branch);
		git_oid tip;
		int has = 0;

		if (len > blen && name[len - blen - 1] == '/' && !strcmp(name + len - blen, branch) &&
		    git_reference_type(ref) == GIT_REFERENCE_DIRECT) {
			git_oid_cpy(&tip, git_reference_target(ref));
			has = on_box_line(out, g, &tip, commit);
		}
		git_reference_free(ref);
		if (has < 0)
			goto out;
	}
	if (!*out && err != GIT_ITEROVER) {
		box_error_from_git("cannot list the remote-tracking refs");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_reference_iterator_free(it);
	return ret;
}

/* The payload of the note on `commit` in refs/notes/box as the updates leave it: 0, 1 (none), -1. */
static int pending_payload(struct buf *payload, struct guard *g, const git_oid *commit)
{
	git_commit *notes = NULL;
	git_note *note = NULL;
	git_oid tip;
	const char *text;
	int err, has = 1, ret = -1;

	if (g->has_notes_new)
		git_oid_cpy(&tip, &g->notes_new);
	else if ((has = guard_ref_value(&tip, g->repo, BOX_NOTES_REF)) <= 0)
		return has < 0 ? -1 : 1;
	if (git_commit_lookup(&notes, g->repo, &tip) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		return -1;
	}
	err = git_note_commit_read(&note, g->repo, notes, commit);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		ret = 1;
	} else if (err < 0) {
		box_error_from_git("cannot read the note on %.12s", git_oid_tostr_s(commit));
	} else {
		text = git_note_message(note);
		buf_add(payload, text, box_note_payload_len(text, strlen(text)));
		ret = 0;
	}
	git_note_free(note);
	git_commit_free(notes);
	return ret;
}

/*
 * The anchors a stamp is checked with at the guard: the policy's own
 * (timestamp.ca at the box's init), else the certificates the token
 * carries, which prove at least that it is whole and over this payload.
 * Trust in the TSA is the auditor's to give (verify --tsa-ca).
 */
static int stamp_anchors(struct tsa_anchors **out, struct guard *g, const struct tsa_tag *t)
{
	const unsigned char *p = t->der;
	TS_RESP *resp = NULL;
	PKCS7 *token;
	BIO *mem = NULL;
	BUF_MEM *pem;
	struct buf ca = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (g->policy->tsa_ca) {
		if (repo_read_blob_at(&ca, g->repo, &g->box_id, g->policy->tsa_ca, CA_MAX_BYTES) >= 0)
			ret = tsa_anchors_load(out, ca.ptr ? ca.ptr : "", ca.len, g->policy->tsa_ca);
		buf_release(&ca);
		return ret;
	}
	if (t->der_len > LONG_MAX || !(resp = d2i_TS_RESP(NULL, &p, (long)t->der_len)) ||
	    !(token = TS_RESP_get_token(resp)) || !PKCS7_type_is_signed(token) ||
	    !token->d.sign || !token->d.sign->cert || !(mem = BIO_new(BIO_s_mem()))) {
		box_error_set("its response holds no signed token with its certificates");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(token->d.sign->cert); i++)
		if (!PEM_write_bio_X509(mem, sk_X509_value(token->d.sign->cert, i))) {
			box_error_set("cannot read the certificates of its token");
			goto out;
		}
	BIO_get_mem_ptr(mem, &pem);
	ret = tsa_anchors_load(out, pem->data, pem->length, "the token's own certificates");
out:
	ERR_clear_error();
	BIO_free(mem);
	TS_RESP_free(resp);
	return ret;
}

/*
 * A new refs/tags/box/ tag: an annotated tag that parses as the
 * timestamp tag of an event of this box (gitbox-manifest(5)), so that a
 * tag nobody may delete can never make verify of a good box fail.
 */
static int check_tag(struct violations *out, struct guard *g, const char *ref, const git_oid *new)
{
	const char *name = ref + strlen("refs/tags/");
	git_object *obj = NULL;
	git_tag *tag;
	git_commit *commit = NULL;
	struct tsa_tag parsed = TSA_TAG_INIT;
	struct tsa_token token = TSA_TOKEN_INIT;
	struct tsa_anchors *anchors = NULL;
	struct manifest m = MANIFEST_INIT;
	struct buf payload = BUF_INIT;
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1], *named = NULL;
	const git_oid *target;
	const char *message;
	unsigned long n;
	int on_line, noted, ret = -1;

#define REFUSE(...) do { \
		violations_add(out, NULL, ref, NULL, 0, RULE_TAGS, __VA_ARGS__); \
		ret = 0; \
		goto out; \
	} while (0)

	if (tsa_tag_name_parse(&named, &n, ref) < 0)
		REFUSE("'%s' is not a timestamp tag name (box/<event>-<n>)", name);
	if (git_object_lookup(&obj, g->repo, new, GIT_OBJECT_ANY) < 0) {
		box_error_from_git("cannot read '%s'", ref);
		goto out;
	}
	if (git_object_type(obj) != GIT_OBJECT_TAG)
		REFUSE("'%s' is not an annotated tag", name);
	tag = (git_tag *)obj;
	target = git_tag_target_id(tag);
	if (git_tag_target_type(tag) != GIT_OBJECT_COMMIT)
		REFUSE("'%s' does not point at a commit", name);
	message = git_tag_message(tag) ? git_tag_message(tag) : "";
	if (tsa_tag_parse(&parsed, message, strlen(message)) < 0)
		REFUSE("'%s' is not a timestamp tag: %s", name, box_error_last());
	if (strcmp(parsed.event, named))
		REFUSE("'%s' is named for the %s event, but says it stamps the %s event", name, named,
		       parsed.event);
	if (need_box_id(g) < 0 || on_box_history(&on_line, g, target) < 0)
		goto out;
	if (!on_line)
		REFUSE("'%s' points at commit %s, which is not on the box branch's first-parent line",
		       name, short_id(target));
	if ((noted = pending_payload(&payload, g, target)) < 0)
		goto out;
	if (noted)
		REFUSE("'%s' stamps commit %s, which has no manifest in %s", name, short_id(target),
		       BOX_NOTES_REF);
	if (manifest_parse_header(&m, payload.ptr ? payload.ptr : "", payload.len) < 0)
		REFUSE("'%s' stamps commit %s, whose note is not a manifest: %s", name,
		       short_id(target), box_error_last());
	if (!git_oid_equal(&m.commit, target) || !git_oid_equal(&m.box, &g->box_id))
		REFUSE("'%s' stamps commit %s, whose manifest is not about it in this box", name,
		       short_id(target));
	if (strcmp(parsed.event, m.event))
		REFUSE("'%s' stamps the %s event, but the manifest on commit %s records %s", name,
		       parsed.event, short_id(target), m.event);
	sha256_buffer(digest, payload.ptr ? payload.ptr : "", payload.len);
	sha256_hex(hex, digest);
	if (strcmp(parsed.payload_sha256, hex))
		REFUSE("'%s' names payload sha256 %s, but the manifest on commit %s has %s", name,
		       parsed.payload_sha256, short_id(target), hex);
	if (stamp_anchors(&anchors, g, &parsed) < 0)
		REFUSE("'%s': its timestamp cannot be checked: %s", name, box_error_last());
	if (git_commit_lookup(&commit, g->repo, target) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(target));
		goto out;
	}
	{
		struct tsa_expect expect = {
			.data = payload.ptr ? payload.ptr : "", .len = payload.len,
			.not_before = (time_t)git_commit_committer(commit)->when.time,
		};

		if (tsa_check_response(&token, parsed.der, parsed.der_len, &expect, anchors) < 0)
			REFUSE("'%s': its timestamp does not hold: %s", name, box_error_last());
	}
	if (strcmp(parsed.gen_time, token.gen_time_text))
		REFUSE("'%s' says Gen-Time %s, but its token says %s", name, parsed.gen_time,
		       token.gen_time_text);
	ret = 0;
#undef REFUSE
out:
	if (!ret)
		box_error_clear();
	manifest_release(&m);
	buf_release(&payload);
	tsa_anchors_free(anchors);
	tsa_token_release(&token);
	tsa_tag_release(&parsed);
	git_commit_free(commit);
	git_object_free(obj);
	free(named);
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
	if (is_tag && check_tag(out, g, refname, new) < 0)
		return -1;
	return check_branch(out, g, refname, old, new);
}

/*
 * How every hook tells a refusal: one error line per broken rule, naming
 * the path (and line), the rule and what was found, then one hint per
 * kind of rule saying what to do next.
 */
#include <string.h>

#include "hooks.h"
#include "output.h"
#include "banned.h"

/* Enough to see what is wrong; a commit of ten thousand bad files need not print them all. */
#define REPORT_MAX 100

static void print_one(const struct violation *v)
{
	struct buf where = BUF_INIT, q = BUF_INIT;
	static const git_oid zero;

	if (v->path) {
		buf_addf(&where, "'%s", quote_for_message(&q, v->path));
		if (v->line)
			buf_addf(&where, ":%zu", v->line);
		buf_adds(&where, "': ");
	}
	buf_addf(&where, "%s: %s", v->rule, v->detail);
	if (memcmp(&v->commit, &zero, sizeof(zero))) {
		buf_addf(&where, " in commit %.12s", git_oid_tostr_s(&v->commit));
		if (v->ref)
			buf_addf(&where, " on '%s'", v->ref);
	}
	error("%s", where.ptr);
	buf_release(&where);
	buf_release(&q);
}

static int broke(const struct violations *v, const char *rule)
{
	for (size_t i = 0; i < v->nr; i++)
		if (!strcmp(v->items[i].rule, rule))
			return 1;
	return 0;
}

/*
 * " a b c" of the first protected paths that were `added` (or were not:
 * restore puts back what was frozen, an added file is unstaged),
 * shell-quoted, for a hint.
 */
static void protected_paths(struct buf *out, const struct violations *v, int added)
{
	struct buf q = BUF_INIT;
	size_t shown = 0;

	for (size_t i = 0; i < v->nr; i++) {
		const struct violation *x = &v->items[i];

		if (!x->path || (strcmp(x->rule, RULE_READ_ONLY_INPUT) &&
				 strcmp(x->rule, RULE_READ_ONLY_POLICY)) ||
		    added != starts_with(x->detail, "added"))
			continue;
		if (shown == 3) {
			buf_adds(out, " ...");
			break;
		}
		buf_addf(out, " %s", quote_for_shell(&q, x->path));
		shown++;
	}
	buf_release(&q);
}

void hooks_report(const struct violations *v, enum hooks_context ctx, const git_oid *freeze)
{
	struct buf paths = BUF_INIT, added = BUF_INIT;

	for (size_t i = 0; i < v->nr && i < REPORT_MAX; i++)
		print_one(&v->items[i]);
	if (v->nr > REPORT_MAX)
		error("and %zu more", v->nr - REPORT_MAX);

	if (broke(v, RULE_READ_ONLY_INPUT) || broke(v, RULE_READ_ONLY_POLICY)) {
		if (freeze)
			hint("the inputs and the policy are read-only since commit %.12s froze them",
			     git_oid_tostr_s(freeze));
		protected_paths(&paths, v, 0);
		protected_paths(&added, v, 1);
		switch (ctx) {
		case HOOKS_COMMIT:
			if (paths.len)
				hint("run 'git box restore%s' to put them back as they were frozen",
				     paths.ptr);
			if (added.len)
				hint("run 'git rm --cached%s' to unstage what is not a frozen input",
				     added.ptr);
			break;
		case HOOKS_REF_UPDATE:
			hint("a commit that changes them cannot enter the box's history; if this "
			     "command wrote them to disk already, 'git box status' lists them and "
			     "'git box restore' puts them back");
			break;
		case HOOKS_PUSH:
			hint("rewrite those commits so that they leave the inputs and the policy "
			     "alone, then push again");
			break;
		}
	}
	if (broke(v, "forbid_paths"))
		hint("that path is forbidden by rules.forbid_paths; keep the file out of the %s",
		     ctx == HOOKS_COMMIT ? "commit ('git rm --cached' unstages it)" : "history");
	if (broke(v, "max_file_size"))
		hint("a file over rules.max_file_size cannot enter the box; keep it out of the %s",
		     ctx == HOOKS_COMMIT ? "commit ('git rm --cached' unstages it)" : "history");
	if (broke(v, "forbid_content"))
		hint("remove what the rule forbids from those lines; rules.forbid_content in "
		     "the policy holds its expression");
	if (broke(v, "require_trailers"))
		hint("end the message with a paragraph of trailers, such as 'Ticket: ABC-123'");
	if (broke(v, RULE_EVENT_TRAILER))
		hint(ctx == HOOKS_COMMIT ? "only git box writes 'Box-Event:' trailers; remove it from the message"
		     : "a 'Box-Event:' trailer is a claim: only the event as git box makes it may "
		       "carry one; rewrite the commit without it");
	if (broke(v, RULE_BOX_IDENTITY))
		hint("a box has one root and one init, its init commit; history that starts "
		     "elsewhere, or another box, cannot enter it");
	if (broke(v, RULE_FIRST_PARENT))
		hint(ctx == HOOKS_PUSH
		     ? "the box branch grows by first parents only: fetch, put your work on top "
		       "of it ('git pull --rebase', or a merge made on the box branch), and push again"
		     : "the box branch grows by first parents only: a commit that was pushed or "
		       "carries an event stays on it; make a new commit ('git revert') instead");
	if (broke(v, RULE_SEALED))
		hint("a sealed box is finished; do further work on another branch or in a new box");
	if (broke(v, RULE_FROZEN_HISTORY))
		hint("history may be rewritten after the commit that froze the inputs, "
		     "never before it");
	if (broke(v, RULE_BOX_BRANCH))
		hint("the box branch holds the box's history; it cannot be deleted or renamed");
	if (broke(v, RULE_NOTES))
		hint("manifests in refs/notes/box are only ever added to; 'git box sign' "
		     "appends a signature");
	if (broke(v, RULE_TAGS))
		hint("timestamp tags are never moved or deleted, and only 'git box timestamp' makes "
		     "them, over an event's manifest: push or fetch them with refs/notes/box");
	if (ctx == HOOKS_COMMIT)
		hint("nothing was committed");
	else if (ctx == HOOKS_REF_UPDATE)
		hint("no ref was changed");
	buf_release(&paths);
	buf_release(&added);
}

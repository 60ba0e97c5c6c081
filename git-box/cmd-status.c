/*
 * git box status: which box this is, where it stands, and what to do next.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "events.h"
#include "install.h"
#include "lifecycle.h"
#include "output.h"
#include "repo.h"
#include "tsa.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box status [--json]",
	NULL,
};

static const struct command_usage usage = { "status", synopsis };

struct path_count {
	const char *path;
	size_t files;
	uint64_t bytes;
};

static int installed(const struct install_state *inst)
{
	return !inst->hooks_missing.nr && !inst->hooks_outdated.nr && inst->filter;
}

/* What differs between the frozen inputs and the work tree. */
struct input_trouble {
	struct strlist changed;         /* paths, with what happened in `changes` */
	struct strlist changes;
	struct strlist loosened;        /* paths ("input/sub/" for a folder), mode in `modes` */
	struct strlist modes;
};

#define INPUT_TROUBLE_INIT { STRLIST_INIT, STRLIST_INIT, STRLIST_INIT, STRLIST_INIT }

static const char *next_step(enum box_state state, const struct install_state *inst,
			     const struct input_trouble *t)
{
	if (inst->hooks_missing.nr || inst->hooks_outdated.nr || !inst->filter)
		return "run 'git box install' so that this clone enforces the box";
	for (size_t i = 0; i < t->changed.nr; i++)
		if (strcmp(t->changes.items[i], "added"))
			return "run 'git box restore <path>...' to put the inputs back as they were frozen";
	if (t->loosened.nr)
		return "run 'git box restore <path>...' to make the inputs read-only again";
	if (t->changed.nr)
		return "move the added files out of the inputs: they are not frozen inputs";
	switch (state) {
	case BOX_CREATED:
		return "add your code and commit: the first commit starts the work and freezes the inputs";
	case BOX_IN_PROGRESS:
		return "work and commit; the inputs are read-only";
	case BOX_SEALED:
		return "the box is sealed and waits for what its seal lacks: nothing more may be committed "
		       "on its branch";
	case BOX_COMPLETED:
		return "the box is sealed: nothing more may be committed on its branch";
	}
	return "";
}

/* Events the policy wants timestamped that have no timestamp tag yet. */
static json_t *pending_json(const struct tsa_event *pending, size_t nr)
{
	char hex[GIT_OID_HEXSZ + 1];
	json_t *a = json_array();

	for (size_t i = 0; i < nr; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "event", pending[i].event, "commit",
						   git_oid_tostr(hex, sizeof(hex), &pending[i].commit)));
	return a;
}

static void print_pending(const struct tsa_event *pending, size_t nr)
{
	char id[13];

	for (size_t i = 0; i < nr; i++) {
		git_oid_tostr(id, sizeof(id), &pending[i].commit);
		printf_ln("timestamp pending: %s on %s; run 'git box timestamp %s'", pending[i].event,
			  id, id);
	}
}

static int count_paths(struct path_count **out, const struct box *b, const struct strlist *paths)
{
	struct path_count *counts = xcalloc(paths->nr ? paths->nr : 1, sizeof(*counts));

	for (size_t i = 0; i < paths->nr; i++) {
		counts[i].path = paths->items[i];
		if (box_count_path(&counts[i].files, &counts[i].bytes, b, &b->tip, paths->items[i]) < 0) {
			free(counts);
			return -1;
		}
	}
	*out = counts;
	return 0;
}

static const char *delta_kind(const git_diff_delta *d, const char *workdir)
{
	git_oid id;
	char *abs;
	int same;

	switch (d->status) {
	case GIT_DELTA_ADDED:
	case GIT_DELTA_UNTRACKED:
		return "added";
	case GIT_DELTA_DELETED:
		return "deleted";
	case GIT_DELTA_TYPECHANGE:
		return "type changed";
	default:
		break;
	}
	if (d->old_file.mode == d->new_file.mode)
		return "modified";
	/* libgit2 need not hash a file whose mode changed: look at its content here */
	abs = xstrfmt("%s%s", workdir, d->new_file.path);
	same = !git_odb_hashfile(&id, abs, GIT_OBJECT_BLOB) && git_oid_equal(&id, &d->old_file.id);
	git_error_clear();
	free(abs);
	return same ? "mode changed" : "modified";
}

/*
 * Inputs whose content on disk is not the frozen content: the tip of
 * the box branch against the work tree, through the index so that only
 * files whose stat data changed are read. One diff per protected path
 * keeps each to the files under it.
 */
static int find_changed(struct input_trouble *t, const struct box *b)
{
	git_commit *tip = NULL;
	git_tree *tree = NULL;
	int ret = -1;

	if (git_commit_lookup(&tip, b->repo, &b->tip) < 0 || git_commit_tree(&tree, tip) < 0) {
		box_error_from_git("cannot read the box branch");
		goto out;
	}
	for (size_t i = 0; i <= b->policy.inputs.nr; i++) {
		char *path = (char *)(i < b->policy.inputs.nr ? b->policy.inputs.items[i] : POLICY_PATH);
		git_diff_options opts;
		git_diff *diff = NULL;

		git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
		opts.flags = GIT_DIFF_INCLUDE_UNTRACKED | GIT_DIFF_RECURSE_UNTRACKED_DIRS |
			     GIT_DIFF_DISABLE_PATHSPEC_MATCH | GIT_DIFF_INCLUDE_TYPECHANGE;
		opts.pathspec.strings = &path;
		opts.pathspec.count = 1;
		if (git_diff_tree_to_workdir_with_index(&diff, b->repo, tree, &opts) < 0) {
			box_error_from_git("cannot compare '%s' with the frozen inputs", path);
			goto out;
		}
		for (size_t d = 0; d < git_diff_num_deltas(diff); d++) {
			const git_diff_delta *delta = git_diff_get_delta(diff, d);

			strlist_add(&t->changed, delta->new_file.path ? delta->new_file.path
				    : delta->old_file.path);
			strlist_add(&t->changes, delta_kind(delta, git_repository_workdir(b->repo)));
		}
		git_diff_free(diff);
	}
	ret = 0;
out:
	git_tree_free(tree);
	git_commit_free(tip);
	return ret;
}

static int check_mode(const char *abs, const char *rel, int is_dir, void *data)
{
	struct input_trouble *t = data;
	struct stat st;
	char mode[8];

	if (lstat(abs, &st) < 0 || !(st.st_mode & 0222))
		return 0;   /* gone (status lists it as deleted) or read-only */
	if (is_dir && strlist_has(&t->loosened, rel))
		return 0;
	strlist_add(&t->loosened, rel);
	snprintf(mode, sizeof(mode), "%o", (unsigned)(st.st_mode & 07777));
	strlist_add(&t->modes, mode);
	return 0;
}

static void input_trouble_release(struct input_trouble *t)
{
	strlist_release(&t->changed);
	strlist_release(&t->changes);
	strlist_release(&t->loosened);
	strlist_release(&t->modes);
}

static json_t *pairs_json(const struct strlist *paths, const struct strlist *values, const char *key)
{
	json_t *a = json_array();

	for (size_t i = 0; i < paths->nr; i++)
		json_array_append_new(a, json_pack("{s:o, s:s}", "path", json_text(paths->items[i]),
						   key, values->items[i]));
	return a;
}

static void print_pairs(const char *label, const struct strlist *paths,
			const struct strlist *values)
{
	struct buf q = BUF_INIT;

	for (size_t i = 0; i < paths->nr; i++)
		printf_ln("%-9s %s (%s)", i ? "" : label, quote_for_message(&q, paths->items[i]),
			  values->items[i]);
	buf_release(&q);
}

static json_t *counts_json(const struct path_count *counts, size_t nr)
{
	json_t *a = json_array();

	for (size_t i = 0; i < nr; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:I}", "path", counts[i].path,
						   "files", (json_int_t)counts[i].files,
						   "bytes", (json_int_t)counts[i].bytes));
	return a;
}

static json_t *strlist_json(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->nr; i++)
		json_array_append_new(a, json_text(l->items[i]));
	return a;
}

static void print_counts(const char *label, const struct path_count *counts, size_t nr)
{
	if (!nr)
		printf_ln("%-9s (none)", label);
	for (size_t i = 0; i < nr; i++)
		printf_ln("%-9s %s (%zu file%s, %" PRIu64 " bytes)", i ? "" : label, counts[i].path,
			  counts[i].files, counts[i].files == 1 ? "" : "s", counts[i].bytes);
}

static void print_list(const char *label, const struct strlist *l)
{
	struct buf line = BUF_INIT;

	buf_adds(&line, label);
	for (size_t i = 0; i < l->nr; i++)
		buf_addf(&line, "%s%s", i ? ", " : " ", l->items[i]);
	printf_ln("%s", line.ptr);
	buf_release(&line);
}

/* What the events say: their number, the chain, the seal and what it lacks, commits left unsigned. */
struct event_status {
	struct box_events ev;
	size_t broken;
	char *problem;
	int sealed, interrupted;
	git_oid seal, pending;
	struct seal_lack lack;                  /* the seal's quorum and timestamp */
	struct strlist missing_uids;            /* of lack.missing, "" when unknown */
	struct strlist unsigned_commits;        /* every-commit: commits with no signed manifest */
};

#define EVENT_STATUS_INIT { BOX_EVENTS_INIT, 0, NULL, 0, 0, { { 0 } }, { { 0 } }, SEAL_LACK_INIT, \
			    STRLIST_INIT, STRLIST_INIT }

static int load_event_status(struct event_status *s, const struct box *b)
{
	const struct box_event *last;
	struct sign_ctx *gpg = NULL;
	struct event_stamps stamps = EVENT_STAMPS_INIT;
	int ret = -1;

	if (box_events_load(&s->ev, b, NULL, 0) < 0)
		return -1;
	if (s->ev.have_notes) {
		s->broken = box_events_check(&s->ev, b, NULL);
		if (s->broken)
			s->problem = xstrdup(box_error_last());
	}
	last = box_events_last(&s->ev);
	s->interrupted = !last || last->invalid || strcmp(last->manifest.event, "seal")
		? box_pending_seal(&s->pending, b, &s->ev) == 1 : 0;
	if (last && !last->invalid && !strcmp(last->manifest.event, "seal")) {
		s->sealed = 1;
		git_oid_cpy(&s->seal, &last->commit);
		if (sign_open(&gpg, b->repo, NULL) < 0 || event_stamps_load(&stamps, b, &s->ev) < 0 ||
		    seal_lack_read(&s->lack, b, &s->ev, &stamps, gpg) < 0)
			goto out;
		for (size_t i = 0; i < s->lack.missing.nr; i++) {
			char *uid = sign_key_uid(gpg, s->lack.missing.items[i]);

			strlist_add_nodup(&s->missing_uids, uid ? uid : xstrdup(""));
		}
	}
	if (b->policy.signing_when == SIGNING_EVERY_COMMIT) {
		for (size_t i = 1; i < s->ev.history_nr; i++) {
			const git_oid *id = &s->ev.history[i];
			const struct box_event *e = box_events_find(&s->ev, id);

			if (!e || !e->signatures.len)
				strlist_add(&s->unsigned_commits, git_oid_tostr_s(id));
		}
	}
	ret = 0;
out:
	event_stamps_release(&stamps);
	sign_close(gpg);
	return ret;
}

static void event_status_release(struct event_status *s)
{
	box_events_release(&s->ev);
	free(s->problem);
	seal_lack_release(&s->lack);
	strlist_release(&s->missing_uids);
	strlist_release(&s->unsigned_commits);
}

static void print_event_status(const struct event_status *s, const struct box *b)
{
	const struct box_event *last = box_events_last(&s->ev);
	struct buf line = BUF_INIT;

	if (!s->ev.have_notes)
		printf_ln("events    none here: fetch %s", BOX_NOTES_REF);
	else
		printf_ln("events    %zu%s%s%s%.12s%s; chain %s", s->ev.nr, last ? " (last: " : "",
			  last && !last->invalid ? last->manifest.event : "", last ? " at " : "",
			  last ? git_oid_tostr_s(&last->commit) : "", last ? ")" : "",
			  s->broken ? "BROKEN" : "intact");
	if (s->broken)
		printf_ln("          %s", s->problem);
	if (s->interrupted)
		printf_ln("seal      interrupted at %.12s: run 'git box seal' to complete it",
			  git_oid_tostr_s(&s->pending));
	if (s->sealed && b->policy.quorum) {
		buf_reset(&line);
		buf_addf(&line, "%zu of %d signature%s", s->lack.have, b->policy.quorum,
			 b->policy.quorum == 1 ? "" : "s");
		if ((int)s->lack.have < b->policy.quorum) {
			buf_adds(&line, "; missing:");
			for (size_t i = 0; i < s->lack.missing.nr; i++)
				buf_addf(&line, "%s %s%s%s%s", i ? "," : "", s->lack.missing.items[i],
					 *s->missing_uids.items[i] ? " (" : "", s->missing_uids.items[i],
					 *s->missing_uids.items[i] ? ")" : "");
		}
		printf_ln("quorum    %s", line.ptr);
	}
	if (s->unsigned_commits.nr) {
		buf_reset(&line);
		buf_addf(&line, "%zu commit%s:", s->unsigned_commits.nr, s->unsigned_commits.nr == 1 ? "" : "s");
		for (size_t i = 0; i < s->unsigned_commits.nr; i++)
			buf_addf(&line, " %.12s", s->unsigned_commits.items[i]);
		printf_ln("unsigned  %s", line.ptr);
	}
	buf_release(&line);
}

static json_t *event_status_json(const struct event_status *s, const struct box *b)
{
	const struct box_event *last = box_events_last(&s->ev);
	json_t *missing = json_array(), *unsigned_commits = json_array();
	char last_id[GIT_OID_HEXSZ + 1], seal_id[GIT_OID_HEXSZ + 1], pending_id[GIT_OID_HEXSZ + 1];

	if (last)
		git_oid_tostr(last_id, sizeof(last_id), &last->commit);
	git_oid_tostr(seal_id, sizeof(seal_id), &s->seal);
	git_oid_tostr(pending_id, sizeof(pending_id), &s->pending);

	for (size_t i = 0; i < s->lack.missing.nr; i++)
		json_array_append_new(missing, json_pack("{s:s, s:o?}", "fingerprint", s->lack.missing.items[i],
							 "uid", json_text(*s->missing_uids.items[i] ?
									  s->missing_uids.items[i] : NULL)));
	for (size_t i = 0; i < s->unsigned_commits.nr; i++)
		json_array_append_new(unsigned_commits, json_string(s->unsigned_commits.items[i]));
	return json_pack("{s:I, s:b, s:o?, s:s?, s:s?, s:s?, s:{s:i, s:I, s:o}, s:o}",
			 "count", (json_int_t)s->ev.nr, "chain_intact", s->ev.have_notes && !s->broken,
			 "problem", json_text(s->problem),
			 "last", last ? last_id : NULL,
			 "sealed_at", s->sealed ? seal_id : NULL,
			 "interrupted_seal", s->interrupted ? pending_id : NULL,
			 "quorum", "required", b->policy.quorum, "signed", (json_int_t)s->lack.have,
			 "missing", missing, "unsigned_commits", unsigned_commits);
}

/* "SEALED (waiting for 1 more signature from: FPR (uid), and a timestamp)" */
static void print_state(enum box_state state, const struct event_status *s)
{
	struct buf lack = BUF_INIT;

	seal_lack_describe(&lack, &s->lack, &s->missing_uids);
	if (state == BOX_SEALED && lack.len)
		printf_ln("state     %s (waiting for %s)", box_state_name(state), lack.ptr);
	else
		printf_ln("state     %s", box_state_name(state));
	buf_release(&lack);
}

static const char *events_next_step(const struct event_status *s, const struct box *b, const char *next)
{
	if (s->interrupted)
		return "a seal was interrupted: run 'git box seal' to complete it";
	if (s->sealed && seal_lack_signatures(&s->lack))
		return "the seal needs more signatures: each missing signer runs 'git box sign' in a clone";
	if (s->unsigned_commits.nr)
		return "sign the newest unsigned commit with 'git box checkpoint <commit>'";
	return next;
}

/* Which box this clone is: the id it recorded, and the fetched copies of its branch. */
struct identity {
	int recorded;                   /* box.id is set */
	git_oid recorded_id;
	struct strlist foreign_refs;    /* copies of the box branch that hold another box */
	struct strlist foreign_ids;     /* ...and which one ("": none) */
};

#define IDENTITY_INIT { 0, { { 0 } }, STRLIST_INIT, STRLIST_INIT }

static int load_identity(struct identity *idn, const struct box *b)
{
	if ((idn->recorded = box_recorded_id(&idn->recorded_id, b->repo)) < 0)
		return -1;
	return box_foreign_copies(&idn->foreign_refs, &idn->foreign_ids, b);
}

static int identity_changed(const struct identity *idn, const struct box *b)
{
	return (idn->recorded && !git_oid_equal(&idn->recorded_id, &b->id)) || idn->foreign_refs.nr;
}

static void report_identity(const struct identity *idn, const struct box *b, const char *id)
{
	char recorded[GIT_OID_HEXSZ + 1];

	if (idn->recorded && !git_oid_equal(&idn->recorded_id, &b->id)) {
		git_oid_tostr(recorded, sizeof(recorded), &idn->recorded_id);
		error("this clone's box is %s (%s), but its branch '%s' now holds box %s", recorded,
		      BOX_ID_CONFIG, b->policy.branch, id);
		hint("the box branch was re-rooted or replaced: build nothing on it; "
		     "'git box verify --expect-box %s' checks it against the box you had", recorded);
		hint("if the new box is the one to follow, run 'git config %s %s'", BOX_ID_CONFIG, id);
	}
	for (size_t i = 0; i < idn->foreign_refs.nr; i++) {
		if (*idn->foreign_ids.items[i])
			error("'%s' holds box %s, not this box %s", idn->foreign_refs.items[i],
			      idn->foreign_ids.items[i], id);
		else
			error("'%s' holds no box, not this box %s", idn->foreign_refs.items[i], id);
	}
	if (idn->foreign_refs.nr)
		hint("that remote's box is not this box: merge or push nothing of it; "
		     "'git box verify --expect-box %s' in a clone of it says what changed", id);
}

static json_t *identity_json(const struct identity *idn)
{
	char recorded[GIT_OID_HEXSZ + 1];
	json_t *foreign = json_array();

	for (size_t i = 0; i < idn->foreign_refs.nr; i++)
		json_array_append_new(foreign, json_pack("{s:s, s:s?}", "ref", idn->foreign_refs.items[i],
							 "box", *idn->foreign_ids.items[i]
							 ? idn->foreign_ids.items[i] : NULL));
	if (idn->recorded)
		git_oid_tostr(recorded, sizeof(recorded), &idn->recorded_id);
	return json_pack("{s:s?, s:o}", "recorded", idn->recorded ? recorded : NULL, "foreign", foreign);
}

static void identity_release(struct identity *idn)
{
	strlist_release(&idn->foreign_refs);
	strlist_release(&idn->foreign_ids);
}

/*
 * The one next step status names, most urgent first: a clone that does
 * not enforce the box, inputs to put back, then what the events need.
 */
static const char *status_next(enum box_state state, const struct install_state *inst,
			       const struct input_trouble *t, const struct event_status *es,
			       const struct box *b, const char *pending_step)
{
	const char *next = next_step(state, inst, t);

	if (!installed(inst) || t->changed.nr || t->loosened.nr)
		return next;
	if (es->interrupted || !pending_step)
		return events_next_step(es, b, next);
	return pending_step;
}

int cmd_status(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct install_state inst = INSTALL_STATE_INIT;
	struct path_count *inputs = NULL, *outputs = NULL;
	struct tsa_event *pending = NULL;
	size_t pending_nr = 0;
	char *pending_step = NULL;
	struct event_status es = EVENT_STATUS_INIT;
	struct input_trouble trouble = INPUT_TROUBLE_INIT;
	struct identity identity = IDENTITY_INIT;
	enum box_state state;
	char id[GIT_OID_HEXSZ + 1];
	int c, json = 0, bare, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
		if (c == 'j')
			json = 1;
	}
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	bare = git_repository_is_bare(box.repo);
	if (box_state(&state, &box) < 0 || (!bare && box_install_state(box.repo, &inst) < 0) ||
	    count_paths(&inputs, &box, &box.policy.inputs) < 0 ||
	    count_paths(&outputs, &box, &box.policy.outputs) < 0 || load_event_status(&es, &box) < 0 ||
	    tsa_pending(&pending, &pending_nr, &box) < 0 || load_identity(&identity, &box) < 0 ||
	    (!bare && (find_changed(&trouble, &box) < 0 ||
		       box_walk_inputs(&box, check_mode, &trouble) < 0))) {
		error_last(NULL);
		goto out;
	}
	state = seal_lack_state(state, &es.lack);
	git_oid_tostr(id, sizeof(id), &box.id);
	if (pending_nr) {
		char pending_id[13];

		git_oid_tostr(pending_id, sizeof(pending_id), &pending[0].commit);
		pending_step = xstrfmt("run 'git box timestamp %s' to timestamp the %s event",
				       pending_id, pending[0].event);
	}

	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}",
				      "name", box.policy.name, "id", id, "branch", box.policy.branch,
				      "state", box_state_name(state),
				      "inputs", counts_json(inputs, box.policy.inputs.nr),
				      "outputs", counts_json(outputs, box.policy.outputs.nr));
		json_object_set_new(o, "waiting_for", seal_lack_json(&es.lack));
		json_object_set_new(o, "identity", identity_json(&identity));
		json_object_set_new(o, "timestamps_pending", pending_json(pending, pending_nr));
		json_object_set_new(o, "events", event_status_json(&es, &box));
		if (!bare) {
			json_object_set_new(o, "installed", json_pack("{s:b, s:o, s:o, s:o, s:b, s:o}",
				"hooks", !inst.hooks_missing.nr && !inst.hooks_foreign.nr && !inst.hooks_outdated.nr,
				"hooks_missing", strlist_json(&inst.hooks_missing),
				"hooks_foreign", strlist_json(&inst.hooks_foreign),
				"hooks_outdated", strlist_json(&inst.hooks_outdated),
				"filter", inst.filter,
				"remotes_missing_refspecs", strlist_json(&inst.remotes_missing)));
			json_object_set_new(o, "inputs_changed",
					    pairs_json(&trouble.changed, &trouble.changes, "change"));
			json_object_set_new(o, "inputs_loosened",
					    pairs_json(&trouble.loosened, &trouble.modes, "mode"));
			json_object_set_new(o, "next", json_string(status_next(state, &inst, &trouble, &es, &box,
									       pending_step)));
		}
		ret = print_json(o);
		json_decref(o);
	} else {
		printf_ln("box       %s", box.policy.name);
		printf_ln("id        %s", id);
		printf_ln("branch    %s", box.policy.branch);
		print_state(state, &es);
		print_counts("inputs", inputs, box.policy.inputs.nr);
		print_counts("outputs", outputs, box.policy.outputs.nr);
		print_event_status(&es, &box);
		print_pending(pending, pending_nr);
		if (!bare) {
			print_pairs("changed", &trouble.changed, &trouble.changes);
			print_pairs("loosened", &trouble.loosened, &trouble.modes);
			if (!inst.hooks_missing.nr && !inst.hooks_foreign.nr && !inst.hooks_outdated.nr)
				printf_ln("hooks     installed in %s", inst.hooks_dir);
			if (inst.hooks_missing.nr)
				print_list("hooks     missing:", &inst.hooks_missing);
			if (inst.hooks_outdated.nr)
				print_list("hooks     outdated:", &inst.hooks_outdated);
			if (inst.hooks_foreign.nr)
				print_list("hooks     not git box's:", &inst.hooks_foreign);
			printf_ln("filter    %s", inst.filter ? "installed (required)" : "not installed");
			if (inst.remotes_missing.nr)
				print_list("remotes   without the box refspecs:", &inst.remotes_missing);
			putchar('\n');
			printf_ln("next: %s", status_next(state, &inst, &trouble, &es, &box, pending_step));
		}
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
	if (identity_changed(&identity, &box)) {
		report_identity(&identity, &box, id);
		if (ret == BOX_OK)
			ret = BOX_FAILED;
	}
out:
	identity_release(&identity);
	free(pending_step);
	tsa_events_free(pending, pending_nr);
	event_status_release(&es);
	free(inputs);
	free(outputs);
	input_trouble_release(&trouble);
	install_state_release(&inst);
	box_release(&box);
	return ret;
}

/*
 * git box seal: the final event. Makes a seal commit on the box branch
 * (same tree as the tip, trailer "Box-Event: seal"), writes its signed
 * manifest as a note, and only then moves the branch onto it: a run that
 * stops anywhere leaves the box as it was, or sealed, and a run after an
 * interruption between the two updates completes the seal.
 */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box seal [-m <message>] [--role <role>] [--reason <reason>] [--json]",
	NULL,
};

static const struct command_usage usage = { "seal", synopsis };

struct seal_options {
	const char *message;
	const char *role, *reason;
	int json;
};

/* Tracked files that differ from HEAD, when HEAD is the box branch: the seal would leave them out. */
static int check_clean(const struct box *b)
{
	git_status_options opts;
	git_status_list *list = NULL;
	git_reference *head = NULL;
	const char *path = NULL;
	size_t n;
	int ret = -1;

	if (git_repository_is_bare(b->repo))
		return 0;
	if (git_reference_lookup(&head, b->repo, "HEAD") < 0 || git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
	    strcmp(git_reference_symbolic_target(head), b->branch_ref)) {
		git_reference_free(head);
		git_error_clear();
		return 0;   /* the work tree is another branch's: the box branch is sealed as it is */
	}
	git_reference_free(head);
	git_status_options_init(&opts, GIT_STATUS_OPTIONS_VERSION);
	opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
	opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (git_status_list_new(&list, b->repo, &opts) < 0) {
		box_error_from_git("cannot compare the work tree with the box branch");
		return -1;
	}
	n = git_status_list_entrycount(list);
	if (n) {
		const git_status_entry *e = git_status_byindex(list, 0);
		const git_diff_delta *d = e->head_to_index ? e->head_to_index : e->index_to_workdir;

		path = d ? (d->new_file.path ? d->new_file.path : d->old_file.path) : "?";
		if (n == 1)
			box_error_set("'%s' has uncommitted changes; the seal would leave them out", path);
		else
			box_error_set("'%s' and %zu more have uncommitted changes; the seal would leave "
				      "them out", path, n - 1);
		ret = BOX_EREFUSED;
		goto out;
	}
	ret = 0;
out:
	git_status_list_free(list);
	return ret;
}

static int make_seal_commit(git_oid *out, const struct box *b, const char *text)
{
	git_commit *parent = NULL;
	git_tree *tree = NULL;
	git_signature *author = NULL, *committer = NULL;
	struct buf message = BUF_INIT;
	int ret = -1;

	if (text) {
		size_t len = strlen(text);

		while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t'))
			len--;
		buf_add(&message, text, len);
	} else {
		buf_addf(&message, "Seal git box '%s'", b->policy.name);
	}
	buf_addf(&message, "\n\n%s: seal\n", BOX_EVENT_TRAILER);
	if (git_commit_lookup(&parent, b->repo, &b->tip) < 0 || git_commit_tree(&tree, parent) < 0) {
		box_error_from_git("cannot read the box branch");
		goto out;
	}
	if (repo_signature(&author, b->repo, 0) < 0 || repo_signature(&committer, b->repo, 1) < 0)
		goto out;
	/* No ref moves here: the branch moves only once the manifest is written. */
	if (git_commit_create(out, b->repo, NULL, author, committer, NULL, message.ptr, tree, 1,
			      (const git_commit **)&parent) < 0) {
		box_error_from_git("cannot make the seal commit");
		goto out;
	}
	ret = 0;
out:
	buf_release(&message);
	git_signature_free(author);
	git_signature_free(committer);
	git_tree_free(tree);
	git_commit_free(parent);
	return ret;
}

/* Move the box branch from its tip onto the seal, or find out who did what meanwhile. */
static int move_branch(const struct box *b, const git_oid *seal)
{
	git_reference *ref = NULL;
	int err = git_reference_create_matching(&ref, b->repo, b->branch_ref, seal, 1, &b->tip, "box: seal");

	git_reference_free(ref);
	if (!err)
		return 0;
	if (err == GIT_ELOCKED) {
		box_error_set("the box branch '%s' is locked by another git process", b->policy.branch);
		return BOX_ECONFLICT;
	}
	if (err == GIT_EMODIFIED || err == GIT_ENOTFOUND) {
		box_error_set("the box branch '%s' moved while sealing", b->policy.branch);
		return BOX_ECONFLICT;
	}
	box_error_from_git("cannot move the box branch '%s'", b->policy.branch);
	return -1;
}

/* Someone else's seal won: say where, once it is there. */
static int report_other_seal(const struct box *b)
{
	struct box_events ev = BOX_EVENTS_INIT;
	git_oid pending, tip;
	git_commit *c = NULL;
	char *event = NULL;
	int found = 0;

	if (!git_reference_name_to_id(&tip, b->repo, b->branch_ref) && !git_commit_lookup(&c, b->repo, &tip) &&
	    (event = commit_event(c)) && !strcmp(event, "seal")) {
		error("already sealed at %s", git_oid_tostr_s(&tip));
		found = 1;
	} else if (!box_events_load(&ev, b, &b->tip, 0) && box_pending_seal(&pending, b, &ev) == 1) {
		error("already sealed at %s (another seal is finishing)", git_oid_tostr_s(&pending));
		found = 1;
	}
	git_error_clear();
	free(event);
	git_commit_free(c);
	box_events_release(&ev);
	return found;
}

/*
 * Seal the box: build, sign and write the manifest of a new seal commit,
 * then move the branch. On return `r` holds the payload and the commit,
 * for what is done with a sealed manifest next.
 */
static int seal(struct event_result *r, const struct box *b, const struct box_events *ev,
		const struct seal_options *o)
{
	struct event_signer signer = EVENT_SIGNER_INIT;
	struct event_request req;
	struct progress *progress = NULL;
	git_oid commit;
	int ret;

	/* Who signs, before anything is made or hashed. */
	if ((ret = event_request_init(&req, &signer, b, "seal", o->message, o->role, o->reason)) < 0 ||
	    (ret = make_seal_commit(&commit, b, o->message)) < 0)
		goto out;

	progress = progress_start("Hashing files", 0);
	req.hash.progress = progress_callback;
	req.hash.progress_data = progress;
	ret = event_prepare(r, b, ev, &commit, &req);
	progress_stop(progress, r->stats.hashed, r->stats.bytes_hashed);
	if (ret < 0)
		goto out;

	/* The note first: once it is written, the seal is decided. */
	if ((ret = event_write(r, b, ev)) < 0)
		goto out;
	/* The branch last. If it moved meanwhile, take the note back: nothing was sealed. */
	if ((ret = move_branch(b, &commit)) < 0) {
		char *why = xstrdup(box_error_last());

		box_note_take_back(b->repo, &r->notes_tip, ev->have_notes ? &ev->notes_tip : NULL, &commit,
				   "box: take back an unfinished seal");
		box_error_set("%s", why);
		free(why);
		goto out;
	}
	ret = 0;
out:
	event_result_set_signer(r, &req, &signer);
	event_signer_close(&signer);
	return ret;
}

/* A seal whose note is written but whose branch did not move: move it now. */
static int complete_seal(const struct box *b, const git_oid *pending, int json)
{
	int ret = move_branch(b, pending);

	if (ret < 0) {
		char *why = xstrdup(box_error_last());

		if (!report_other_seal(b))
			error("%s", why);
		free(why);
		return box_exit_code(ret);
	}
	if (json) {
		json_t *j = json_pack("{s:s, s:s, s:b}", "event", "seal", "commit", git_oid_tostr_s(pending),
				      "completed", 1);

		print_json(j);
		json_decref(j);
	} else {
		printf_ln("Completed the seal of git box '%s' at %s", b->policy.name, git_oid_tostr_s(pending));
		printf_ln("(an earlier 'git box seal' wrote its manifest but stopped before moving the branch)");
	}
	return finish_stdout() ? BOX_ERROR : BOX_OK;
}

static json_t *quorum_json(const struct policy *p, const char *signed_by, const struct strlist *missing)
{
	json_t *m = json_array();

	for (size_t i = 0; i < missing->nr; i++)
		json_array_append_new(m, json_string(missing->items[i]));
	return json_pack("{s:i, s:i, s:o}", "required", p->quorum,
			 "signed", signed_by && sign_key_allowed(&p->signers, signed_by) ? 1 : 0, "missing", m);
}

static void report(const struct box *b, const struct event_result *r, const struct event_stamp *stamp,
		   int json)
{
	struct strlist missing = STRLIST_INIT;
	const char *signed_by = r->signature.len ? r->signer.fpr : NULL;
	int have = signed_by && sign_key_allowed(&b->policy.signers, signed_by);
	/* COMPLETED when the seal has all the policy wants of it now (git-box(1), LIFECYCLE) */
	int complete = have >= b->policy.quorum && (!stamp->wanted || stamp->result == TSA_OK);

	for (size_t i = 0; i < b->policy.signers.nr; i++)
		if (!signed_by || strcmp(b->policy.signers.items[i], signed_by))
			strlist_add(&missing, b->policy.signers.items[i]);
	if (json) {
		json_t *j = event_result_json(r);

		json_object_set_new(j, "state", json_string(box_state_name(complete ? BOX_COMPLETED : BOX_SEALED)));
		json_object_set_new(j, "quorum", quorum_json(&b->policy, signed_by, &missing));
		if (stamp->wanted)
			json_object_set_new(j, "timestamp", event_stamp_json(stamp, "seal", &r->commit));
		print_json(j);
		json_decref(j);
	} else {
		struct buf text = BUF_INIT;

		printf_ln("Sealed git box '%s'", b->policy.name);
		event_result_describe(&text, r);
		print_lines(stdout, text.ptr, text.len);
		fflush(stdout);
		event_stamp_print(stamp, "seal", &r->commit);
		if (b->policy.quorum) {
			buf_reset(&text);
			buf_addf(&text, "%d of %d signature%s", have, b->policy.quorum,
				 b->policy.quorum == 1 ? "" : "s");
			if (have < b->policy.quorum) {
				buf_adds(&text, "; may still sign:");
				for (size_t i = 0; i < missing.nr; i++)
					buf_addf(&text, " %s", missing.items[i]);
			}
			printf_ln("  quorum    %s", text.ptr);
		}
		printf_ln("next: %s", have < b->policy.quorum
			  ? "the other signers run 'git box sign' in their clones and push refs/notes/box"
			  : "the box is sealed: nothing more may be committed on its branch");
		buf_release(&text);
	}
	strlist_release(&missing);
}

int cmd_seal(int argc, char **argv)
{
	static const struct option options[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "role", required_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct seal_options o = { NULL, NULL, NULL, 0 };
	struct event_result r = EVENT_RESULT_INIT;
	struct event_stamp stamp = EVENT_STAMP_INIT;
	struct box_events ev = BOX_EVENTS_INIT;
	struct box box = BOX_INIT;
	enum box_state state;
	git_oid pending;
	int c, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "hm:", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return ret;
		case 'm': o.message = optarg; break;
		case 'r': o.role = optarg; break;
		case 'R': o.reason = optarg; break;
		case 'j': o.json = 1; break;
		}
	}
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);
	if ((o.role || o.reason) && sign_meaning_valid(o.role ? o.role : EVENT_DEFAULT_ROLE,
							o.reason ? o.reason : event_default_reason("seal")) < 0)
		return usage_error(&usage, "%s", box_error_last());

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if (box_state(&state, &box) < 0) {
		error_last(NULL);
		goto out;
	}
	if (box_state_sealed(state)) {
		error("already sealed at %s", git_oid_tostr_s(&box.tip));
		ret = BOX_FAILED;
		hint("a sealed box cannot be reopened; 'git box sign' adds signatures to the seal");
		goto out;
	}
	if ((o.role || o.reason) && !event_signed_by_policy(&box.policy, "seal")) {
		error("the policy does not sign the seal (signing.when: none), so --role and --reason "
		      "have nothing to mark");
		hint("add a signature to the seal afterwards with 'git box sign'");
		goto out;
	}
	if ((ret = box_events_load(&ev, &box, NULL, 0)) < 0) {
		ret = error_last(NULL);
		goto out;
	}
	if (box_events_check(&ev, &box, NULL)) {
		ret = ev.nr ? BOX_FAILED : BOX_ERROR;
		error("the event chain is broken: %s", box_error_last());
		hint("nothing was written; 'git box log' shows the chain");
		goto out;
	}
	if (box_pending_seal(&pending, &box, &ev) == 1) {
		ret = complete_seal(&box, &pending, o.json);
		goto out;
	}
	if ((ret = check_clean(&box)) < 0) {
		ret = box_exit_code(ret);
		error_last(NULL);
		hint("commit them (or stash them) and seal again");
		goto out;
	}

	ret = seal(&r, &box, &ev, &o);
	if (ret < 0) {
		int code = box_exit_code(ret);
		char *why = xstrdup(box_error_last());

		if (ret != BOX_ECONFLICT || !report_other_seal(&box)) {
			error("%s", why);
			hint(ret == BOX_ECONFLICT ? "nothing was sealed; run 'git box seal' again"
			     : "nothing was sealed");
		}
		free(why);
		ret = code;
		goto out;
	}
	event_stamp_run(&stamp, &box, &r.commit, "seal", &r.payload, 0);
	report(&box, &r, &stamp, o.json);
	ret = finish_stdout() ? BOX_ERROR : event_stamp_exit_code(&stamp);
out:
	event_stamp_release(&stamp);
	event_result_release(&r);
	box_events_release(&ev);
	box_release(&box);
	return ret;
}

/*
 * git box import: copy more sources into an input while the box is
 * CREATED, in a commit of its own (trailer "Box-Event: import"), and
 * record its manifest. Once the work has started the inputs are frozen
 * and import refuses. Every check comes before the first change, and a
 * failure before the commit takes every copied file back.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "events.h"
#include "import.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box import <src>... [--to <path>] [--json]",
	NULL,
};

static const struct command_usage usage = { "import", synopsis };

/* The input folder to copy into: --to, which must lie in an input, or the first input folder. */
static char *destination(const struct policy *p, const char *to)
{
	char *path;

	if (!to) {
		for (size_t i = 0; i < p->inputs.nr; i++)
			if (ends_with(p->inputs.items[i], "/"))
				return xstrdup(p->inputs.items[i]);
		box_error_set("the policy has no input folder to import into; name one with --to");
		return NULL;
	}
	path = policy_normalise_path(to, 1);
	if (!path)
		return NULL;
	if (!policy_is_input(p, path)) {
		box_error_set("'%s' is not inside an input folder of the policy (%s%s)", path,
			      p->inputs.items[0], p->inputs.nr > 1 ? ", ..." : "");
		free(path);
		return NULL;
	}
	return path;
}

/* The box must be CREATED, with HEAD on its branch and a work tree to copy into. */
static int check_box(const struct box *b)
{
	git_reference *head = NULL;
	enum box_state state;
	int on_branch;

	if (git_repository_is_bare(b->repo)) {
		box_error_set("a bare repository has no work tree to import into");
		return -1;
	}
	on_branch = !git_reference_lookup(&head, b->repo, "HEAD") &&
		    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
		    !strcmp(git_reference_symbolic_target(head), b->branch_ref);
	git_reference_free(head);
	git_error_clear();
	if (!on_branch) {
		box_error_set("HEAD is not on the box branch '%s'; switch to it first (git switch %s)",
			      b->policy.branch, b->policy.branch);
		return -1;
	}
	if (box_state(&state, b) < 0)
		return -1;
	if (box_state_sealed(state)) {
		box_error_set("the box is sealed; its inputs can never change");
		return BOX_EREFUSED;
	}
	if (state == BOX_IN_PROGRESS) {
		git_oid freeze;

		if (box_freeze_commit(&freeze, b) < 0)
			return -1;
		box_error_set("the work has started (the box is IN_PROGRESS): the inputs were frozen "
			      "at %.12s and no import may add to them", git_oid_tostr_s(&freeze));
		return BOX_EREFUSED;
	}
	return 0;
}

/* Sources as named in the commit message: their base names. */
static void describe_sources(struct buf *out, const struct strlist *from)
{
	for (size_t i = 0; i < from->nr; i++) {
		char *copy = xstrdup(from->items[i]);
		size_t len = strlen(copy);

		while (len > 1 && copy[len - 1] == '/')
			copy[--len] = '\0';
		buf_addf(out, "%s'%s'", i ? (i + 1 == from->nr ? " and " : ", ") : "", basename(copy));
		free(copy);
	}
}

static int commit_import(git_oid *out, const struct box *b, const struct strlist *from,
			 const struct strlist *copied, const char *dest)
{
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	struct buf message = BUF_INIT;
	git_oid tree_id;
	int ret = -1;

	if (git_repository_index(&index, b->repo) < 0) {
		box_error_from_git("cannot read the index");
		goto out;
	}
	for (size_t i = 0; i < copied->nr; i++) {
		if (git_index_add_bypath(index, copied->items[i]) < 0) {
			box_error_from_git("cannot stage '%s'", copied->items[i]);
			goto out;
		}
	}
	if (git_index_write_tree(&tree_id, index) < 0 || git_tree_lookup(&tree, b->repo, &tree_id) < 0) {
		box_error_from_git("cannot write the tree");
		goto out;
	}
	if (git_commit_lookup(&parent, b->repo, &b->tip) < 0) {
		box_error_from_git("cannot read the box branch");
		goto out;
	}
	if (repo_signature(&author, b->repo, 0) < 0 || repo_signature(&committer, b->repo, 1) < 0)
		goto out;
	buf_adds(&message, "Import ");
	describe_sources(&message, from);
	buf_addf(&message, " into %s\n\n%s: import\n", dest, BOX_EVENT_TRAILER);
	/* One ref update, refused if the box branch moved under us. */
	if (git_commit_create(out, b->repo, b->branch_ref, author, committer, NULL, message.ptr, tree, 1,
			      (const git_commit **)&parent) < 0) {
		box_error_from_git("cannot commit the import");
		goto out;
	}
	ret = 0;
	if (git_index_write(index) < 0) {
		warning("the import is committed, but the index could not be written: %s",
			git_error_last() ? git_error_last()->message : "");
		hint("run 'git reset' to refresh it");
	}
out:
	buf_release(&message);
	git_signature_free(author);
	git_signature_free(committer);
	git_commit_free(parent);
	git_tree_free(tree);
	git_index_free(index);
	return ret;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void report(const struct box *b, const git_oid *commit, const char *dest,
		   struct strlist *copied, const struct event_result *r, const struct event_stamp *stamp,
		   int json)
{
	size_t files = copied->nr;
	uint64_t bytes = 0;

	if (copied->nr > 1)
		qsort(copied->items, copied->nr, sizeof(*copied->items), compare_strings);
	for (size_t i = 0; i < r->manifest.inputs.nr; i++) {
		const char *path = r->manifest.inputs.items[i].path;

		if (copied->nr && bsearch(&path, copied->items, copied->nr, sizeof(*copied->items), compare_strings))
			bytes += r->manifest.inputs.items[i].size;
	}
	if (json) {
		json_t *j = json_pack("{s:s, s:o, s:I, s:I, s:s, s:o}", "commit", git_oid_tostr_s(commit),
				      "to", json_text(dest), "files", (json_int_t)files, "bytes", (json_int_t)bytes,
				      "state", "CREATED", "manifest", event_result_json(r));

		if (stamp->wanted)
			json_object_set_new(j, "timestamp", event_stamp_json(stamp, "import", commit));

		print_json(j);
		json_decref(j);
		return;
	}
	printf_ln("Imported %zu file%s (%llu bytes) into %s of git box '%s'", files, files == 1 ? "" : "s",
		  (unsigned long long)bytes, dest, b->policy.name);
	{
		struct buf text = BUF_INIT;

		event_result_describe(&text, r);
		print_lines(stdout, text.ptr, text.len);
		buf_release(&text);
	}
	fflush(stdout);
	event_stamp_print(stamp, "import", commit);
	printf_ln("next: import more, or add your code and commit: the first commit starts the work "
		  "and freezes the inputs");
}

int cmd_import(int argc, char **argv)
{
	static const struct option options[] = {
		{ "to", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct strlist from = STRLIST_INIT, copied = STRLIST_INIT;
	struct import_undo undo = IMPORT_UNDO_INIT;
	struct event_record_options record = { NULL, NULL, NULL, HASH_OPTIONS_INIT };
	struct event_result r = EVENT_RESULT_INIT;
	struct event_stamp stamp = EVENT_STAMP_INIT;
	struct event_signer signer = EVENT_SIGNER_INIT;
	struct progress *progress = NULL;
	struct box box = BOX_INIT;
	git_repository *repo = NULL;
	int reopened_not_a_box;
	const char *to = NULL;
	char *dest = NULL, *dest_abs = NULL, *top = NULL;
	git_oid commit;
	size_t tightened;
	int c, json = 0, ret = BOX_ERROR, err;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			goto out;
		case 't': to = optarg; break;
		case 'j': json = 1; break;
		}
	}
	while (optind < argc)
		strlist_add(&from, argv[optind++]);
	if (!from.nr) {
		ret = usage_error(&usage, "name at least one file or folder to import");
		goto out;
	}

	if (open_box(&box, "make one with 'git box init --from <src>'") != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if ((err = check_box(&box)) < 0) {
		ret = box_exit_code(err);
		error_last(NULL);
		if (err == BOX_EREFUSED)
			hint("nothing was imported; a new analysis over more data needs a new box");
		goto out;
	}
	/* Its manifest could not be recorded: refuse before anything is copied. */
	if (policy_check_capture(&box.policy) < 0) {
		error_last(NULL);
		hint("nothing was imported");
		goto out;
	}
	dest = destination(&box.policy, to);
	top = xstrdup(git_repository_workdir(box.repo));
	top[strlen(top) - 1] = '\0';
	if (!dest || import_check_index_clean(box.repo) < 0) {
		error_last(NULL);
		goto out;
	}
	dest_abs = xstrfmt("%s/%s", top, dest);
	if (import_check_sources(&from, top, dest_abs) < 0) {
		error_last(NULL);
		goto out;
	}
	/* A policy that signs imports needs a usable key: find out before anything changes. */
	if (event_signed_by_policy(&box.policy, "import") && (err = event_signer_open(&signer, &box)) < 0) {
		ret = box_exit_code(err);
		error("cannot sign the import manifest: %s", box_error_last());
		goto out;
	}
	event_signer_close(&signer);

	progress = progress_start("Copying inputs", 0);
	err = import_copy_sources(&undo, &from, git_repository_workdir(box.repo), dest_abs, &copied,
				  progress_callback, progress);
	progress_finish(progress);
	if (err < 0 || commit_import(&commit, &box, &from, &copied, dest) < 0) {
		error_last(NULL);
		import_undo(&undo);
		hint("nothing was imported; fix the cause above and run 'git box import' again");
		goto out;
	}

	/* The box branch moved: read the box again, then protect and record what came in. */
	box_release(&box);
	repo = NULL;
	if (repo_open_from_env(&repo) < 0 || box_open(&box, repo, &reopened_not_a_box) < 0) {
		error_last("the import is committed but the box cannot be read back");
		goto out;
	}
	if (box_make_inputs_readonly(&box, &tightened) < 0) {
		warning("%s", box_error_last());
		hint("run 'git box install' to make the inputs read-only");
	}
	if ((err = event_record(&r, &box, &commit, &record)) < 0) {
		ret = box_exit_code(err);
		error("the import is committed as %s, but its manifest was not written: %s",
		      git_oid_tostr_s(&commit), box_error_last());
		hint("write it with 'git box checkpoint %s'", git_oid_tostr_s(&commit));
		goto out;
	}
	event_stamp_run(&stamp, &box, &commit, "import", &r.payload, 0);
	report(&box, &commit, dest, &copied, &r, &stamp, json);
	ret = finish_stdout() ? BOX_ERROR : event_stamp_exit_code(&stamp);
out:
	event_stamp_release(&stamp);
	event_result_release(&r);
	event_signer_close(&signer);
	import_undo_release(&undo);
	strlist_release(&copied);
	strlist_release(&from);
	free(dest);
	free(dest_abs);
	free(top);
	box_release(&box);
	return ret;
}

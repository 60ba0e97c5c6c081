/*
 * git box status: which box this is, where it stands, and what to do next.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "install.h"
#include "output.h"
#include "repo.h"
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
	case BOX_COMPLETED:
		return "the box is sealed: nothing more may be committed on its branch";
	}
	return "";
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
		json_array_append_new(a, json_pack("{s:s, s:s}", "path", paths->items[i],
						   key, values->items[i]));
	return a;
}

static void print_pairs(const char *label, const struct strlist *paths,
			const struct strlist *values)
{
	struct buf q = BUF_INIT;

	for (size_t i = 0; i < paths->nr; i++)
		printf("%-9s %s (%s)\n", i ? "" : label, quote_for_message(&q, paths->items[i]),
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
		json_array_append_new(a, json_string(l->items[i]));
	return a;
}

static void print_counts(const char *label, const struct path_count *counts, size_t nr)
{
	if (!nr)
		printf("%-9s (none)\n", label);
	for (size_t i = 0; i < nr; i++)
		printf("%-9s %s (%zu file%s, %" PRIu64 " bytes)\n", i ? "" : label, counts[i].path,
		       counts[i].files, counts[i].files == 1 ? "" : "s", counts[i].bytes);
}

static void print_list(const char *label, const struct strlist *l)
{
	printf("%s", label);
	for (size_t i = 0; i < l->nr; i++)
		printf("%s%s", i ? ", " : " ", l->items[i]);
	printf("\n");
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
	struct input_trouble trouble = INPUT_TROUBLE_INIT;
	git_repository *repo = NULL;
	enum box_state state;
	char id[GIT_OID_HEXSZ + 1];
	int c, json = 0, not_a_box, bare, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
		if (c == 'j')
			json = 1;
	}
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (repo_open_from_env(&repo) < 0)
		return error_last(NULL);
	if (box_open(&box, repo, &not_a_box) < 0) {
		error_last(NULL);
		if (not_a_box)
			hint("make one with 'git box init'");
		goto out;
	}
	bare = git_repository_is_bare(box.repo);
	if (box_state(&state, &box) < 0 || (!bare && box_install_state(box.repo, &inst) < 0) ||
	    count_paths(&inputs, &box, &box.policy.inputs) < 0 ||
	    count_paths(&outputs, &box, &box.policy.outputs) < 0 ||
	    (!bare && (find_changed(&trouble, &box) < 0 ||
		       box_walk_inputs(&box, check_mode, &trouble) < 0))) {
		error_last(NULL);
		goto out;
	}
	git_oid_tostr(id, sizeof(id), &box.id);

	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}",
				      "name", box.policy.name, "id", id, "branch", box.policy.branch,
				      "state", box_state_name(state),
				      "inputs", counts_json(inputs, box.policy.inputs.nr),
				      "outputs", counts_json(outputs, box.policy.outputs.nr));
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
			json_object_set_new(o, "next", json_string(next_step(state, &inst, &trouble)));
		}
		ret = print_json(o);
		json_decref(o);
	} else {
		printf("box       %s\n", box.policy.name);
		printf("id        %s\n", id);
		printf("branch    %s\n", box.policy.branch);
		printf("state     %s\n", box_state_name(state));
		print_counts("inputs", inputs, box.policy.inputs.nr);
		print_counts("outputs", outputs, box.policy.outputs.nr);
		if (!bare) {
			print_pairs("changed", &trouble.changed, &trouble.changes);
			print_pairs("loosened", &trouble.loosened, &trouble.modes);
			if (!inst.hooks_missing.nr && !inst.hooks_foreign.nr && !inst.hooks_outdated.nr)
				printf("hooks     installed in %s\n", inst.hooks_dir);
			if (inst.hooks_missing.nr)
				print_list("hooks     missing:", &inst.hooks_missing);
			if (inst.hooks_outdated.nr)
				print_list("hooks     outdated:", &inst.hooks_outdated);
			if (inst.hooks_foreign.nr)
				print_list("hooks     not git box's:", &inst.hooks_foreign);
			printf("filter    %s\n", inst.filter ? "installed (required)" : "not installed");
			if (inst.remotes_missing.nr)
				print_list("remotes   without the box refspecs:", &inst.remotes_missing);
			printf("\nnext: %s\n", next_step(state, &inst, &trouble));
		}
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
out:
	free(inputs);
	free(outputs);
	input_trouble_release(&trouble);
	install_state_release(&inst);
	if (box.repo)
		box_release(&box);
	else
		git_repository_free(repo);
	return ret;
}

/*
 * git box install: make this clone enforce the box (hooks, filter,
 * refspecs, read-only inputs). What an auditor or a second analyst runs
 * after `git clone`.
 */
#include "commands.h"
#include "install.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box install [--json]",
	NULL,
};

static const struct command_usage usage = { "install", synopsis };

static json_t *strlist_json(const struct strlist *l)
{
	json_t *a = json_array();

	for (size_t i = 0; i < l->nr; i++)
		json_array_append_new(a, json_text(l->items[i]));
	return a;
}

int cmd_install(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct install_report report = INSTALL_REPORT_INIT;
	struct strlist conflicts = STRLIST_INIT;
	size_t tightened = 0;
	git_oid recorded;
	char id[GIT_OID_HEXSZ + 1];
	int c, json = 0, has_id, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
		if (c == 'j')
			json = 1;
	}
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (open_box(&box, "'git box install' sets up a clone of a box; 'git box init' makes one") != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	git_oid_tostr(id, sizeof(id), &box.id);
	if ((has_id = box_recorded_id(&recorded, box.repo)) < 0) {
		error_last(NULL);
		goto out;
	}
	if (has_id && !git_oid_equal(&recorded, &box.id)) {
		error("this clone's box is %s (%s), but its branch '%s' now holds box %s",
		      git_oid_tostr_s(&recorded), BOX_ID_CONFIG, box.policy.branch, id);
		hint("the box branch was re-rooted or replaced; if the new box is the one to follow, "
		     "run 'git config %s %s' and install again", BOX_ID_CONFIG, id);
		ret = BOX_FAILED;
		goto out;
	}
	/* Hooks would record events by this policy on every commit: set up nothing. */
	if (policy_check_capture(&box.policy) < 0) {
		error("%s", box_error_last());
		hint("no event can be recorded in this box, and nothing was installed; "
		     "'git box verify' judges it");
		goto out;
	}
	if (box_install(box.repo, &report, &conflicts) < 0) {
		error_last(NULL);
		for (size_t i = 0; i < conflicts.nr; i++)
			error("%s", conflicts.items[i]);
		if (conflicts.nr)
			hint("move the hook aside, or call git box from it: "
			     "git box hook <name> \"$@\" || exit $?");
		goto out;
	}
	if (box_make_inputs_readonly(&box, &tightened) < 0) {
		error_last("cannot protect the inputs");
		goto out;
	}
	/* which box this clone is, so that status notices another one */
	if (!has_id && box_record_id(box.repo, &box.id) < 0) {
		error_last(NULL);
		goto out;
	}

	if (json) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:I}", "box", id,
				      "hooks_written", strlist_json(&report.hooks_written),
				      "config_added", strlist_json(&report.config_added),
				      "made_readonly", (json_int_t)tightened);
		ret = print_json(o);
		json_decref(o);
	} else {
		printf_ln("git box installed for '%s'", box.policy.name);
		for (size_t i = 0; i < report.hooks_written.nr; i++)
			printf_ln("  hook    %s", report.hooks_written.items[i]);
		for (size_t i = 0; i < report.config_added.nr; i++)
			printf_ln("  config  %s", report.config_added.items[i]);
		if (!has_id)
			printf_ln("  config  %s %s", BOX_ID_CONFIG, id);
		if (!report.hooks_written.nr && !report.config_added.nr && has_id)
			printf_ln("  (everything was already in place)");
		if (tightened)
			printf_ln("  made %zu input path%s read-only", tightened, tightened == 1 ? "" : "s");
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
out:
	strlist_release(&conflicts);
	install_report_release(&report);
	box_release(&box);
	return ret;
}

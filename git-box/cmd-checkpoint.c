/*
 * git box checkpoint: record where the work stands. Writes the manifest
 * of a commit on the box branch (the tip by default) as a note, chained
 * to the events before it and signed when the policy signs checkpoints.
 * The box stays open.
 */
#include <string.h>

#include "commands.h"
#include "events.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box checkpoint [-m <message>] [--role <role>] [--reason <reason>] [--json] [<rev>]",
	NULL,
};

static const struct command_usage usage = { "checkpoint", synopsis };

int cmd_checkpoint(int argc, char **argv)
{
	static const struct option options[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "role", required_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct event_record_options o = { NULL, NULL, NULL, HASH_OPTIONS_INIT };
	struct event_result r = EVENT_RESULT_INIT;
	struct event_stamp stamp = EVENT_STAMP_INIT;
	struct box box = BOX_INIT;
	struct progress *progress = NULL;
	const char *rev = NULL;
	git_oid commit;
	int c, json = 0, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "hm:", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return ret;
		case 'm': o.message = optarg; break;
		case 'r': o.role = optarg; break;
		case 'R': o.reason = optarg; break;
		case 'j': json = 1; break;
		}
	}
	if (optind < argc)
		rev = argv[optind++];
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);
	if ((o.role || o.reason) && sign_meaning_valid(o.role ? o.role : EVENT_DEFAULT_ROLE,
							o.reason ? o.reason : event_default_reason("checkpoint")) < 0)
		return usage_error(&usage, "%s", box_error_last());

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if ((o.role || o.reason) && box.policy.signing_when == SIGNING_NONE) {
		ret = error("the policy signs no checkpoint (signing.when: none), so --role and "
			    "--reason have nothing to mark");
		hint("add a signature to the checkpoint afterwards with 'git box sign'");
		goto out;
	}
	if (rev ? box_resolve_commit(&commit, box.repo, rev) < 0 : (git_oid_cpy(&commit, &box.tip), 0)) {
		error_last(NULL);
		goto out;
	}

	progress = progress_start("Hashing files", 0);
	o.hash.progress = progress_callback;
	o.hash.progress_data = progress;
	ret = event_record(&r, &box, &commit, &o);
	progress_stop(progress, r.stats.hashed, r.stats.bytes_hashed);
	if (ret < 0) {
		int code = box_exit_code(ret);

		error_last(NULL);
		if (ret == BOX_ECONFLICT)
			hint("another git box command wrote a note meanwhile; run 'git box checkpoint' again");
		ret = code;
		goto out;
	}

	event_stamp_run(&stamp, &box, &r.commit, "checkpoint", &r.payload, 0);
	if (json) {
		json_t *j = event_result_json(&r), *t = event_stamp_json(&stamp, "checkpoint", &r.commit);

		if (t)
			json_object_set_new(j, "timestamp", t);
		ret = print_json(j) ? BOX_ERROR : BOX_OK;
		json_decref(j);
	} else {
		struct buf text = BUF_INIT;

		event_result_describe(&text, &r);
		print_lines(stdout, text.ptr, text.len);
		buf_release(&text);
		fflush(stdout);
		event_stamp_print(&stamp, "checkpoint", &r.commit);
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
	if (ret == BOX_OK)
		ret = event_stamp_exit_code(&stamp);
out:
	event_stamp_release(&stamp);
	event_result_release(&r);
	box_release(&box);
	return ret;
}

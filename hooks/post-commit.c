/*
 * post-commit: under a policy that signs every commit
 * (signing.when: every-commit), record a signed checkpoint of the commit
 * just made on the box branch. git ignores this hook's exit code and the
 * commit is made already, so a failure is a warning saying how to sign
 * the commit later; it never stands in the way of the work.
 */
#include <string.h>

#include "commands.h"
#include "events.h"
#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static int on_box_branch(const struct box *b)
{
	git_reference *head = NULL;
	int on;

	on = !git_reference_lookup(&head, b->repo, "HEAD") &&
	     git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	     !strcmp(git_reference_symbolic_target(head), b->branch_ref);
	git_reference_free(head);
	git_error_clear();
	return on;
}

int hook_post_commit(int argc, char **argv)
{
	struct event_record_options o = { NULL, NULL, NULL, HASH_OPTIONS_INIT };
	struct event_result r = EVENT_RESULT_INIT;
	struct event_stamp stamp = EVENT_STAMP_INIT;
	struct box box = BOX_INIT;
	git_repository *repo = NULL;
	char id[GIT_OID_HEXSZ + 1];
	int not_a_box;

	(void)argc;
	(void)argv;
	if (hooks_open_repo(&repo) < 0)
		return BOX_OK;
	if (box_open(&box, repo, &not_a_box) < 0) {
		if (!not_a_box)
			warning("%s", box_error_last());
		box_release(&box);
		return BOX_OK;
	}
	if (box.policy.signing_when != SIGNING_EVERY_COMMIT || !on_box_branch(&box)) {
		box_release(&box);
		return BOX_OK;
	}
	git_oid_tostr(id, sizeof(id), &box.tip);
	if (event_record(&r, &box, &box.tip, &o) < 0) {
		warning("the commit %.12s is not signed: %s", id, box_error_last());
		hint("sign it later with 'git box checkpoint %.12s'; 'git box status' lists unsigned commits", id);
	} else {
		fprintf_ln(stderr, "git box: checkpoint %.12s signed by %s", id,
			   r.signer.uid ? r.signer.uid : r.signer.fpr);
		/* A TSA that does not answer must not hold up a commit for long. */
		event_stamp_run(&stamp, &box, &box.tip, "checkpoint", &r.payload, 10 * 1000);
		if (stamp.wanted && stamp.result == TSA_OK)
			fprintf_ln(stderr, "git box: checkpoint %.12s timestamped as '%s'", id, stamp.stamp.tag);
		else if (stamp.wanted)
			event_stamp_print(&stamp, "checkpoint", &box.tip);
	}
	event_stamp_release(&stamp);
	event_result_release(&r);
	box_release(&box);
	return BOX_OK;
}

/*
 * commit-msg: judge the message of a commit being made (git commit, and
 * git merge when it commits): the trailers the policy requires, and no
 * Box-Event trailer, which only git box writes on the commits it makes.
 */
#include <string.h>

#include "hooks.h"
#include "output.h"
#include "repo.h"
#include "rules.h"
#include "banned.h"

#define MESSAGE_MAX (16 * 1024 * 1024)

/* What `git commit -v` puts below this line is not part of the message. */
#define SCISSORS "# ------------------------ >8 ------------------------\n"

int hook_commit_msg(int argc, char **argv)
{
	struct box box = BOX_INIT;
	struct violations v = VIOLATIONS_INIT;
	struct buf message = BUF_INIT;
	git_repository *repo = NULL;
	char *event, *cut;
	int not_a_box, ret = BOX_ERROR;

	if (argc < 2)
		return error("commit-msg: which message file?");
	if (hooks_open_repo(&repo) < 0)
		return error_last(NULL);
	if (box_open(&box, repo, &not_a_box) < 0) {
		if (not_a_box) {
			ret = BOX_OK;
		} else {
			error_last("cannot read the box");
			hint("nothing was committed");
		}
		goto out;
	}
	if (buf_read_file(&message, argv[1], MESSAGE_MAX) < 0) {
		error_last(NULL);
		goto out;
	}
	if (!message.ptr)
		buf_adds(&message, "");
	cut = strstr(message.ptr, SCISSORS);
	if (cut && (cut == message.ptr || cut[-1] == '\n')) {
		message.len = (size_t)(cut - message.ptr);
		message.ptr[message.len] = '\0';
	}

	event = commit_trailer(message.ptr, BOX_EVENT_TRAILER);
	if (event)
		violations_add(&v, NULL, NULL, NULL, 0, RULE_EVENT_TRAILER,
			       "the message carries '%s: %s'", BOX_EVENT_TRAILER, event);
	free(event);
	rules_check_message(&v, &box.policy, message.ptr, NULL);
	ret = BOX_OK;
	if (v.nr) {
		hooks_report(&v, HOOKS_COMMIT, NULL);
		ret = BOX_FAILED;
	}
out:
	violations_release(&v);
	buf_release(&message);
	if (box.repo)
		box_release(&box);
	else
		git_repository_free(repo);
	return ret;
}

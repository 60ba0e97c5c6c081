#ifndef COMMANDS_H
#define COMMANDS_H

#include "repo.h"

/*
 * One function per subcommand, each in its own cmd-*.c (hooks and the
 * filter live in hooks/ and filters/). argv[0] is the command's name;
 * the return value is the exit code (util.h).
 */
int cmd_init(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_timestamp(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_uninstall(int argc, char **argv);
int cmd_hook(int argc, char **argv);

/*
 * Open the box of the repository git would use here (GIT_DIR and friends
 * honoured). On failure says why, with a hint (`not_a_box_hint`, or how
 * to make a box, when there is none), leaves `out` released and returns
 * BOX_ERROR.
 */
int open_box(struct box *out, const char *not_a_box_hint);
int cmd_filter_process(int argc, char **argv);


/*
 * Shared by the commands that write an event (init, import, checkpoint,
 * seal, and the post-commit hook): once the manifest note is written,
 * have it timestamped when the policy's timestamp.when wants it
 * (cmd-timestamp.c). A failure leaves the event written and signed, and
 * the timestamp pending.
 */
#include <jansson.h>
#include "tsa.h"

struct event_stamp {
	int wanted;              /* the policy wants this event stamped */
	int result;              /* TSA_OK, or why not (enum tsa_result) */
	char *error;             /* the first reason, when result is not TSA_OK */
	struct tsa_stamp stamp;
};

#define EVENT_STAMP_INIT { 0, TSA_OK, NULL, TSA_STAMP_INIT }

void event_stamp_run(struct event_stamp *out, const struct box *b, const git_oid *commit,
		     const char *event, const struct buf *payload, long timeout_ms);
/* Text: the stamp on stdout, or the errors and "timestamp pending" on stderr. */
void event_stamp_print(const struct event_stamp *s, const char *event, const git_oid *commit);
/* The "timestamp" member of a command's JSON report, or NULL when not wanted. */
json_t *event_stamp_json(const struct event_stamp *s, const char *event, const git_oid *commit);
/* The exit code the stamping adds: 0, 1 (an answer failed a check) or 2 (no answer). */
int event_stamp_exit_code(const struct event_stamp *s);
void event_stamp_release(struct event_stamp *s);

#endif

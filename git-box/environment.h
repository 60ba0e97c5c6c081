#ifndef ENVIRONMENT_H
#define ENVIRONMENT_H

#include <jansson.h>

#include "util.h"

/*
 * What an event ran on, for the manifest's "environment"
 * (gitbox-manifest(5)): git box's version, its libraries', git's and the
 * operating system's, then each capture command of the policy with its
 * argv, exit status and output. Commands run without a shell, split on
 * blanks, with standard input from /dev/null, in `dir`. A command that
 * cannot run, fails, is killed or runs longer than
 * ENVIRONMENT_TIMEOUT seconds is recorded as failed, never dropped.
 * No environment variable is ever recorded.
 */

#define ENVIRONMENT_TIMEOUT 120
#define ENVIRONMENT_MAX_OUTPUT (4 * 1024 * 1024)
#define ENVIRONMENT_MAX_STDERR (64 * 1024)

/* The default capture `git box init` writes into a new policy when python3 is on PATH. */
#define ENVIRONMENT_PIP_FREEZE "python3 -m pip freeze"

int environment_capture(json_t **out, const struct strlist *commands, const char *dir);

/* Run one capture command and describe how it went (never NULL). */
json_t *environment_run(const char *command, const char *dir);

#endif

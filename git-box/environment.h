#ifndef ENVIRONMENT_H
#define ENVIRONMENT_H

#include <git2.h>
#include <jansson.h>

#include "util.h"

/*
 * What an event ran on, for the manifest's "environment"
 * (gitbox-manifest(5)): git box's version, its libraries', git's and the
 * operating system's, then a record of each built-in probe the policy
 * names and of each command of the local configuration's box.capture,
 * with its argv, exit status and output. No environment variable is
 * ever recorded.
 *
 * Nothing committed in a repository makes anyone run a program: a policy
 * names probes, which git box runs with a fixed argv; a command of one's
 * own comes from box.capture, which git never clones. Every program runs
 * without a shell, with standard input from /dev/null, found in the
 * absolute folders of PATH only (a relative one would be looked up from
 * the work tree), and is killed when it runs past its time limit. A
 * program that cannot run, fails, is killed or times out is recorded as
 * failed, never dropped.
 */

#define ENVIRONMENT_TIMEOUT 120
#define ENVIRONMENT_MAX_OUTPUT (4 * 1024 * 1024)
#define ENVIRONMENT_MAX_STDERR (64 * 1024)

/* The configuration key of one's own capture commands (multi-valued). */
#define ENVIRONMENT_CONFIG_KEY "box.capture"

/*
 * A built-in probe. It runs in "/", never in the work tree, whose files a
 * program may pick up (python3 -m imports a pip.py from the folder it
 * runs in; R reads .Rprofile there).
 */
struct environment_probe {
	const char *name;             /* "pip": what a policy names */
	const char *command;          /* a command line a policy may write instead, or NULL */
	const char *const *argv;      /* run as it is; argv[0] is found on PATH */
	int timeout;                  /* seconds */
};

extern const struct environment_probe environment_probes[];
extern const size_t environment_probes_nr;

/* The probe `git box init` names in a new policy when its program is found. */
#define ENVIRONMENT_DEFAULT_PROBE "pip"

/* The probe an entry of environment.capture names (its name or its command line), or NULL. */
const struct environment_probe *environment_probe_find(const char *entry);

/* Is the probe's program on PATH (its absolute folders)? */
int environment_probe_available(const struct environment_probe *probe);

/*
 * The manifest's "environment" for an event of the box in `repo`.
 * `capture` is the policy's environment.capture: when an entry is not a
 * built-in probe, nothing runs and -1 is returned with box_error set.
 * The commands of box.capture run after the probes, in the top folder of
 * the work tree, split on blanks.
 */
int environment_capture(json_t **out, const struct strlist *capture, git_repository *repo);

/* The values of box.capture in the configuration of `repo`, in git's order. */
int environment_config_commands(struct strlist *out, git_repository *repo);

#endif

#ifndef HOOKS_H
#define HOOKS_H

/*
 * The logic of every git hook, run as `git box hook NAME ARGS...` by the
 * shims in templates/hooks/. Each returns the hook's exit code.
 */
int hook_post_checkout(int argc, char **argv);
int hook_post_commit(int argc, char **argv);

#endif

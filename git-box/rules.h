#ifndef RULES_H
#define RULES_H

#include <git2.h>

#include "changes.h"
#include "policy.h"

/*
 * The policy's commit rules (gitbox-policy(5), rules): max_file_size,
 * forbid_paths, forbid_content and require_trailers, judged on what a
 * commit changes and on its message. The same code judges the index in
 * pre-commit, a message in commit-msg, and each new commit of a ref
 * update in reference-transaction and pre-receive.
 *
 * A broken rule is a violation, collected rather than returned at once so
 * that a refusal names every offending path. A violation never holds the
 * content that broke a rule: a secret found in a file must not be copied
 * into a terminal, a log or a server's answer.
 */

struct violation {
	git_oid commit;     /* the commit that breaks the rule; zero for the index or a message */
	char *ref;          /* the ref whose update breaks it, or NULL */
	char *path;         /* the path, or NULL when the rule is about a commit or a ref */
	size_t line;        /* forbid_content: the line in the new file, from 1; else 0 */
	char *rule;         /* the rule's name: "max_file_size", "read-only input", ... */
	char *detail;       /* what was found, for people */
};

struct violations {
	struct violation *items;
	size_t nr, alloc;
};

#define VIOLATIONS_INIT { NULL, 0, 0 }

/* Rule names beside the policy's own keys (gitbox-hooks(5) explains each). */
#define RULE_READ_ONLY_INPUT "read-only input"
#define RULE_READ_ONLY_POLICY "read-only policy"
#define RULE_EVENT_TRAILER "box event trailer"
#define RULE_SEALED "sealed box"
#define RULE_FROZEN_HISTORY "frozen history"
#define RULE_BOX_BRANCH "box branch"
#define RULE_NOTES "manifest notes"
#define RULE_TAGS "timestamp tags"
#define RULE_BOX_IDENTITY "box identity"
#define RULE_FIRST_PARENT "first-parent history"

/* RULE_READ_ONLY_POLICY for the policy's path, RULE_READ_ONLY_INPUT for any other. */
const char *rules_protected_name(const char *path);

/* `commit` may be NULL; `path` and `ref` are copied. */
void violations_add(struct violations *v, const git_oid *commit, const char *ref,
		    const char *path, size_t line, const char *rule, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
void violations_release(struct violations *v);

/*
 * Does `path` match the forbid_paths glob `pattern`? `*` and `?` match
 * within one folder name, `[...]` one character of a set, `\` quotes the
 * next character. A `**` between slashes, or at the start, matches any
 * number of folders, none included; a `**` at the end matches one or
 * more names, everything in the folder before it; a pattern ending in a
 * slash covers everything in that folder too. The whole path must match:
 * `*.pem` is a file at the top, `**` then a slash then `*.pem` one
 * anywhere (gitbox-policy(5)). Returns 1 or 0.
 */
int rules_glob_match(const char *pattern, const char *path);

/*
 * Judge what a commit (or the index) changes: each path it adds or
 * changes against forbid_paths and max_file_size, and the added lines of
 * each text file against forbid_content. Protected paths are left to the
 * read-only rules. Blobs over RULES_TEXT_MAX are judged as binary, as git
 * judges files over core.bigFileThreshold. `commit` may be NULL.
 * Returns 0 (with what was found added to `out`), or -1 with box_error set.
 */
#define RULES_TEXT_MAX (512 * 1024 * 1024)
int rules_check_changes(struct violations *out, git_repository *repo, const struct policy *p,
			const struct changes *changes, const git_oid *commit);

/* Judge a commit message against require_trailers. */
void rules_check_message(struct violations *out, const struct policy *p, const char *message,
			 const git_oid *commit);

#endif

#include "install.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo.h"
#include "templates.h"
#include "banned.h"

const char *const box_hook_names[] = {
	"pre-commit",
	"pre-merge-commit",
	"commit-msg",
	"post-commit",
	"post-checkout",
	"post-merge",
	"post-index-change",
	"reference-transaction",
	NULL,
};

#define INSTALLED_KEY "box.installed"

static const char *const remote_fetch[] = {
	"refs/notes/box*:refs/notes/box*",
	"refs/tags/box/*:refs/tags/box/*",
	NULL,
};

/* HEAD first keeps `git push` pushing the current branch, as it did. */
static const char *const remote_push[] = {
	"HEAD",
	"refs/notes/box*:refs/notes/box*",
	"refs/tags/box/*:refs/tags/box/*",
	NULL,
};

static const struct box_template *shim_template(const char *hook)
{
	char name[64];

	snprintf(name, sizeof(name), "hooks/%s", hook);
	for (const struct box_template *t = box_templates; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

enum hook_kind { HOOK_MISSING, HOOK_CURRENT, HOOK_OURS_OLD, HOOK_FOREIGN };

static enum hook_kind classify_hook(const char *path, const struct box_template *t)
{
	struct buf content = BUF_INIT;
	enum hook_kind kind;
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? HOOK_MISSING : HOOK_FOREIGN;
	if (!S_ISREG(st.st_mode) || buf_read_file(&content, path, 64 * 1024) < 0)
		return HOOK_FOREIGN;
	if (content.len == t->len && !memcmp(content.ptr, t->data, t->len))
		kind = (st.st_mode & 0111) ? HOOK_CURRENT : HOOK_OURS_OLD;
	else if (content.ptr && strstr(content.ptr, SHIM_MARKER))
		kind = HOOK_OURS_OLD;
	else
		kind = HOOK_FOREIGN;
	buf_release(&content);
	return kind;
}

static int has_value(git_config *cfg, const char *key, const char *value)
{
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int found = 0;

	if (git_config_multivar_iterator_new(&it, cfg, key, NULL) < 0)
		return 0;
	while (!found && !git_config_next(&entry, it))
		found = !strcmp(entry->value, value);
	git_config_iterator_free(it);
	return found;
}

/* A regular expression that matches exactly `value`. */
static char *exact_regex(const char *value)
{
	struct buf re = BUF_INIT;

	buf_addch(&re, '^');
	for (const char *p = value; *p; p++) {
		if (strchr(".[]{}()\\*+?^$|", *p))
			buf_addch(&re, '\\');
		buf_addch(&re, *p);
	}
	buf_addch(&re, '$');
	return buf_detach(&re);
}

static int add_value(git_config *local, const char *key, const char *value,
		     struct install_report *report)
{
	char *record = xstrfmt("%s %s", key, value);
	int ret = -1;

	/* A pattern that never matches makes libgit2 append rather than replace. */
	if (git_config_set_multivar(local, key, "$.^", value) < 0 ||
	    git_config_set_multivar(local, INSTALLED_KEY, "$.^", record) < 0) {
		box_error_from_git("cannot set '%s' in the repository's configuration", key);
		goto out;
	}
	strlist_add(&report->config_added, record);
	ret = 0;
out:
	free(record);
	return ret;
}

static int open_local_config(git_config **local, git_config **all, git_repository *repo)
{
	if (git_repository_config(all, repo) < 0 ||
	    git_config_open_level(local, *all, GIT_CONFIG_LEVEL_LOCAL) < 0) {
		box_error_from_git("cannot open the repository's configuration");
		return -1;
	}
	return 0;
}

static int install_config(git_repository *repo, struct install_report *report)
{
	git_config *all = NULL, *local = NULL;
	git_strarray remotes = { NULL, 0 };
	int ret = -1;

	if (open_local_config(&local, &all, repo) < 0)
		goto out;
	if (!has_value(all, "filter.box.process", FILTER_PROCESS_VALUE) &&
	    add_value(local, "filter.box.process", FILTER_PROCESS_VALUE, report) < 0)
		goto out;
	if (!has_value(all, "filter.box.required", "true") &&
	    add_value(local, "filter.box.required", "true", report) < 0)
		goto out;
	/*
	 * Making inputs read-only after git wrote them (post-checkout,
	 * post-merge, post-index-change) changes their ctime: git would then
	 * take them for changed, and 'git reset --merge' would refuse them.
	 */
	if (!has_value(all, "core.trustctime", "false") &&
	    add_value(local, "core.trustctime", "false", report) < 0)
		goto out;

	if (git_remote_list(&remotes, repo) < 0) {
		box_error_from_git("cannot list the remotes");
		goto out;
	}
	for (size_t i = 0; i < remotes.count; i++) {
		char *fetch = xstrfmt("remote.%s.fetch", remotes.strings[i]);
		char *push = xstrfmt("remote.%s.push", remotes.strings[i]);
		int failed = 0;

		for (size_t j = 0; !failed && remote_fetch[j]; j++)
			if (!has_value(local, fetch, remote_fetch[j]))
				failed = add_value(local, fetch, remote_fetch[j], report) < 0;
		for (size_t j = 0; !failed && remote_push[j]; j++)
			if (!has_value(local, push, remote_push[j]))
				failed = add_value(local, push, remote_push[j], report) < 0;
		free(fetch);
		free(push);
		if (failed)
			goto out;
	}
	ret = 0;
out:
	git_strarray_dispose(&remotes);
	git_config_free(local);
	git_config_free(all);
	return ret;
}

static int check_filter_conflict(git_repository *repo, struct strlist *conflicts)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		box_error_from_git("cannot read the repository's configuration");
		return -1;
	}
	if (!git_config_get_string_buf(&value, cfg, "filter.box.process") &&
	    strcmp(value.ptr, FILTER_PROCESS_VALUE))
		strlist_add_nodup(conflicts, xstrfmt("filter.box.process is set to '%s'", value.ptr));
	git_buf_dispose(&value);
	git_config_free(cfg);
	return 0;
}

int box_install(git_repository *repo, struct install_report *report, struct strlist *conflicts)
{
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int ret = -1;

	if (git_repository_is_bare(repo)) {
		box_error_set("'%s' is a bare repository: its hooks are the server side's",
			      git_repository_path(repo));
		return -1;
	}
	if (repo_hooks_dir(&dir, repo) < 0)
		return -1;

	/* Look before touching anything: a refusal must leave no trace. */
	for (size_t i = 0; box_hook_names[i]; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, box_hook_names[i]);
		if (classify_hook(path.ptr, shim_template(box_hook_names[i])) == HOOK_FOREIGN)
			strlist_add_nodup(conflicts, xstrfmt("hook '%s' is not git box's", path.ptr));
	}
	if (check_filter_conflict(repo, conflicts) < 0)
		goto out;
	if (conflicts->nr) {
		box_error_set("cannot install git box over what is already there");
		goto out;
	}

	if (mkdir(dir.ptr, 0755) < 0 && errno != EEXIST) {
		box_error_set("cannot create the hooks folder '%s': %s", dir.ptr, strerror(errno));
		goto out;
	}
	for (size_t i = 0; box_hook_names[i]; i++) {
		const struct box_template *t = shim_template(box_hook_names[i]);

		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, box_hook_names[i]);
		if (classify_hook(path.ptr, t) == HOOK_CURRENT)
			continue;
		if (write_file_atomic(path.ptr, t->data, t->len, 0755) < 0)
			goto out;
		strlist_add(&report->hooks_written, path.ptr);
	}
	ret = install_config(repo, report);
out:
	buf_release(&dir);
	buf_release(&path);
	return ret;
}

int box_uninstall(git_repository *repo, struct install_report *report)
{
	git_config *all = NULL, *local = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	struct strlist records = STRLIST_INIT;
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int ret = -1;

	if (repo_hooks_dir(&dir, repo) < 0)
		return -1;
	for (size_t i = 0; box_hook_names[i]; i++) {
		enum hook_kind kind;

		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, box_hook_names[i]);
		kind = classify_hook(path.ptr, shim_template(box_hook_names[i]));
		if (kind != HOOK_CURRENT && kind != HOOK_OURS_OLD)
			continue;
		if (unlink(path.ptr) < 0) {
			box_error_set("cannot remove '%s': %s", path.ptr, strerror(errno));
			goto out;
		}
		strlist_add(&report->hooks_removed, path.ptr);
	}

	if (open_local_config(&local, &all, repo) < 0)
		goto out;
	if (!git_config_multivar_iterator_new(&it, local, INSTALLED_KEY, NULL)) {
		while (!git_config_next(&entry, it))
			strlist_add(&records, entry->value);
		git_config_iterator_free(it);
	}
	for (size_t i = 0; i < records.nr; i++) {
		char *key = xstrdup(records.items[i]), *space = strchr(key, ' ');
		char *re;
		int failed;

		if (!space) {
			free(key);
			continue;
		}
		*space = '\0';
		re = exact_regex(space + 1);
		failed = git_config_delete_multivar(local, key, re) < 0 && git_error_last() &&
			 git_error_last()->klass != GIT_ERROR_CONFIG;
		free(re);
		free(key);
		if (failed) {
			box_error_from_git("cannot remove '%s'", records.items[i]);
			goto out;
		}
		strlist_add(&report->config_removed, records.items[i]);
	}
	if (records.nr && git_config_delete_multivar(local, INSTALLED_KEY, ".*") < 0) {
		box_error_from_git("cannot remove %s", INSTALLED_KEY);
		goto out;
	}
	ret = 0;
out:
	strlist_release(&records);
	git_config_free(local);
	git_config_free(all);
	buf_release(&dir);
	buf_release(&path);
	return ret;
}

int box_install_state(git_repository *repo, struct install_state *state)
{
	git_config *cfg = NULL;
	git_strarray remotes = { NULL, 0 };
	struct buf dir = BUF_INIT, path = BUF_INIT;
	int ret = -1;

	if (repo_hooks_dir(&dir, repo) < 0)
		return -1;
	state->hooks_dir = xstrdup(dir.ptr);
	for (size_t i = 0; box_hook_names[i]; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir.ptr, box_hook_names[i]);
		switch (classify_hook(path.ptr, shim_template(box_hook_names[i]))) {
		case HOOK_MISSING:
			strlist_add(&state->hooks_missing, box_hook_names[i]);
			break;
		case HOOK_FOREIGN:
			strlist_add(&state->hooks_foreign, box_hook_names[i]);
			break;
		case HOOK_OURS_OLD:
			strlist_add(&state->hooks_outdated, box_hook_names[i]);
			break;
		case HOOK_CURRENT:
			break;
		}
	}
	if (git_repository_config_snapshot(&cfg, repo) < 0 || git_remote_list(&remotes, repo) < 0) {
		box_error_from_git("cannot read the repository's configuration");
		goto out;
	}
	state->filter = has_value(cfg, "filter.box.process", FILTER_PROCESS_VALUE) &&
			has_value(cfg, "filter.box.required", "true");
	for (size_t i = 0; i < remotes.count; i++) {
		char *fetch = xstrfmt("remote.%s.fetch", remotes.strings[i]);
		int ok = 1;

		for (size_t j = 0; remote_fetch[j]; j++)
			ok &= has_value(cfg, fetch, remote_fetch[j]);
		if (!ok)
			strlist_add(&state->remotes_missing, remotes.strings[i]);
		free(fetch);
	}
	ret = 0;
out:
	git_strarray_dispose(&remotes);
	git_config_free(cfg);
	buf_release(&dir);
	buf_release(&path);
	return ret;
}

void install_report_release(struct install_report *r)
{
	strlist_release(&r->hooks_written);
	strlist_release(&r->config_added);
	strlist_release(&r->hooks_removed);
	strlist_release(&r->config_removed);
}

void install_state_release(struct install_state *s)
{
	free(s->hooks_dir);
	s->hooks_dir = NULL;
	strlist_release(&s->hooks_missing);
	strlist_release(&s->hooks_foreign);
	strlist_release(&s->hooks_outdated);
	strlist_release(&s->remotes_missing);
}

#include "repo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

#define POLICY_MAX_BYTES (1024 * 1024)

int repo_open_from_env(git_repository **out)
{
	if (git_repository_open_ext(out, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		box_error_from_git("not a git repository");
		return -1;
	}
	return 0;
}

int repo_read_blob_at(struct buf *out, git_repository *repo, const git_oid *commit,
		      const char *path, size_t max)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_blob *blob = NULL;
	int ret = -1;

	if (git_commit_lookup(&c, repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, path) < 0) {
		box_error_set("'%s' is not in commit %.12s", path, git_oid_tostr_s(commit));
		goto out;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		box_error_set("'%s' in commit %.12s is not a file", path, git_oid_tostr_s(commit));
		goto out;
	}
	if (git_blob_lookup(&blob, repo, git_tree_entry_id(entry)) < 0) {
		box_error_from_git("cannot read '%s' in commit %.12s", path, git_oid_tostr_s(commit));
		goto out;
	}
	if ((uint64_t)git_blob_rawsize(blob) > max) {
		box_error_set("'%s' in commit %.12s is larger than %zu bytes", path,
			      git_oid_tostr_s(commit), max);
		goto out;
	}
	buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	ret = 0;
out:
	git_blob_free(blob);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(c);
	return ret;
}

int repo_commit_has_path(git_repository *repo, const git_oid *commit, const char *path)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	int found = 0;

	if (!git_commit_lookup(&c, repo, commit) && !git_commit_tree(&tree, c) &&
	    !git_tree_entry_bypath(&entry, tree, path))
		found = 1;
	git_tree_entry_free(entry);
	git_tree_free(tree);
	git_commit_free(c);
	return found;
}

char *commit_trailer(const char *message, const char *key)
{
	git_message_trailer_array trailers = { 0 };
	char *value = NULL;

	if (git_message_trailers(&trailers, message) < 0)
		return NULL;
	for (size_t i = 0; i < trailers.count; i++) {
		if (!strcasecmp(trailers.trailers[i].key, key)) {
			free(value);
			value = xstrdup(trailers.trailers[i].value);
		}
	}
	git_message_trailer_array_free(&trailers);
	return value;
}

/* Read and parse the policy committed at `commit`, if any (0 = none there). */
static int read_policy_at(struct policy *out, git_repository *repo, const git_oid *commit,
			  const char *refname)
{
	struct buf data = BUF_INIT;
	char *origin;
	int ret;

	if (!repo_commit_has_path(repo, commit, POLICY_PATH))
		return 0;
	if (repo_read_blob_at(&data, repo, commit, POLICY_PATH, POLICY_MAX_BYTES) < 0)
		return -1;
	origin = xstrfmt("%s:%s", refname, POLICY_PATH);
	ret = policy_parse(out, origin, data.ptr ? data.ptr : "", data.len) < 0 ? -1 : 1;
	free(origin);
	buf_release(&data);
	return ret;
}

static int find_init_commit(struct box *b);

/*
 * Try `refname` as the box branch: 1 if it is one, 0 if not, -1 on error.
 * The policy that says so is the tip's, or with BOX_OPEN_POLICY_AT_INIT
 * the init commit's.
 */
static int try_branch(struct box *b, const char *refname, unsigned flags)
{
	char *origin = NULL;
	git_oid tip;
	int found;

	if (git_reference_name_to_id(&tip, b->repo, refname) < 0)
		return 0;
	if (!(flags & BOX_OPEN_POLICY_AT_INIT)) {
		found = read_policy_at(&b->policy, b->repo, &tip, refname);
	} else {
		if (!repo_commit_has_path(b->repo, &tip, POLICY_PATH))
			return 0;
		git_oid_cpy(&b->tip, &tip);
		if (find_init_commit(b) < 0)
			return -1;
		origin = xstrdup(git_oid_tostr_s(&b->id));
		found = read_policy_at(&b->policy, b->repo, &b->id, origin);
		free(origin);
	}
	if (found <= 0)
		return found;
	if (strcmp(refname + strlen("refs/heads/"), b->policy.branch)) {
		policy_release(&b->policy);
		return 0;
	}
	b->branch_ref = xstrdup(refname);
	git_oid_cpy(&b->tip, &tip);
	return 1;
}

static int find_box_branch(struct box *b, unsigned flags)
{
	git_reference *head = NULL;
	git_branch_iterator *it = NULL;
	git_reference *ref;
	git_branch_t type;
	struct policy head_policy = POLICY_INIT;
	int found = 0;

	/* The usual case: HEAD is the box branch, or a branch made from it. */
	if (!git_reference_lookup(&head, b->repo, "HEAD") &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		const char *target = git_reference_symbolic_target(head);
		git_oid tip;

		if (starts_with(target, "refs/heads/")) {
			found = try_branch(b, target, flags);
			if (!found && !git_reference_name_to_id(&tip, b->repo, target)) {
				found = read_policy_at(&head_policy, b->repo, &tip, target);
				/* At init, a policy broken since is for the caller to find. */
				if (found < 0 && (flags & BOX_OPEN_POLICY_AT_INIT))
					found = 0;
				if (found > 0) {
					char *box_ref = xstrfmt("refs/heads/%s", head_policy.branch);
					found = try_branch(b, box_ref, flags);
					free(box_ref);
				}
			}
		}
	}
	git_reference_free(head);
	policy_release(&head_policy);
	if (found)
		return found;

	if (git_branch_iterator_new(&it, b->repo, GIT_BRANCH_LOCAL) < 0)
		return 0;
	while (!found && !git_branch_next(&ref, &type, it)) {
		found = try_branch(b, git_reference_name(ref), flags);
		git_reference_free(ref);
	}
	git_branch_iterator_free(it);
	return found;
}

int box_find_init(git_oid *out, git_repository *repo, const git_oid *tip)
{
	git_commit *commit = NULL, *parent = NULL;
	int ret = -1;

	if (git_commit_lookup(&commit, repo, tip) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(tip));
		return -1;
	}
	while (git_commit_parentcount(commit)) {
		if (git_commit_parent(&parent, commit, 0) < 0) {
			box_error_from_git("cannot read the parent of %.12s",
					   git_oid_tostr_s(git_commit_id(commit)));
			goto out;
		}
		if (!repo_commit_has_path(repo, git_commit_id(parent), POLICY_PATH))
			break;
		git_commit_free(commit);
		commit = parent;
		parent = NULL;
	}
	git_oid_cpy(out, git_commit_id(commit));
	ret = 0;
out:
	git_commit_free(parent);
	git_commit_free(commit);
	return ret;
}

static int find_init_commit(struct box *b)
{
	return box_find_init(&b->id, b->repo, &b->tip);
}

int box_recorded_id(git_oid *out, git_repository *repo)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	int err, ret = -1;

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		box_error_from_git("cannot read the git configuration");
		return -1;
	}
	err = git_config_get_string_buf(&value, cfg, BOX_ID_CONFIG);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		ret = 0;
	} else if (err < 0) {
		box_error_from_git("cannot read %s", BOX_ID_CONFIG);
	} else if (strlen(value.ptr) != GIT_OID_HEXSZ || git_oid_fromstr(out, value.ptr) < 0) {
		git_error_clear();
		box_error_set("%s '%s' is not a box id (the 40 hex digits of its init commit)",
			      BOX_ID_CONFIG, value.ptr);
	} else {
		ret = 1;
	}
	git_buf_dispose(&value);
	git_config_free(cfg);
	return ret;
}

int box_record_id(git_repository *repo, const git_oid *id)
{
	git_config *cfg = NULL, *local = NULL;
	int ret = -1;

	if (git_repository_config(&cfg, repo) < 0 ||
	    git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0 ||
	    git_config_set_string(local, BOX_ID_CONFIG, git_oid_tostr_s(id)) < 0) {
		box_error_from_git("cannot record %s", BOX_ID_CONFIG);
		goto out;
	}
	ret = 0;
out:
	git_config_free(local);
	git_config_free(cfg);
	return ret;
}

/* The box `tip` holds, into *out: 1, 0 when it holds none, -1 with box_error. */
static int box_of(git_oid *out, git_repository *repo, const git_oid *tip)
{
	if (!repo_commit_has_path(repo, tip, POLICY_PATH))
		return 0;
	return box_find_init(out, repo, tip) < 0 ? -1 : 1;
}

int box_foreign_copies(struct strlist *refs, struct strlist *ids, const struct box *b)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	const char *branch = b->branch_ref + strlen("refs/heads/");
	size_t blen = strlen(branch);
	int err, ret = -1;

	if (git_reference_iterator_glob_new(&it, b->repo, "refs/remotes/*") < 0) {
		box_error_from_git("cannot list the remote-tracking branches");
		return -1;
	}
	while (!(err = git_reference_next(&ref, it))) {
		const char *name = git_reference_name(ref);
		size_t len = strlen(name);
		git_oid tip, id;
		int has = 0;

		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT && len > blen &&
		    name[len - blen - 1] == '/' && !strcmp(name + len - blen, branch)) {
			git_oid_cpy(&tip, git_reference_target(ref));
			has = box_of(&id, b->repo, &tip);
			if (!has && (git_oid_equal(&tip, &b->id) ||
				     git_graph_descendant_of(b->repo, &b->id, &tip) == 1))
				has = 2;   /* the history the box was made over */
			git_error_clear();
			if (!has || (has == 1 && !git_oid_equal(&id, &b->id))) {
				strlist_add(refs, name);
				strlist_add(ids, has ? git_oid_tostr_s(&id) : "");
			}
		}
		git_reference_free(ref);
		if (has < 0)
			goto out;
	}
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the remote-tracking branches");
		goto out;
	}
	git_error_clear();
	ret = 0;
out:
	git_reference_iterator_free(it);
	return ret;
}

int box_forget_id(git_repository *repo)
{
	git_config *cfg = NULL, *local = NULL;
	int err, ret = -1;

	if (git_repository_config(&cfg, repo) < 0 ||
	    git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL) < 0) {
		box_error_from_git("cannot read the git configuration");
		goto out;
	}
	err = git_config_delete_entry(local, BOX_ID_CONFIG);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		ret = 0;
	} else if (err < 0) {
		box_error_from_git("cannot remove %s", BOX_ID_CONFIG);
	} else {
		ret = 1;
	}
out:
	git_config_free(local);
	git_config_free(cfg);
	return ret;
}

int box_open(struct box *out, git_repository *repo, int *not_a_box)
{
	return box_open_flags(out, repo, not_a_box, 0);
}

int box_open_flags(struct box *out, git_repository *repo, int *not_a_box, unsigned flags)
{
	int found;

	*not_a_box = 0;
	out->repo = repo;
	found = find_box_branch(out, flags);
	if (found < 0) {
		box_error_wrap("cannot read the box's policy");
		return -1;
	}
	if (!found) {
		*not_a_box = 1;
		box_error_set("'%s' is not a git box", git_repository_workdir(repo)
			      ? git_repository_workdir(repo) : git_repository_path(repo));
		return -1;
	}
	return find_init_commit(out);
}

void box_release(struct box *b)
{
	policy_release(&b->policy);
	free(b->branch_ref);
	git_repository_free(b->repo);
	memset(b, 0, sizeof(*b));
}

const char *box_state_name(enum box_state s)
{
	switch (s) {
	case BOX_CREATED:
		return "CREATED";
	case BOX_IN_PROGRESS:
		return "IN_PROGRESS";
	case BOX_SEALED:
		return "SEALED";
	case BOX_COMPLETED:
		return "COMPLETED";
	}
	return "UNKNOWN";
}

int box_state_sealed(enum box_state s)
{
	return s == BOX_SEALED || s == BOX_COMPLETED;
}

char *commit_event(git_commit *commit)
{
	return commit_trailer(git_commit_message(commit), BOX_EVENT_TRAILER);
}

int box_event_trailer_valid(const char *value)
{
	static const char *const written[] = { "init", "import", "seal", NULL };

	for (size_t i = 0; written[i]; i++)
		if (!strcmp(value, written[i]))
			return 1;
	return 0;
}

static int is_freezing_event(const char *event)
{
	return event && (!strcmp(event, "init") || !strcmp(event, "import"));
}

int box_state(enum box_state *out, const struct box *b)
{
	git_commit *commit = NULL, *parent;
	char *event = NULL;
	int ret = -1;

	*out = BOX_CREATED;
	if (git_commit_lookup(&commit, b->repo, &b->tip) < 0) {
		box_error_from_git("cannot read the box branch");
		return -1;
	}
	event = commit_event(commit);
	if (event && !strcmp(event, "seal")) {
		*out = BOX_SEALED;
		ret = 0;
		goto out;
	}
	/* Any commit after init that is not an import starts the work. */
	while (!git_oid_equal(git_commit_id(commit), &b->id)) {
		if (!is_freezing_event(event)) {
			*out = BOX_IN_PROGRESS;
			break;
		}
		if (git_commit_parent(&parent, commit, 0) < 0) {
			box_error_from_git("cannot walk the box branch");
			goto out;
		}
		git_commit_free(commit);
		commit = parent;
		free(event);
		event = commit_event(commit);
	}
	ret = 0;
out:
	free(event);
	git_commit_free(commit);
	return ret;
}

int box_freeze_commit(git_oid *out, const struct box *b)
{
	git_commit *commit = NULL, *parent;
	char *event = NULL;
	int ret = -1;

	if (git_commit_lookup(&commit, b->repo, &b->tip) < 0) {
		box_error_from_git("cannot read the box branch");
		return -1;
	}
	for (;;) {
		event = commit_event(commit);
		if (is_freezing_event(event) || git_oid_equal(git_commit_id(commit), &b->id))
			break;
		free(event);
		event = NULL;
		if (git_commit_parent(&parent, commit, 0) < 0) {
			box_error_from_git("cannot walk the box branch");
			goto out;
		}
		git_commit_free(commit);
		commit = parent;
	}
	git_oid_cpy(out, git_commit_id(commit));
	ret = 0;
out:
	free(event);
	git_commit_free(commit);
	return ret;
}

size_t box_note_payload_len(const char *note, size_t len)
{
	static const char begin[] = BOX_SIGNATURE_BEGIN;
	const size_t begin_len = sizeof(begin) - 1;
	size_t line = 0;

	while (line < len) {
		const char *nl = memchr(note + line, '\n', len - line);
		size_t end = nl ? (size_t)(nl - note) : len;

		if (end - line == begin_len && !memcmp(note + line, begin, begin_len))
			return line;
		line = end + 1;
	}
	return len;
}

int box_note_read(struct buf *payload, struct buf *signatures, git_repository *repo,
		  const git_oid *commit)
{
	git_note *note = NULL;
	const char *text;
	size_t len, split;
	int err;

	err = git_note_read(&note, repo, BOX_NOTES_REF, commit);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		return 1;
	}
	if (err < 0) {
		box_error_from_git("cannot read the manifest note on %.12s", git_oid_tostr_s(commit));
		return -1;
	}
	text = git_note_message(note);
	len = strlen(text);
	split = box_note_payload_len(text, len);
	if (payload)
		buf_add(payload, text, split);
	if (signatures)
		buf_add(signatures, text + split, len - split);
	git_note_free(note);
	return 0;
}

struct count_data {
	git_odb *odb;
	size_t files;
	uint64_t bytes;
};

static int count_blob(const char *root, const git_tree_entry *entry, void *payload)
{
	struct count_data *d = payload;
	size_t size;
	git_object_t type;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	d->files++;
	if (!git_odb_read_header(&size, &type, d->odb, git_tree_entry_id(entry)))
		d->bytes += size;
	return 0;
}

int box_count_path(size_t *files, uint64_t *bytes, const struct box *b, const git_oid *commit,
		   const char *path)
{
	struct count_data d = { NULL, 0, 0 };
	git_commit *c = NULL;
	git_tree *tree = NULL, *sub = NULL;
	git_tree_entry *entry = NULL;
	char *trimmed = xstrdup(path);
	size_t len = strlen(trimmed);
	int ret = -1;

	*files = 0;
	*bytes = 0;
	if (len && trimmed[len - 1] == '/')
		trimmed[len - 1] = '\0';
	if (git_repository_odb(&d.odb, b->repo) < 0 || git_commit_lookup(&c, b->repo, commit) < 0 ||
	    git_commit_tree(&tree, c) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	if (git_tree_entry_bypath(&entry, tree, trimmed) < 0) {
		ret = 0;   /* nothing there yet */
		goto out;
	}
	if (git_tree_entry_type(entry) == GIT_OBJECT_TREE) {
		if (git_tree_lookup(&sub, b->repo, git_tree_entry_id(entry)) < 0 ||
		    git_tree_walk(sub, GIT_TREEWALK_PRE, count_blob, &d) < 0) {
			box_error_from_git("cannot walk '%s'", path);
			goto out;
		}
	} else {
		count_blob("", entry, &d);
	}
	*files = d.files;
	*bytes = d.bytes;
	ret = 0;
out:
	free(trimmed);
	git_tree_entry_free(entry);
	git_tree_free(sub);
	git_tree_free(tree);
	git_commit_free(c);
	git_odb_free(d.odb);
	return ret;
}

/*
 * Dates as git reads GIT_AUTHOR_DATE: "@1700000000 +0100", "1700000000 +0100",
 * or ISO 8601 "2026-11-22 15:00:00 +0100" (a 'T' may separate, 'Z' is UTC).
 */
static int parse_git_date(git_time_t *when, int *offset, const char *text)
{
	const char *p = text + (*text == '@');
	int iso = strlen(p) >= 19 && p[4] == '-' && p[7] == '-' && (p[10] == 'T' || p[10] == ' ');
	long long seconds;
	char *end;

	*offset = 0;
	if (iso) {
		struct tm tm = { 0 };

		p = strptime(p, p[10] == 'T' ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
		if (!p)
			return -1;
		seconds = (long long)timegm(&tm);
	} else {
		errno = 0;
		seconds = strtoll(p, &end, 10);
		if (errno || end == p || seconds < 0)
			return -1;
		p = end;
	}
	while (*p == ' ')
		p++;
	if (*p == '+' || *p == '-') {
		long hhmm = strtol(p + 1, &end, 10);

		if (end - p != 5 || *end || hhmm % 100 >= 60 || hhmm > 1400)
			return -1;
		*offset = (*p == '-' ? -1 : 1) * (int)(hhmm / 100 * 60 + hhmm % 100);
	} else if (*p && strcmp(p, "Z")) {
		return -1;
	}
	/* An ISO date is wall-clock time in its own zone; an epoch count is already UTC. */
	*when = (git_time_t)(iso ? seconds - (long long)*offset * 60 : seconds);
	return 0;
}

int repo_signature(git_signature **out, git_repository *repo, int committer)
{
	const char *kind = committer ? "COMMITTER" : "AUTHOR";
	char name_var[32], email_var[32], date_var[32];
	const char *name, *email, *date;
	git_config *cfg = NULL;
	git_buf cfg_name = GIT_BUF_INIT, cfg_email = GIT_BUF_INIT;
	git_time_t when = (git_time_t)time(NULL);
	int offset = 0, ret = -1;

	snprintf(name_var, sizeof(name_var), "GIT_%s_NAME", kind);
	snprintf(email_var, sizeof(email_var), "GIT_%s_EMAIL", kind);
	snprintf(date_var, sizeof(date_var), "GIT_%s_DATE", kind);
	name = getenv(name_var);
	email = getenv(email_var);
	date = getenv(date_var);

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		box_error_from_git("cannot read the git configuration");
		goto out;
	}
	if (!name && !git_config_get_string_buf(&cfg_name, cfg, "user.name"))
		name = cfg_name.ptr;
	if (!email && !git_config_get_string_buf(&cfg_email, cfg, "user.email"))
		email = cfg_email.ptr;
	if (!name || !*name || !email || !*email) {
		box_error_set("%s identity unknown: set user.name and user.email "
			      "(git config user.name \"Your Name\")", committer ? "committer" : "author");
		goto out;
	}
	if (date && *date && parse_git_date(&when, &offset, date) < 0) {
		box_error_set("%s: cannot read the date '%s'", date_var, date);
		goto out;
	}
	if (git_signature_new(out, name, email, when, offset) < 0) {
		box_error_from_git("invalid %s identity", committer ? "committer" : "author");
		goto out;
	}
	ret = 0;
out:
	git_buf_dispose(&cfg_name);
	git_buf_dispose(&cfg_email);
	git_config_free(cfg);
	return ret;
}

int repo_hooks_dir(struct buf *out, git_repository *repo)
{
	git_config *cfg = NULL;
	git_buf path = GIT_BUF_INIT;
	int ret = -1;

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		box_error_from_git("cannot read the git configuration");
		return -1;
	}
	if (!git_config_get_path(&path, cfg, "core.hooksPath")) {
		/* git resolves a relative hooksPath where it runs hooks: the work tree's top. */
		if (path.ptr[0] != '/') {
			const char *base = git_repository_workdir(repo)
				? git_repository_workdir(repo) : git_repository_path(repo);
			buf_adds(out, base);
		}
		buf_adds(out, path.ptr);
	} else {
		buf_adds(out, git_repository_commondir(repo));
		buf_adds(out, "hooks");
	}
	while (out->len > 1 && out->ptr[out->len - 1] == '/')
		out->ptr[--out->len] = '\0';
	ret = 0;
	git_buf_dispose(&path);
	git_config_free(cfg);
	return ret;
}

/* chmod through a descriptor opened without following links. */
static int tighten_mode(const char *path, int is_dir, size_t *changed)
{
	struct stat st;
	mode_t want;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (is_dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
			return 0;   /* gone or a link: nothing of ours to protect here */
		box_error_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		box_error_set("cannot stat '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (is_dir)
		want = 0555;
	else
		want = (st.st_mode & 0100) ? 0555 : 0444;
	if ((st.st_mode & 07777) != want) {
		if (fchmod(fd, want) < 0) {
			box_error_set("cannot make '%s' read-only: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		(*changed)++;
	}
	close(fd);
	return 0;
}

/* The input folder that holds `path`, as a prefix length, or 0. */
static size_t input_root_len(const struct policy *p, const char *path)
{
	for (size_t i = 0; i < p->inputs.nr; i++) {
		const char *in = p->inputs.items[i];
		size_t len = strlen(in);

		if (len && in[len - 1] == '/' && !strncmp(path, in, len))
			return len;
	}
	return 0;
}

/*
 * Visit `rel` and the folders that hold it inside its input folder, up to
 * the input folder itself; `last_dir` skips the folders of the file
 * visited just before, which index order makes the usual case.
 */
static int visit_input(const struct box *b, const char *workdir, const char *rel,
		       box_input_fn fn, void *data, struct buf *path, struct buf *last_dir)
{
	size_t root, dir_end;

	buf_reset(path);
	buf_addf(path, "%s%s", workdir, rel);
	if (fn(path->ptr, rel, 0, data) < 0)
		return -1;
	root = input_root_len(&b->policy, rel);
	if (!root)
		return 0;
	dir_end = (size_t)(strrchr(rel, '/') - rel) + 1;
	if (last_dir && last_dir->ptr && last_dir->len == dir_end && !strncmp(last_dir->ptr, rel, dir_end))
		return 0;
	if (last_dir) {
		buf_reset(last_dir);
		buf_add(last_dir, rel, dir_end);
	}
	for (size_t end = dir_end; end >= root; ) {
		char *folder = xstrndup(rel, end);

		buf_reset(path);
		buf_addf(path, "%s%s", workdir, folder);
		if (fn(path->ptr, folder, 1, data) < 0) {
			free(folder);
			return -1;
		}
		free(folder);
		/* up one folder */
		if (end <= root)
			break;
		end--;
		while (end > 0 && rel[end - 1] != '/')
			end--;
	}
	return 0;
}

int box_walk_inputs(const struct box *b, box_input_fn fn, void *data)
{
	git_index *index = NULL;
	struct buf path = BUF_INIT, last_dir = BUF_INIT;
	const char *workdir = git_repository_workdir(b->repo);
	size_t n;
	int ret = -1;

	if (!workdir)
		return 0;   /* a bare repository has no files to protect */
	if (git_repository_index(&index, b->repo) < 0) {
		box_error_from_git("cannot read the index");
		return -1;
	}
	n = git_index_entrycount(index);
	for (size_t i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);

		if (!policy_is_protected(&b->policy, e->path) || S_ISLNK(e->mode))
			continue;
		if (visit_input(b, workdir, e->path, fn, data, &path, &last_dir) < 0)
			goto out;
	}
	ret = 0;
out:
	buf_release(&path);
	buf_release(&last_dir);
	git_index_free(index);
	return ret;
}

static int tighten(const char *abs, const char *rel, int is_dir, void *data)
{
	(void)rel;
	return tighten_mode(abs, is_dir, data);
}

int box_make_inputs_readonly(const struct box *b, size_t *changed)
{
	*changed = 0;
	return box_walk_inputs(b, tighten, changed);
}

int box_make_input_readonly(const struct box *b, const char *path, size_t *changed)
{
	struct buf abs = BUF_INIT;
	const char *workdir = git_repository_workdir(b->repo);
	int ret;

	if (!workdir)
		return 0;
	ret = visit_input(b, workdir, path, tighten, changed, &abs, NULL);
	buf_release(&abs);
	return ret;
}

/*
 * git box init: make a box of a new folder or of an existing repository.
 *
 * Everything that can be refused is checked before the first change.
 * From then on every file, folder and setting this run creates is logged,
 * and a failure removes them all: there is never a half-made box.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "child.h"
#include "environment.h"
#include "events.h"
#include "http.h"
#include "import.h"
#include "install.h"
#include "output.h"
#include "repo.h"
#include "templates.h"
#include "banned.h"

#define TSA_CA_PATH ".box/tsa-ca.pem"

static const char *const synopsis[] = {
	"git box init [<dir>] [--name <name>] [--input <path>]... [--output <path>]... "
	"[--from <src>]... [--branch <branch>] [--policy <file>] [--signer <fpr>]... "
	"[--quorum <n>] [--tsa <url>]... [--tsa-ca <file>] [--json]",
	NULL,
};

static const struct command_usage usage = { "init", synopsis };

struct init_options {
	const char *dir;
	const char *name;
	const char *branch;
	const char *policy_file;
	const char *tsa_ca;
	struct strlist inputs, outputs, from, signers, tsa;
	const char *quorum;
	int json;
};

/* What this run changed, newest last, so that a failure can take it back. */
struct undo {
	char *made_dir;              /* the folder we created, removed whole */
	char *made_git_dir;          /* the .git we created */
	struct import_undo files;    /* files and folders we created, in order */
	char *attributes_path;
	struct buf attributes_before;
	int attributes_existed;
	int installed;
};

struct target {
	char *path;          /* absolute, no trailing '/' */
	char *workdir;       /* path + '/' */
	int exists;
	git_repository *repo;   /* an existing repository, or the one we make */
	char *head_branch;      /* its current branch */
};


/* ---- the policy ---------------------------------------------------------- */

/*
 * A YAML double-quoted scalar: safe for any name or path a person types.
 * What a terminal would not show as it is goes in as an escape, so that
 * the policy holds what was given and the policy's rules judge it: YAML
 * would fold a raw NEL, LS or PS into a space.
 */
static void yaml_quote(struct buf *out, const char *s)
{
	size_t len = strlen(s);

	buf_addch(out, '"');
	while (len) {
		uint32_t cp;
		int32_t unsafe;
		size_t n = utf8_decode(s, len, &cp);

		if (!n)
			buf_addch(out, *s), n = 1;   /* not UTF-8: the YAML reader refuses it */
		else if (cp == '"' || cp == '\\')
			buf_addf(out, "\\%c", (char)cp);
		else if (!escape_find(s, n, &unsafe))
			buf_addf(out, cp > 0xffff ? "\\U%08X" : "\\u%04X", (unsigned)cp);
		else
			buf_add(out, s, n);
		s += n;
		len -= n;
	}
	buf_addch(out, '"');
}

static void yaml_list(struct buf *out, const struct strlist *l)
{
	buf_addch(out, '[');
	for (size_t i = 0; i < l->nr; i++) {
		if (i)
			buf_adds(out, ", ");
		yaml_quote(out, l->items[i]);
	}
	buf_addch(out, ']');
}

static const struct box_template *find_template(const char *name)
{
	for (const struct box_template *t = box_templates; t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

/* The pip probe where python3 is found, as the users of git box asked; nothing otherwise. */
static const char *capture_default(void)
{
	const struct environment_probe *probe = environment_probe_find(ENVIRONMENT_DEFAULT_PROBE);

	return environment_probe_available(probe) ? "[\"" ENVIRONMENT_DEFAULT_PROBE "\"]" : "[]";
}

static void fill_policy_template(struct buf *out, const struct init_options *o, const char *name,
				 const char *branch)
{
	const struct box_template *t = find_template("policy.yaml");
	const char *p = t->data, *end = t->data + t->len;
	struct strlist default_inputs = STRLIST_INIT, default_outputs = STRLIST_INIT;

	strlist_add(&default_inputs, "input/");
	strlist_add(&default_outputs, "output/");
	while (p < end) {
		const char *at = memchr(p, '@', (size_t)(end - p)), *close;
		struct buf key = BUF_INIT;

		if (!at || !(close = memchr(at + 1, '@', (size_t)(end - at - 1)))) {
			buf_add(out, p, (size_t)(end - p));
			break;
		}
		buf_add(out, p, (size_t)(at - p));
		buf_add(&key, at + 1, (size_t)(close - at - 1));
		if (!strcmp(key.ptr, "NAME"))
			yaml_quote(out, name);
		else if (!strcmp(key.ptr, "BRANCH"))
			yaml_quote(out, branch);
		else if (!strcmp(key.ptr, "INPUTS"))
			yaml_list(out, o->inputs.nr ? &o->inputs : &default_inputs);
		else if (!strcmp(key.ptr, "OUTPUTS"))
			yaml_list(out, o->outputs.nr ? &o->outputs : &default_outputs);
		else if (!strcmp(key.ptr, "SIGNING_WHEN"))
			buf_adds(out, o->signers.nr ? "seal" : "none");
		else if (!strcmp(key.ptr, "SIGNERS"))
			yaml_list(out, &o->signers);
		else if (!strcmp(key.ptr, "QUORUM"))
			buf_adds(out, o->quorum ? o->quorum : o->signers.nr ? "1" : "0");
		else if (!strcmp(key.ptr, "TIMESTAMP_WHEN"))
			buf_adds(out, o->tsa.nr ? "seal" : "none");
		else if (!strcmp(key.ptr, "TSA"))
			yaml_list(out, &o->tsa);
		else if (!strcmp(key.ptr, "CAPTURE"))
			buf_adds(out, capture_default());
		else if (!strcmp(key.ptr, "TSA_CA"))
			buf_adds(out, o->tsa_ca ? "\"" TSA_CA_PATH "\"" : "null");
		else
			buf_add(out, at, (size_t)(close - at + 1));
		buf_release(&key);
		p = close + 1;
	}
	strlist_release(&default_inputs);
	strlist_release(&default_outputs);
}

/* ---- checks before anything changes --------------------------------------- */

static int folder_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 0;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* Absolute form of a path that may not exist yet: resolve its existing part. */
static char *absolute_path(const char *path)
{
	char *copy = xstrdup(path), *resolved = realpath(path, NULL), *parent, *base, *result;

	if (resolved) {
		free(copy);
		return resolved;
	}
	base = xstrdup(basename(copy));
	parent = absolute_path(dirname(copy));
	result = !strcmp(base, ".") ? xstrdup(parent)
		: xstrfmt("%s%s%s", parent, ends_with(parent, "/") ? "" : "/", base);
	free(base);
	free(parent);
	free(copy);
	return result;
}

static char *nearest_existing(const char *path)
{
	char *p = xstrdup(path);
	struct stat st;

	while (lstat(p, &st) < 0) {
		char *slash = strrchr(p, '/');

		if (!slash || slash == p) {
			free(p);
			return xstrdup("/");
		}
		*slash = '\0';
	}
	return p;
}

static char *current_branch(git_repository *repo)
{
	git_reference *head = NULL;
	char *branch = NULL;

	if (!git_reference_lookup(&head, repo, "HEAD") &&
	    git_reference_type(head) == GIT_REFERENCE_SYMBOLIC &&
	    starts_with(git_reference_symbolic_target(head), "refs/heads/"))
		branch = xstrdup(git_reference_symbolic_target(head) + strlen("refs/heads/"));
	git_reference_free(head);
	return branch;
}

static char *default_branch(void)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	char *branch;

	if (!git_config_open_default(&cfg) && !git_config_get_string_buf(&value, cfg, "init.defaultBranch")
	    && *value.ptr)
		branch = xstrdup(value.ptr);
	else
		branch = xstrdup("main");
	git_buf_dispose(&value);
	git_config_free(cfg);
	return branch;
}

static int examine_target(struct target *t, const char *dir)
{
	git_repository *found = NULL;
	char *start, *top = NULL;
	struct stat st;
	int ret = -1;

	t->path = absolute_path(dir);
	if (strlen(t->path) > 1 && ends_with(t->path, "/"))
		t->path[strlen(t->path) - 1] = '\0';
	t->workdir = xstrfmt("%s/", t->path);
	if (!lstat(t->path, &st)) {
		if (!S_ISDIR(st.st_mode)) {
			box_error_set("'%s' exists and is not a folder", t->path);
			return -1;
		}
		t->exists = 1;
	}

	start = nearest_existing(t->path);
	if (git_repository_open_ext(&found, start, 0, getenv("GIT_CEILING_DIRECTORIES")) < 0) {
		free(start);
		git_error_clear();
		if (t->exists && !folder_is_empty(t->path)) {
			box_error_set("'%s' is not empty and is not a git repository", t->path);
			return -1;
		}
		return 0;
	}
	free(start);

	if (git_repository_is_bare(found)) {
		box_error_set("'%s' is inside the bare repository '%s'", t->path, git_repository_path(found));
		goto out;
	}
	top = realpath(git_repository_workdir(found), NULL);
	if (top && t->exists && !strcmp(top, t->path)) {
		struct box probe = BOX_INIT;
		int not_a_box;

		if (!box_open(&probe, found, &not_a_box)) {
			box_error_set("'%s' is already a git box ('%s')", t->path, probe.policy.name);
			box_release(&probe);
			found = NULL;
			goto out;
		}
		probe.repo = NULL;
		box_release(&probe);
		if (!not_a_box)
			goto out;
		t->repo = found;
		found = NULL;
		t->head_branch = current_branch(t->repo);
		if (!t->head_branch) {
			box_error_set("HEAD of '%s' is not on a branch", t->path);
			goto out;
		}
		ret = 0;
		goto out;
	}
	{
		struct box probe = BOX_INIT;
		int not_a_box;

		if (!box_open(&probe, found, &not_a_box))
			box_error_set("'%s' lies inside the git box at '%s'", t->path, top ? top : "?");
		else
			box_error_set("'%s' lies inside the git repository at '%s'; "
				      "run 'git box init' at its top level", t->path, top ? top : "?");
		box_release(&probe);
		found = NULL;
	}
out:
	free(top);
	git_repository_free(found);
	return ret;
}

static int check_sources(const struct target *t, const struct policy *p, const struct strlist *from)
{
	char *dest;
	int ret;

	if (!from->nr)
		return 0;
	if (!ends_with(p->inputs.items[0], "/")) {
		box_error_set("--from copies into the first input, but '%s' is a file, not a folder",
			      p->inputs.items[0]);
		return -1;
	}
	dest = xstrfmt("%s%s", t->workdir, p->inputs.items[0]);
	ret = import_check_sources(from, t->path, dest);
	free(dest);
	return ret;
}

/* A policy that signs every event signs init's: a usable key it lists must be there. */
static int check_signer(const struct target *t, const struct policy *p)
{
	struct sign_ctx *gpg = NULL;
	struct sign_key key = SIGN_KEY_INIT;
	int ret = -1;

	if (sign_open(&gpg, t->repo, NULL) < 0 || sign_find_key(&key, gpg, t->repo) < 0)
		goto out;
	if (*key.fpr && !sign_key_allowed(&p->signers, key.fpr)) {
		box_error_set("the signing key %s is not in the policy's signer list", key.fpr);
		ret = BOX_EREFUSED;
		goto out;
	}
	ret = 0;
out:
	sign_key_release(&key);
	sign_close(gpg);
	return ret;
}

static int check_existing_repo(const struct target *t, const struct policy *p)
{
	struct stat st;
	char *path;

	path = xstrfmt("%s.box", t->workdir);
	if (!lstat(path, &st)) {
		box_error_set("'%s' already exists", path);
		free(path);
		return -1;
	}
	free(path);
	if (strcmp(t->head_branch, p->branch)) {
		box_error_set("the policy's branch is '%s' but HEAD is on '%s'; "
			      "switch to it first (git switch -c %s)", p->branch, t->head_branch, p->branch);
		return -1;
	}
	/* The init commit must hold the box and nothing a person staged by the way. */
	return import_check_index_clean(t->repo);
}
static int copy_sources(struct undo *u, const struct target *t, const struct policy *p,
			const struct strlist *from)
{
	struct progress *progress;
	char *dest;
	int ret;

	if (!from->nr)
		return 0;
	dest = xstrfmt("%s%s", t->workdir, p->inputs.items[0]);
	progress = progress_start("Copying inputs", 0);
	ret = import_copy_sources(&u->files, from, t->workdir, dest, NULL, progress_callback, progress);
	progress_finish(progress);
	free(dest);
	return ret;
}

/* A gitattributes pattern for a box path: glob characters escaped, blanks as '?'. */
static void attribute_pattern(struct buf *out, const char *path)
{
	buf_addch(out, '/');
	for (const char *p = path; *p; p++) {
		if (*p == ' ' || *p == '\t')
			buf_addch(out, '?');
		else if (strchr("*?[\\!#", *p))
			buf_addch(out, '\\'), buf_addch(out, *p);
		else
			buf_addch(out, *p);
	}
	if (ends_with(path, "/"))
		buf_adds(out, "**");
}

static int write_attributes(struct undo *u, const struct target *t, const struct policy *p)
{
	const struct box_template *header = find_template("gitattributes");
	struct buf content = BUF_INIT;
	struct stat st;
	int ret = -1;

	u->attributes_path = xstrfmt("%s.gitattributes", t->workdir);
	if (!lstat(u->attributes_path, &st)) {
		if (!S_ISREG(st.st_mode)) {
			box_error_set("'%s' is not a regular file", u->attributes_path);
			goto out;
		}
		if (buf_read_file(&u->attributes_before, u->attributes_path, 1024 * 1024) < 0)
			goto out;
		u->attributes_existed = 1;
		buf_add(&content, u->attributes_before.ptr, u->attributes_before.len);
		if (content.len && content.ptr[content.len - 1] != '\n')
			buf_addch(&content, '\n');
	}
	buf_add(&content, header->data, header->len);
	for (size_t i = 0; i < p->inputs.nr; i++) {
		attribute_pattern(&content, p->inputs.items[i]);
		buf_adds(&content, " filter=box -text\n");
	}
	buf_adds(&content, "/" POLICY_PATH " filter=box -text\n");
	if (write_file_atomic(u->attributes_path, content.ptr, content.len, 0644) < 0)
		goto out;
	if (!u->attributes_existed)
		strlist_add(&u->files.made, u->attributes_path);
	ret = 0;
out:
	buf_release(&content);
	return ret;
}

static void undo_all(struct undo *u, git_repository *repo)
{
	struct install_report report = INSTALL_REPORT_INIT;

	if (u->installed && repo)
		box_uninstall(repo, &report);
	install_report_release(&report);
	if (u->attributes_existed)
		write_file_atomic(u->attributes_path, u->attributes_before.ptr ? u->attributes_before.ptr : "",
				  u->attributes_before.len, 0644);
	import_undo(&u->files);
	if (u->made_git_dir)
		remove_tree(u->made_git_dir);
	if (u->made_dir)
		remove_tree(u->made_dir);
}

static void undo_release(struct undo *u)
{
	free(u->made_dir);
	free(u->made_git_dir);
	import_undo_release(&u->files);
	free(u->attributes_path);
	buf_release(&u->attributes_before);
}

static int make_commit(git_oid *out, git_repository *repo, const struct policy *p)
{
	git_index *index = NULL;
	git_tree *tree = NULL;
	git_commit *parent = NULL;
	git_signature *author = NULL, *committer = NULL;
	git_oid tree_id, head;
	char *message = NULL;
	int ret = -1;

	if (git_repository_index(&index, repo) < 0) {
		box_error_from_git("cannot read the index");
		goto out;
	}
	if (git_index_add_bypath(index, POLICY_PATH) < 0 ||
	    git_index_add_bypath(index, ".gitattributes") < 0) {
		box_error_from_git("cannot stage the policy");
		goto out;
	}
	if (p->tsa_ca && git_index_add_bypath(index, p->tsa_ca) < 0) {
		box_error_from_git("cannot stage '%s'", p->tsa_ca);
		goto out;
	}
	for (size_t i = 0; i < p->inputs.nr; i++)
		if (import_stage_path(index, git_repository_workdir(repo), p->inputs.items[i]) < 0)
			goto out;
	if (git_index_write_tree(&tree_id, index) < 0 || git_tree_lookup(&tree, repo, &tree_id) < 0) {
		box_error_from_git("cannot write the tree");
		goto out;
	}
	if (!git_reference_name_to_id(&head, repo, "HEAD") && git_commit_lookup(&parent, repo, &head) < 0) {
		box_error_from_git("cannot read HEAD");
		goto out;
	}
	if (repo_signature(&author, repo, 0) < 0 || repo_signature(&committer, repo, 1) < 0)
		goto out;
	message = xstrfmt("Initialize git box '%s'\n\n%s: init\n", p->name, BOX_EVENT_TRAILER);
	/* One ref update, and libgit2 refuses it if HEAD moved under us. */
	if (git_commit_create(out, repo, "HEAD", author, committer, NULL, message, tree,
			      parent ? 1 : 0, (const git_commit **)&parent) < 0) {
		box_error_from_git("cannot commit");
		goto out;
	}
	if (git_index_write(index) < 0) {
		warning("the box is made, but the index could not be written: %s",
			git_error_last() ? git_error_last()->message : "");
		hint("run 'git reset' to refresh it");
	}
	ret = 0;
out:
	free(message);
	git_signature_free(author);
	git_signature_free(committer);
	git_commit_free(parent);
	git_tree_free(tree);
	git_index_free(index);
	return ret;
}

static int build(struct undo *u, struct target *t, const struct policy *p, const struct buf *policy_text,
		 const struct init_options *o, git_oid *commit)
{
	struct install_report report = INSTALL_REPORT_INIT;
	struct strlist conflicts = STRLIST_INIT;
	struct buf path = BUF_INIT, ca = BUF_INIT;
	int ret = -1;

	if (!t->exists) {
		char *top = nearest_existing(t->path);
		size_t skip = strlen(top) + (strcmp(top, "/") ? 1 : 0);

		/* Remember the highest folder we make, to remove it whole on failure. */
		u->made_dir = xstrndup(t->path, skip + strcspn(t->path + skip, "/"));
		free(top);
		if (import_make_dirs(&u->files, "", t->workdir) < 0)
			goto out;
	}
	if (!t->repo) {
		git_repository_init_options opts;

		git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		opts.flags = GIT_REPOSITORY_INIT_NO_REINIT | GIT_REPOSITORY_INIT_MKPATH;
		opts.initial_head = p->branch;
		u->made_git_dir = xstrfmt("%s.git", t->workdir);
		if (git_repository_init_ext(&t->repo, t->path, &opts) < 0) {
			box_error_from_git("cannot create a git repository in '%s'", t->path);
			goto out;
		}
	}

	buf_addf(&path, "%s.box", t->workdir);
	if (import_make_dir(&u->files, path.ptr) < 0)
		goto out;
	buf_reset(&path);
	buf_addf(&path, "%s%s", t->workdir, POLICY_PATH);
	if (import_write_new_file(&u->files, path.ptr, policy_text->ptr, policy_text->len) < 0)
		goto out;
	if (o->tsa_ca) {
		buf_reset(&path);
		buf_addf(&path, "%s%s", t->workdir, p->tsa_ca);
		if (buf_read_file(&ca, o->tsa_ca, 4 * 1024 * 1024) < 0 ||
		    import_make_dirs(&u->files, t->workdir, p->tsa_ca) < 0 ||
		    import_write_new_file(&u->files, path.ptr, ca.ptr, ca.len) < 0)
			goto out;
	}
	if (write_attributes(u, t, p) < 0 || copy_sources(u, t, p, &o->from) < 0)
		goto out;
	for (size_t i = 0; i < p->outputs.nr; i++)
		if (ends_with(p->outputs.items[i], "/") && import_make_dirs(&u->files, t->workdir, p->outputs.items[i]) < 0)
			goto out;

	u->installed = 1;
	if (box_install(t->repo, &report, &conflicts) < 0) {
		for (size_t i = 0; i < conflicts.nr; i++)
			box_error_wrap("%s", conflicts.items[i]);
		goto out;
	}
	ret = make_commit(commit, t->repo, p);
out:
	install_report_release(&report);
	strlist_release(&conflicts);
	buf_release(&path);
	buf_release(&ca);
	return ret;
}

static void report(const struct box *b, const char *path, const struct event_result *r,
		   const struct event_stamp *stamp, int json)
{
	char id[GIT_OID_HEXSZ + 1], manifest[SHA256_HEX_LEN + 1];

	git_oid_tostr(id, sizeof(id), &b->id);
	sha256_hex(manifest, r->payload_sha256);
	if (json) {
		json_t *inputs = json_array(), *outputs = json_array(), *o;

		for (size_t i = 0; i < b->policy.inputs.nr; i++) {
			size_t files;
			uint64_t bytes;

			box_count_path(&files, &bytes, b, &b->tip, b->policy.inputs.items[i]);
			json_array_append_new(inputs, json_pack("{s:s, s:I, s:I}", "path",
				b->policy.inputs.items[i], "files", (json_int_t)files, "bytes", (json_int_t)bytes));
		}
		for (size_t i = 0; i < b->policy.outputs.nr; i++)
			json_array_append_new(outputs, json_string(b->policy.outputs.items[i]));
		o = json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:s}", "name", b->policy.name, "id", id,
			      "path", json_text(path), "branch", b->policy.branch, "inputs", inputs, "outputs", outputs,
			      "state", "CREATED");
		json_object_set_new(o, "manifest_sha256", json_string(manifest));
		json_object_set_new(o, "signed", json_boolean(r->signature.len > 0));
		if (stamp->wanted)
			json_object_set_new(o, "timestamp", event_stamp_json(stamp, "init", &b->id));
		print_json(o);
		json_decref(o);
		return;
	}
	printf_ln("Initialized git box '%s' in %s", b->policy.name, path);
	printf_ln("  id       %s", id);
	printf_ln("  manifest sha256 %s%s", manifest, r->signature.len ? " (signed)" : "");
	printf_ln("  branch   %s", b->policy.branch);
	for (size_t i = 0; i < b->policy.inputs.nr; i++) {
		size_t files = 0;
		uint64_t bytes = 0;

		box_count_path(&files, &bytes, b, &b->tip, b->policy.inputs.items[i]);
		printf_ln("  %-8s %s (%zu file%s, read-only)", i ? "" : "inputs", b->policy.inputs.items[i],
			  files, files == 1 ? "" : "s");
	}
	for (size_t i = 0; i < b->policy.outputs.nr; i++)
		printf_ln("  %-8s %s", i ? "" : "outputs", b->policy.outputs.items[i]);
	fflush(stdout);
	event_stamp_print(stamp, "init", &b->id);
	printf_ln("next: add your code and commit; 'git box status' shows where the box stands");
}

static int parse_init_options(struct init_options *o, int argc, char **argv, int *exit_code)
{
	static const struct option options[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "from", required_argument, NULL, 'f' },
		{ "branch", required_argument, NULL, 'b' },
		{ "policy", required_argument, NULL, 'p' },
		{ "signer", required_argument, NULL, 's' },
		{ "quorum", required_argument, NULL, 'q' },
		{ "tsa", required_argument, NULL, 't' },
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = parse_options(argc, argv, "h", options, &usage, exit_code)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return -1;
		case 'n': o->name = optarg; break;
		case 'i': strlist_add(&o->inputs, optarg); break;
		case 'o': strlist_add(&o->outputs, optarg); break;
		case 'f': strlist_add(&o->from, optarg); break;
		case 'b': o->branch = optarg; break;
		case 'p': o->policy_file = optarg; break;
		case 's': strlist_add(&o->signers, optarg); break;
		case 'q': o->quorum = optarg; break;
		case 't': strlist_add(&o->tsa, optarg); break;
		case 'c': o->tsa_ca = optarg; break;
		case 'j': o->json = 1; break;
		}
	}
	if (optind < argc)
		o->dir = argv[optind++];
	if (optind < argc) {
		*exit_code = usage_error(&usage, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->policy_file && (o->name || o->branch || o->inputs.nr || o->outputs.nr || o->signers.nr ||
			       o->quorum || o->tsa.nr)) {
		*exit_code = usage_error(&usage, "--policy gives the whole policy; it does not mix with "
					 "--name, --input, --output, --branch, --signer, --quorum or --tsa");
		return -1;
	}
	if (o->quorum && strspn(o->quorum, "0123456789") != strlen(o->quorum)) {
		*exit_code = usage_error(&usage, "--quorum takes a whole number, not '%s'", o->quorum);
		return -1;
	}
	for (size_t i = 0; i < o->tsa.nr; i++) {
		if (http_url_check(o->tsa.items[i]) < 0) {
			*exit_code = error("--tsa: %s", box_error_last());
			if (http_url_has_credentials(o->tsa.items[i]))
				hint(HTTP_CREDENTIALS_HINT);
			return -1;
		}
	}
	return 0;
}

int cmd_init(int argc, char **argv)
{
	struct init_options o = { 0 };
	struct target t = { 0 };
	struct undo u = { 0 };
	struct policy policy = POLICY_INIT;
	struct buf text = BUF_INIT;
	struct box box = BOX_INIT;
	struct event_record_options record = { NULL, NULL, NULL, HASH_OPTIONS_INIT };
	struct event_result manifest = EVENT_RESULT_INIT;
	struct event_stamp stamp = EVENT_STAMP_INIT;
	git_oid commit;
	int ret = BOX_ERROR, not_a_box, err;

	if (parse_init_options(&o, argc, argv, &ret) < 0)
		goto out;
	if (examine_target(&t, o.dir ? o.dir : ".") < 0) {
		error_last(NULL);
		goto out;
	}

	if (o.policy_file) {
		if (buf_read_file(&text, o.policy_file, 1024 * 1024) < 0 ||
		    policy_parse(&policy, o.policy_file, text.ptr ? text.ptr : "", text.len) < 0) {
			error_last(NULL);
			goto out;
		}
	} else {
		char *copy = xstrdup(t.path);
		char *branch = o.branch ? xstrdup(o.branch)
			: t.head_branch ? xstrdup(t.head_branch) : default_branch();

		fill_policy_template(&text, &o, o.name ? o.name : basename(copy), branch);
		free(branch);
		free(copy);
		if (policy_parse(&policy, "the options", text.ptr, text.len) < 0) {
			error("invalid policy from the options: %s", box_error_last());
			goto out;
		}
	}
	if (policy_check_capture(&policy) < 0) {
		error("%s", box_error_last());
		hint("name built-in probes only; a command of your own goes in your own "
		     "configuration, which is never committed: git config --add " ENVIRONMENT_CONFIG_KEY
		     " '<command>'");
		goto out;
	}
	if (policy.tsa_ca && !o.tsa_ca) {
		char *ca = xstrfmt("%s%s", t.workdir, policy.tsa_ca);
		int present = !access(ca, R_OK);

		free(ca);
		if (!present) {
			error("the policy names the TSA certificates '%s'; give them with --tsa-ca FILE",
			      policy.tsa_ca);
			goto out;
		}
	}
	if (o.tsa_ca && access(o.tsa_ca, R_OK) < 0) {
		error("cannot read '%s': %s", o.tsa_ca, strerror(errno));
		goto out;
	}
	if (o.tsa_ca && !policy.tsa_ca) {
		error("--tsa-ca is given but the policy names no 'timestamp.ca' path");
		goto out;
	}
	if ((t.repo && check_existing_repo(&t, &policy) < 0) || check_sources(&t, &policy, &o.from) < 0) {
		error_last(NULL);
		goto out;
	}

	if (policy.signing_when == SIGNING_EVERY_COMMIT && (err = check_signer(&t, &policy)) < 0) {
		ret = box_exit_code(err);
		error("the policy signs every event, the init manifest too: %s", box_error_last());
		hint("nothing was changed");
		goto out;
	}

	/* From here on, every change is logged and a failure takes them all back. */
	if (build(&u, &t, &policy, &text, &o, &commit) < 0) {
		error_last(NULL);
		undo_all(&u, t.repo);
		hint("nothing was changed; fix the cause above and run 'git box init' again");
		goto out;
	}

	if (box_open(&box, t.repo, &not_a_box) < 0) {
		t.repo = NULL;
		error_last("the box was made but cannot be read back");
		goto out;
	}
	t.repo = NULL;
	if (box_record_id(box.repo, &box.id) < 0) {
		warning("%s", box_error_last());
		hint("run 'git box install' to record it");
	}
	{
		size_t tightened;

		if (box_make_inputs_readonly(&box, &tightened) < 0) {
			warning("%s", box_error_last());
			hint("run 'git box install' to make the inputs read-only");
		}
	}
	if ((err = event_record(&manifest, &box, &box.id, &record)) < 0) {
		ret = box_exit_code(err);
		error("the box is made, but its init manifest was not written: %s", box_error_last());
		hint("write it with 'git box checkpoint %s'", git_oid_tostr_s(&box.id));
		goto out;
	}
	event_stamp_run(&stamp, &box, &box.id, "init", &manifest.payload, 0);
	report(&box, t.path, &manifest, &stamp, o.json);
	ret = finish_stdout() ? BOX_ERROR : event_stamp_exit_code(&stamp);
out:
	event_stamp_release(&stamp);
	event_result_release(&manifest);
	if (box.repo)
		box_release(&box);
	git_repository_free(t.repo);
	free(t.path);
	free(t.workdir);
	free(t.head_branch);
	undo_release(&u);
	policy_release(&policy);
	buf_release(&text);
	strlist_release(&o.inputs);
	strlist_release(&o.outputs);
	strlist_release(&o.from);
	strlist_release(&o.signers);
	strlist_release(&o.tsa);
	return ret;
}

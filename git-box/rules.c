#include "rules.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "repo.h"
#include "util.h"
#include "banned.h"

void violations_add(struct violations *v, const git_oid *commit, const char *ref,
		    const char *path, size_t line, const char *rule, const char *fmt, ...)
{
	struct violation *x;
	struct buf detail = BUF_INIT;
	va_list ap;

	if (v->nr == v->alloc) {
		v->alloc = v->alloc ? 2 * v->alloc : 8;
		v->items = xrealloc(v->items, v->alloc * sizeof(*v->items));
	}
	x = &v->items[v->nr++];
	memset(x, 0, sizeof(*x));
	if (commit)
		git_oid_cpy(&x->commit, commit);
	x->ref = ref ? xstrdup(ref) : NULL;
	x->path = path ? xstrdup(path) : NULL;
	x->line = line;
	x->rule = xstrdup(rule);
	va_start(ap, fmt);
	buf_vaddf(&detail, fmt, ap);
	va_end(ap);
	x->detail = buf_detach(&detail);
}

const char *rules_protected_name(const char *path)
{
	return !strcmp(path, POLICY_PATH) ? RULE_READ_ONLY_POLICY : RULE_READ_ONLY_INPUT;
}

void violations_release(struct violations *v)
{
	for (size_t i = 0; i < v->nr; i++) {
		free(v->items[i].ref);
		free(v->items[i].path);
		free(v->items[i].rule);
		free(v->items[i].detail);
	}
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* ---- forbid_paths ------------------------------------------------------ */

struct segments {
	const char **start;   /* each segment's first byte */
	size_t *len;
	size_t nr;
};

static void split(struct segments *s, const char *text)
{
	size_t n = 1;

	for (const char *p = text; *p; p++)
		n += *p == '/';
	s->start = xcalloc(n, sizeof(*s->start));
	s->len = xcalloc(n, sizeof(*s->len));
	s->nr = 0;
	for (const char *p = text;;) {
		const char *slash = strchrnul(p, '/');

		if (slash > p) {
			s->start[s->nr] = p;
			s->len[s->nr++] = (size_t)(slash - p);
		}
		if (!*slash)
			break;
		p = slash + 1;
	}
}

static void segments_release(struct segments *s)
{
	free(s->start);
	free(s->len);
}

static int is_globstar(const struct segments *s, size_t i)
{
	return s->len[i] == 2 && !memcmp(s->start[i], "**", 2);
}

/* One folder or file name against one pattern segment, with fnmatch(3). */
static int segment_match(const struct segments *pat, size_t i, const struct segments *path, size_t j)
{
	char p[256], n[256];
	struct buf pb = BUF_INIT, nb = BUF_INIT;
	const char *ps = p, *ns = n;
	int match;

	if (pat->len[i] < sizeof(p) && path->len[j] < sizeof(n)) {
		memcpy(p, pat->start[i], pat->len[i]);
		p[pat->len[i]] = '\0';
		memcpy(n, path->start[j], path->len[j]);
		n[path->len[j]] = '\0';
	} else {
		buf_add(&pb, pat->start[i], pat->len[i]);
		buf_add(&nb, path->start[j], path->len[j]);
		ps = pb.ptr;
		ns = nb.ptr;
	}
	match = !fnmatch(ps, ns, 0);
	buf_release(&pb);
	buf_release(&nb);
	return match;
}

static int match_from(const struct segments *pat, size_t i, const struct segments *path, size_t j)
{
	for (; i < pat->nr; i++, j++) {
		if (is_globstar(pat, i)) {
			/* at the end: one or more names; inside: zero or more folders */
			if (i + 1 == pat->nr)
				return j < path->nr;
			for (size_t k = j; k <= path->nr; k++)
				if (match_from(pat, i + 1, path, k))
					return 1;
			return 0;
		}
		if (j == path->nr || !segment_match(pat, i, path, j))
			return 0;
	}
	return j == path->nr;
}

int rules_glob_match(const char *pattern, const char *path)
{
	struct segments pat, p;
	char *full = NULL;
	int match;

	/* a folder pattern covers everything in it, as if it ended in ** */
	if (*pattern && pattern[strlen(pattern) - 1] == '/')
		pattern = full = xstrfmt("%s**", pattern);
	split(&pat, pattern);
	split(&p, path);
	match = pat.nr && match_from(&pat, 0, &p, 0);
	segments_release(&pat);
	segments_release(&p);
	free(full);
	return match;
}

/* ---- forbid_content ---------------------------------------------------- */

struct scan {
	struct violations *out;
	const struct policy *p;
	const git_oid *commit;
	const char *path;
	struct buf line;
};

static int scan_line(const git_diff_delta *delta, const git_diff_hunk *hunk,
		     const git_diff_line *l, void *data)
{
	struct scan *s = data;

	(void)delta;
	(void)hunk;
	if (l->origin != GIT_DIFF_LINE_ADDITION)
		return 0;
	buf_reset(&s->line);
	buf_add(&s->line, l->content, l->content_len);
	/* the line without its end, as a person reads it; a NUL ends it for regexec */
	while (s->line.len && (s->line.ptr[s->line.len - 1] == '\n' || s->line.ptr[s->line.len - 1] == '\r'))
		s->line.ptr[--s->line.len] = '\0';
	for (size_t i = 0; i < s->p->forbid_content_nr; i++) {
		const struct content_rule *r = &s->p->forbid_content[i];

		if (!regexec(&r->regex, s->line.ptr, 0, NULL, 0))
			violations_add(s->out, s->commit, NULL, s->path, (size_t)l->new_lineno,
				       "forbid_content", "an added line matches '%s'", r->name);
	}
	return 0;
}

static int scan_content(struct violations *out, git_repository *repo, const struct policy *p,
			const struct change *c, const git_oid *commit)
{
	git_blob *old = NULL, *new = NULL;
	git_diff_options opts;
	struct scan s = { out, p, commit, c->path, BUF_INIT };
	int ret = -1;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (git_blob_lookup(&new, repo, &c->new_id) < 0 ||
	    ((c->old_mode & 0170000) == 0100000 && git_blob_lookup(&old, repo, &c->old_id) < 0)) {
		box_error_from_git("cannot read '%s'", c->path);
		goto out;
	}
	opts.context_lines = 0;
	opts.interhunk_lines = 0;
	opts.max_size = RULES_TEXT_MAX;
	if (git_diff_blobs(old, NULL, new, NULL, &opts, NULL, NULL, NULL, scan_line, &s) < 0) {
		box_error_from_git("cannot compare '%s' with what it was", c->path);
		goto out;
	}
	ret = 0;
out:
	buf_release(&s.line);
	git_blob_free(old);
	git_blob_free(new);
	return ret;
}

/* ---- every rule on every change ------------------------------------------ */

/* "1025 bytes (1.0 KiB)": exact, and readable when large */
static void format_size(char *out, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;
	double v = (double)bytes;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (!u)
		snprintf(out, len, "%" PRIu64 " bytes", bytes);
	else
		snprintf(out, len, "%" PRIu64 " bytes (%.1f %s)", bytes, v, units[u]);
}

int rules_check_changes(struct violations *out, git_repository *repo, const struct policy *p,
			const struct changes *changes, const git_oid *commit)
{
	git_odb *odb = NULL;
	int ret = -1;

	if (git_repository_odb(&odb, repo) < 0) {
		box_error_from_git("cannot open the object database");
		return -1;
	}
	for (size_t i = 0; i < changes->nr; i++) {
		const struct change *c = &changes->items[i];
		uint32_t type = c->new_mode & 0170000;
		size_t size = 0;
		git_object_t otype;

		if (!c->new_mode || policy_is_protected(p, c->path))
			continue;
		for (size_t k = 0; k < p->forbid_paths.nr; k++) {
			if (rules_glob_match(p->forbid_paths.items[k], c->path)) {
				violations_add(out, commit, NULL, c->path, 0, "forbid_paths",
					       "matches '%s'", p->forbid_paths.items[k]);
				break;
			}
		}
		if (type != 0100000 && type != 0120000)
			continue;   /* a submodule: no blob here */
		if (git_odb_read_header(&size, &otype, odb, &c->new_id) < 0) {
			box_error_from_git("cannot read '%s'", c->path);
			goto out;
		}
		if (p->max_file_size && size > p->max_file_size) {
			char have[64], limit[64];

			format_size(have, sizeof(have), size);
			format_size(limit, sizeof(limit), p->max_file_size);
			violations_add(out, commit, NULL, c->path, 0, "max_file_size",
				       "%s, over the limit of %s", have, limit);
			continue;
		}
		if (type == 0100000 && p->forbid_content_nr && size <= RULES_TEXT_MAX &&
		    scan_content(out, repo, p, c, commit) < 0)
			goto out;
	}
	ret = 0;
out:
	git_odb_free(odb);
	return ret;
}

void rules_check_message(struct violations *out, const struct policy *p, const char *message,
			 const git_oid *commit)
{
	for (size_t i = 0; i < p->require_trailers.nr; i++) {
		const char *key = p->require_trailers.items[i];
		char *value = commit_trailer(message, key);

		if (!value || !*value)
			violations_add(out, commit, NULL, NULL, 0, "require_trailers",
				       "the message has no '%s:' trailer", key);
		free(value);
	}
}

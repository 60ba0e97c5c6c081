#include "manifest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "banned.h"

#define DUMP_FLAGS (JSON_SORT_KEYS | JSON_INDENT(2))

static const char *const events[] = { "init", "import", "checkpoint", "seal", NULL };

/* Every key of a v1 manifest; all are required. */
static const char *const manifest_keys[] = {
	"box", "code", "commit", "environment", "event", "inputs", "message", "name",
	"outputs", "policy", "previous", "schema", "time", "tree", NULL,
};

static const char *const file_keys[] = { "mode", "sha256", "size", NULL };

int manifest_event_valid(const char *event)
{
	for (size_t i = 0; events[i]; i++)
		if (!strcmp(events[i], event))
			return 1;
	return 0;
}

void manifest_format_time(char *out, int64_t seconds)
{
	time_t t = (time_t)seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, MANIFEST_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int manifest_path_valid(const char *path)
{
	const char *p = path;

	if (!*path || *path == '/')
		return 0;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && !strncmp(p, "..", 2)) ||
		    (len == 4 && !strncasecmp(p, ".git", 4)))
			return 0;
		p += len;
		if (*p == '/' && !*++p)
			return 0;   /* a trailing '/' */
	}
	return 1;
}

static const char *mode_name(unsigned int mode)
{
	switch (mode) {
	case 0100755:
		return "100755";
	case 0120000:
		return "120000";
	default:
		return "100644";
	}
}

static int mode_from_name(unsigned int *mode, const char *name)
{
	if (!strcmp(name, "100644"))
		*mode = 0100644;
	else if (!strcmp(name, "100755"))
		*mode = 0100755;
	else if (!strcmp(name, "120000"))
		*mode = 0120000;
	else
		return -1;
	return 0;
}

static struct manifest_file *files_add(struct manifest_files *f)
{
	if (f->nr == f->alloc) {
		f->alloc = f->alloc ? f->alloc * 2 : 64;
		f->items = xrealloc(f->items, f->alloc * sizeof(*f->items));
	}
	memset(&f->items[f->nr], 0, sizeof(f->items[0]));
	return &f->items[f->nr++];
}

static void files_release(struct manifest_files *f)
{
	for (size_t i = 0; i < f->nr; i++)
		free(f->items[i].path);
	free(f->items);
	memset(f, 0, sizeof(*f));
}

static int compare_files(const void *a, const void *b)
{
	return strcmp(((const struct manifest_file *)a)->path, ((const struct manifest_file *)b)->path);
}

static void sort_files(struct manifest_files *f)
{
	if (f->nr > 1)
		qsort(f->items, f->nr, sizeof(*f->items), compare_files);
}

int manifest_set_files(struct manifest *m, const struct hash_files *files, const struct policy *policy)
{
	int have_policy = 0;

	for (size_t i = 0; i < files->nr; i++) {
		const struct hash_file *h = &files->items[i];
		struct manifest_files *class = policy_is_input(policy, h->path) ? &m->inputs
			: policy_is_output(policy, h->path) ? &m->outputs : &m->code;
		json_t *probe = json_string(h->path);
		struct manifest_file *f;

		if (!probe) {
			struct buf q = BUF_INIT;

			/* Every byte outside printable ASCII as \xNN: the name cannot be shown as text. */
			for (const unsigned char *p = (const unsigned char *)h->path; *p; p++)
				if (*p < 0x20 || *p >= 0x7f)
					buf_addf(&q, "\\x%02x", *p);
				else
					buf_addch(&q, (char)*p);
			box_error_set("the path '%s' is not valid UTF-8; manifests record path names "
				      "as UTF-8 JSON: rename it", q.ptr);
			buf_release(&q);
			return BOX_EREFUSED;
		}
		json_decref(probe);
		if (!manifest_path_valid(h->path)) {
			box_error_set("the path '%s' cannot be recorded in a manifest", h->path);
			return BOX_EREFUSED;
		}
		f = files_add(class);
		f->path = xstrdup(h->path);
		memcpy(f->sha256, h->sha256, SHA256_LEN);
		f->size = h->size;
		f->mode = h->mode;
		if (!strcmp(h->path, POLICY_PATH) && h->mode != 0120000) {
			memcpy(m->policy, h->sha256, SHA256_LEN);
			have_policy = 1;
		}
	}
	if (!have_policy) {
		box_error_set("the commit has no '%s'", POLICY_PATH);
		return BOX_EREFUSED;
	}
	sort_files(&m->inputs);
	sort_files(&m->outputs);
	sort_files(&m->code);
	return 0;
}

/* ---- writing -------------------------------------------------------------- */

static json_t *files_json(const struct manifest_files *f)
{
	json_t *o = json_object();
	char hex[SHA256_HEX_LEN + 1];

	for (size_t i = 0; i < f->nr; i++) {
		sha256_hex(hex, f->items[i].sha256);
		if (json_object_set_new(o, f->items[i].path,
					json_pack("{s:s, s:s, s:I}", "mode", mode_name(f->items[i].mode),
						  "sha256", hex, "size", (json_int_t)f->items[i].size)) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

static int dump_to_buf(const char *data, size_t len, void *payload)
{
	buf_add(payload, data, len);
	return 0;
}

static int dump_canonical(struct buf *out, const json_t *root)
{
	size_t start = out->len;

	if (json_dump_callback(root, dump_to_buf, out, DUMP_FLAGS) < 0) {
		out->len = start;
		box_error_set("cannot write the manifest as JSON");
		return -1;
	}
	buf_addch(out, '\n');
	return 0;
}

int manifest_payload(struct buf *out, const struct manifest *m)
{
	char box[GIT_OID_HEXSZ + 1], commit[GIT_OID_HEXSZ + 1], tree[GIT_OID_HEXSZ + 1];
	char previous[SHA256_HEX_LEN + 1], policy[SHA256_HEX_LEN + 1];
	json_t *root, *inputs, *outputs, *code;
	int ret = -1;

	inputs = files_json(&m->inputs);
	outputs = files_json(&m->outputs);
	code = files_json(&m->code);
	git_oid_tostr(box, sizeof(box), &m->box);
	git_oid_tostr(commit, sizeof(commit), &m->commit);
	git_oid_tostr(tree, sizeof(tree), &m->tree);
	sha256_hex(previous, m->previous);
	sha256_hex(policy, m->policy);
	root = json_object();
	if (!inputs || !outputs || !code || !m->environment ||
	    json_object_set_new(root, "schema", json_string(MANIFEST_SCHEMA)) ||
	    json_object_set_new(root, "event", json_string(m->event)) ||
	    json_object_set_new(root, "name", json_string(m->name)) ||
	    json_object_set_new(root, "box", json_string(box)) ||
	    json_object_set_new(root, "commit", json_string(commit)) ||
	    json_object_set_new(root, "tree", json_string(tree)) ||
	    json_object_set_new(root, "previous", m->has_previous ? json_string(previous) : json_null()) ||
	    json_object_set_new(root, "time", json_string(m->time)) ||
	    json_object_set_new(root, "message", m->message ? json_string(m->message) : json_null()) ||
	    json_object_set_new(root, "policy", json_string(policy)) ||
	    json_object_set(root, "environment", m->environment)) {
		box_error_set("cannot build the manifest: a value is not valid UTF-8");
		json_decref(inputs);
		json_decref(outputs);
		json_decref(code);
		goto out;
	}
	json_object_set_new(root, "inputs", inputs);
	json_object_set_new(root, "outputs", outputs);
	json_object_set_new(root, "code", code);
	ret = dump_canonical(out, root);
out:
	json_decref(root);
	return ret;
}

/* ---- reading -------------------------------------------------------------- */

static int in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

/* Exactly the keys of `list`, each once. */
static int check_keys(const json_t *o, const char *const *list, const char *where)
{
	const char *key;
	json_t *value;
	size_t n = 0;

	json_object_foreach((json_t *)o, key, value) {
		if (!in_list(list, key)) {
			box_error_set("%s has an unknown key '%s'", where, key);
			return -1;
		}
	}
	for (; list[n]; n++) {
		if (!json_object_get(o, list[n])) {
			box_error_set("%s has no '%s'", where, list[n]);
			return -1;
		}
	}
	return 0;
}

static const char *get_string(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v)) {
		box_error_set("'%s' is not a string", key);
		return NULL;
	}
	return json_string_value(v);
}

static int is_lower_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int get_oid(git_oid *out, const json_t *o, const char *key)
{
	const char *s = get_string(o, key);

	if (!s)
		return -1;
	if (!is_lower_hex(s, GIT_OID_HEXSZ) || git_oid_fromstr(out, s) < 0) {
		box_error_set("'%s' is not an object id of 40 lower-case hex digits", key);
		return -1;
	}
	return 0;
}

static int get_digest(unsigned char *out, const char *s, const char *what)
{
	if (!is_lower_hex(s, SHA256_HEX_LEN) || sha256_from_hex(out, s) < 0) {
		box_error_set("%s is not a SHA-256 of 64 lower-case hex digits", what);
		return -1;
	}
	return 0;
}

static int valid_time(const char *s)
{
	struct tm tm = { 0 };
	char again[MANIFEST_TIME_LEN + 1];
	const char *end;

	if (strlen(s) != MANIFEST_TIME_LEN)
		return 0;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return 0;
	manifest_format_time(again, (int64_t)timegm(&tm));
	return !strcmp(again, s);
}

int64_t manifest_time_seconds(const struct manifest *m)
{
	struct tm tm = { 0 };

	if (!valid_time(m->time) || !strptime(m->time, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static int parse_files(struct manifest_files *out, const json_t *o, const char *class)
{
	const char *path;
	json_t *entry;

	if (!json_is_object(o)) {
		box_error_set("'%s' is not an object of files", class);
		return -1;
	}
	json_object_foreach((json_t *)o, path, entry) {
		struct manifest_file *f;
		const char *mode, *hex;
		json_t *size;
		char where[64];

		if (!manifest_path_valid(path)) {
			box_error_set("'%s' has the path '%s', which is absolute or has an empty, "
				      "'.', '..' or '.git' part", class, path);
			return -1;
		}
		snprintf(where, sizeof(where), "a file of '%s'", class);
		if (!json_is_object(entry)) {
			box_error_set("'%s' in '%s' is not an object", path, class);
			return -1;
		}
		if (check_keys(entry, file_keys, where) < 0)
			return -1;
		mode = get_string(entry, "mode");
		hex = mode ? get_string(entry, "sha256") : NULL;
		size = json_object_get(entry, "size");
		f = files_add(out);
		f->path = xstrdup(path);
		if (!hex)
			return -1;
		if (mode_from_name(&f->mode, mode) < 0) {
			box_error_set("'%s' has the mode '%s'; a manifest knows 100644, 100755 and 120000",
				      path, mode);
			return -1;
		}
		if (get_digest(f->sha256, hex, "the 'sha256' of a file") < 0) {
			box_error_wrap("'%s'", path);
			return -1;
		}
		if (!json_is_integer(size) || json_integer_value(size) < 0) {
			box_error_set("'%s' has a 'size' that is not a whole number of bytes", path);
			return -1;
		}
		f->size = (uint64_t)json_integer_value(size);
	}
	sort_files(out);
	return 0;
}

/* No path may be in two classes. The lists are sorted, so walk them together. */
static int check_disjoint(const struct manifest *m)
{
	const struct manifest_files *lists[] = { &m->inputs, &m->outputs, &m->code };

	for (int a = 0; a < 3; a++) {
		for (int b = a + 1; b < 3; b++) {
			size_t i = 0, j = 0;

			while (i < lists[a]->nr && j < lists[b]->nr) {
				int c = strcmp(lists[a]->items[i].path, lists[b]->items[j].path);

				if (!c) {
					box_error_set("the path '%s' is listed twice", lists[a]->items[i].path);
					return -1;
				}
				if (c < 0)
					i++;
				else
					j++;
			}
		}
	}
	return 0;
}

static int parse_root(struct manifest *m, const json_t *root, int full)
{
	const char *s;
	const json_t *v;

	if (!json_is_object(root)) {
		box_error_set("it is not a JSON object");
		return -1;
	}
	v = json_object_get(root, "schema");
	if (json_is_string(v) && strcmp(json_string_value(v), MANIFEST_SCHEMA)) {
		box_error_set("unknown schema '%s'; this git box reads '%s'",
			      json_string_value(v), MANIFEST_SCHEMA);
		return -1;
	}
	if (check_keys(root, manifest_keys, "the manifest") < 0 || !(s = get_string(root, "schema")))
		return -1;
	if (!(s = get_string(root, "event")))
		return -1;
	if (!manifest_event_valid(s)) {
		box_error_set("unknown event '%s'", s);
		return -1;
	}
	m->event = xstrdup(s);
	if (!(s = get_string(root, "name")))
		return -1;
	if (!*s) {
		box_error_set("'name' is empty");
		return -1;
	}
	m->name = xstrdup(s);
	if (get_oid(&m->box, root, "box") < 0 || get_oid(&m->commit, root, "commit") < 0 ||
	    get_oid(&m->tree, root, "tree") < 0)
		return -1;

	v = json_object_get(root, "previous");
	if (!json_is_null(v)) {
		if (!json_is_string(v)) {
			box_error_set("'previous' is neither null nor a SHA-256");
			return -1;
		}
		if (get_digest(m->previous, json_string_value(v), "'previous'") < 0)
			return -1;
		m->has_previous = 1;
	}
	if (!strcmp(m->event, "init") && m->has_previous) {
		box_error_set("an init event has a 'previous'");
		return -1;
	}
	if (strcmp(m->event, "init") && !m->has_previous) {
		box_error_set("a '%s' event has no 'previous'", m->event);
		return -1;
	}
	if (!strcmp(m->event, "init") && !git_oid_equal(&m->box, &m->commit)) {
		box_error_set("an init event's 'box' is not its 'commit'");
		return -1;
	}

	if (!(s = get_string(root, "time")))
		return -1;
	if (!valid_time(s)) {
		box_error_set("'time' is not UTC in the form 2026-11-22T15:00:00Z");
		return -1;
	}
	memcpy(m->time, s, MANIFEST_TIME_LEN + 1);

	v = json_object_get(root, "message");
	if (!json_is_null(v)) {
		if (!json_is_string(v)) {
			box_error_set("'message' is neither null nor a string");
			return -1;
		}
		m->message = xstrdup(json_string_value(v));
	}
	if (!(s = get_string(root, "policy")) || get_digest(m->policy, s, "'policy'") < 0)
		return -1;
	if (!full) {
		static const char *const classes[] = { "inputs", "outputs", "code" };

		for (size_t i = 0; i < ARRAY_SIZE(classes); i++) {
			if (!json_is_object(json_object_get(root, classes[i]))) {
				box_error_set("'%s' is not an object of files", classes[i]);
				return -1;
			}
		}
	} else if (parse_files(&m->inputs, json_object_get(root, "inputs"), "inputs") < 0 ||
		   parse_files(&m->outputs, json_object_get(root, "outputs"), "outputs") < 0 ||
		   parse_files(&m->code, json_object_get(root, "code"), "code") < 0 ||
		   check_disjoint(m) < 0) {
		return -1;
	}
	v = json_object_get(root, "environment");
	if (!json_is_object(v)) {
		box_error_set("'environment' is not an object");
		return -1;
	}
	m->environment = json_incref((json_t *)v);
	return 0;
}

static int parse(struct manifest *out, const char *payload, size_t len, int full)
{
	json_error_t err;
	json_t *root;
	struct buf again = BUF_INIT;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		box_error_set("not a manifest: line %d, column %d: %s", err.line, err.column, err.text);
		return -1;
	}
	if (parse_root(out, root, full) < 0) {
		box_error_wrap("not a manifest");
		goto out;
	}
	/* One manifest, one byte sequence: anything but the canonical form is refused. */
	if (full && (dump_canonical(&again, root) < 0 || again.len != len || memcmp(again.ptr, payload, len))) {
		box_error_set("not a manifest: the payload is not in canonical form "
			      "(sorted keys, two-space indentation, one final newline)");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		manifest_release(out);
	buf_release(&again);
	json_decref(root);
	return ret;
}

int manifest_parse(struct manifest *out, const char *payload, size_t len)
{
	return parse(out, payload, len, 1);
}

int manifest_parse_header(struct manifest *out, const char *payload, size_t len)
{
	return parse(out, payload, len, 0);
}

const struct manifest_file *manifest_file_at(const struct manifest *m, size_t i, const char **class)
{
	const struct manifest_files *lists[] = { &m->inputs, &m->outputs, &m->code };
	static const char *const names[] = { "inputs", "outputs", "code" };

	for (int l = 0; l < 3; l++) {
		if (i < lists[l]->nr) {
			if (class)
				*class = names[l];
			return &lists[l]->items[i];
		}
		i -= lists[l]->nr;
	}
	return NULL;
}

void manifest_release(struct manifest *m)
{
	free(m->event);
	free(m->name);
	free(m->message);
	files_release(&m->inputs);
	files_release(&m->outputs);
	files_release(&m->code);
	json_decref(m->environment);
	memset(m, 0, sizeof(*m));
}

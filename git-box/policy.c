#include "policy.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <yaml.h>

#include "environment.h"
#include "http.h"
#include "banned.h"

/*
 * The policy is read with libyaml's document API so that every node keeps
 * the line and column it came from. YAML is generous in ways a security
 * policy must not be: implicit typing, anchors that make one node appear
 * in two places, tags that change what a value means, several documents in
 * one file. We accept a small strict subset and say exactly where anything
 * else is.
 */

/*
 * Anchors, aliases and tags as the scanner saw them. The loader resolves
 * them away (an alias becomes a second reference to the same node, a
 * "!!str" tag looks like no tag at all), so we find them in the token
 * stream and match them to nodes by the offset they start at.
 */
struct yaml_property {
	size_t index;
	yaml_mark_t mark;
	int is_tag;
	char *text;
};

/*
 * Where things were in the document, so that policy_validate() can point
 * at the offending node. All NULL when validating a policy built in code.
 */
struct where {
	const char *origin;
	int parsed;
	const yaml_node_t **inputs;
	const yaml_node_t **outputs;
	const yaml_node_t *signing_when, *signers, *quorum;
	const yaml_node_t *timestamp_when, *tsa;
};

struct parse_state {
	const char *origin;
	struct policy *p;
	yaml_document_t doc;
	unsigned char *visited;
	struct yaml_property *props;
	size_t props_nr, props_alloc;
	struct buf path;     /* key path of the node being read */
	struct buf quoted;   /* scratch for quote_for_message() */
	struct buf desc;     /* scratch for describe() */
	struct where where;
	int have_quorum;
	/* Signers and rule names seen so far: a hash each, so a long list costs linear time. */
	json_t *signers_seen, *rules_seen;
};

static const char *const signing_names[] = {
	[SIGNING_NONE] = "none",
	[SIGNING_SEAL] = "seal",
	[SIGNING_EVERY_COMMIT] = "every-commit",
};

static const char *const timestamp_names[] = {
	[TIMESTAMP_NONE] = "none",
	[TIMESTAMP_SEAL] = "seal",
	[TIMESTAMP_EVERY_EVENT] = "every-event",
};

const char *signing_when_name(enum signing_when w)
{
	if ((unsigned)w >= ARRAY_SIZE(signing_names))
		return "unknown";
	return signing_names[w];
}

const char *timestamp_when_name(enum timestamp_when w)
{
	if ((unsigned)w >= ARRAY_SIZE(timestamp_names))
		return "unknown";
	return timestamp_names[w];
}

/* ---- messages ---------------------------------------------------------- */

static void vformat(struct buf *msg, const char *origin, const yaml_mark_t *mark,
		    const char *key, const char *fmt, va_list ap)
{
	buf_adds(msg, origin);
	if (mark)
		buf_addf(msg, ":%zu:%zu", mark->line + 1, mark->column + 1);
	buf_adds(msg, ": ");
	if (key && *key)
		buf_addf(msg, "%s: ", key);
	buf_vaddf(msg, fmt, ap);
}

static void vfail(const char *origin, const yaml_mark_t *mark, const char *key,
		  const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;

	vformat(&msg, origin, mark, key, fmt, ap);
	box_error_set("%s", msg.ptr);
	buf_release(&msg);
}

/* A message in fail_at()'s form, kept for later instead of failing now. */
__attribute__((format(printf, 3, 4)))
static char *message_at(struct parse_state *ps, const yaml_node_t *node, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vformat(&msg, ps->origin, &node->start_mark, ps->path.ptr, fmt, ap);
	va_end(ap);
	return buf_detach(&msg);
}

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parse_state *ps, const yaml_node_t *node, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ps->origin, node ? &node->start_mark : NULL, ps->path.ptr, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail_mark(struct parse_state *ps, const yaml_mark_t *mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ps->origin, mark, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

__attribute__((format(printf, 4, 5)))
static int fail_where(const struct where *w, const yaml_node_t *node, const char *key,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(w->origin, node ? &node->start_mark : NULL, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* Report what libyaml refused, in the same origin:line:column form. */
static int fail_yaml(struct parse_state *ps, const yaml_parser_t *parser,
		     const char *data, size_t len)
{
	yaml_mark_t mark = { 0 };
	const char *problem = parser->problem ? parser->problem : "invalid YAML";

	switch (parser->error) {
	case YAML_MEMORY_ERROR:
		box_error_set("%s: out of memory while reading YAML", ps->origin);
		return -1;
	case YAML_READER_ERROR:
		/* The reader knows only a byte offset; count lines ourselves. */
		for (size_t i = 0; i < parser->problem_offset && i < len; i++) {
			if (data[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else {
				mark.column++;
			}
		}
		if (parser->problem_value >= 0)
			return fail_mark(ps, &mark, "%s (#x%X)", problem,
					 (unsigned)parser->problem_value);
		return fail_mark(ps, &mark, "%s", problem);
	default:
		break;
	}
	if (parser->context)
		return fail_mark(ps, &parser->problem_mark, "%s (%s at line %zu, column %zu)",
				 problem, parser->context,
				 parser->context_mark.line + 1,
				 parser->context_mark.column + 1);
	return fail_mark(ps, &parser->problem_mark, "%s", problem);
}

static const char *quote(struct parse_state *ps, const char *s)
{
	return quote_for_message(&ps->quoted, s);
}

/* ---- key paths ----------------------------------------------------------- */

static size_t path_push_key(struct parse_state *ps, const char *key)
{
	size_t old = ps->path.len;

	if (ps->path.len)
		buf_addch(&ps->path, '.');
	buf_adds(&ps->path, key);
	return old;
}

static size_t path_push_index(struct parse_state *ps, size_t i)
{
	size_t old = ps->path.len;

	buf_addf(&ps->path, "[%zu]", i);
	return old;
}

static void path_pop(struct parse_state *ps, size_t old)
{
	ps->path.len = old;
	ps->path.ptr[old] = '\0';
}

/* ---- nodes --------------------------------------------------------------- */

static const char *scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static int is_plain(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE &&
	       node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static int is_null(const yaml_node_t *node)
{
	const char *s;

	if (!is_plain(node))
		return 0;
	s = scalar_text(node);
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int is_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/*
 * Why text that git box shows (the box's name in verify's summary, a
 * rule's name in a refusal) could not be shown as it is written, or
 * NULL: a character a terminal would act on, or one that reorders or
 * hides the text around it, could make a line say what it does not.
 */
static const char *unshowable(const char *s)
{
	size_t len = strlen(s);
	int32_t cp;

	if (escape_find(s, len, &cp) == len)
		return NULL;
	if (cp < 0)
		return "is not valid UTF-8";
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return "contains a control character";
	return "contains a bidirectional or invisible character";
}

/* What the user wrote, for "expected X, got Y". */
static const char *describe(struct parse_state *ps, const yaml_node_t *node)
{
	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	default:
		break;
	}
	if (is_null(node))
		return "null";
	buf_reset(&ps->desc);
	if (is_plain(node) && is_digits(scalar_text(node)))
		buf_addf(&ps->desc, "the integer %s", scalar_text(node));
	else
		buf_addf(&ps->desc, "the string '%s'", quote(ps, scalar_text(node)));
	return ps->desc.ptr;
}

static yaml_node_t *node_at(struct parse_state *ps, int index)
{
	return yaml_document_get_node(&ps->doc, index);
}

static const struct yaml_property *find_property(const struct parse_state *ps, size_t index)
{
	size_t lo = 0, hi = ps->props_nr;

	/* The scanner hands tokens over in document order. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ps->props[mid].index == index)
			return &ps->props[mid];
		if (ps->props[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * Every node we read passes through here once. A second visit can only
 * come from an alias; a property at the node's first byte is an anchor
 * or a tag written on it.
 */
static int check_node(struct parse_state *ps, const yaml_node_t *node)
{
	size_t i = (size_t)(node - ps->doc.nodes.start);
	const struct yaml_property *prop;

	if (ps->visited[i])
		return fail_at(ps, node, "aliases are not allowed");
	ps->visited[i] = 1;
	prop = find_property(ps, node->start_mark.index);
	if (!prop)
		return 0;
	if (prop->is_tag)
		return fail_at(ps, node, "tags are not allowed (found '%s')",
			       quote(ps, prop->text));
	return fail_at(ps, node, "anchors and aliases are not allowed (found '%s')",
		       quote(ps, prop->text));
}

/* A scalar that is not null, read as the text written: no implicit types. */
static int scalar_value(struct parse_state *ps, const yaml_node_t *node, const char **out)
{
	if (node->type != YAML_SCALAR_NODE || is_null(node))
		return fail_at(ps, node, "expected a string, got %s", describe(ps, node));
	if (memchr(node->data.scalar.value, '\0', node->data.scalar.length))
		return fail_at(ps, node, "contains a NUL character");
	*out = scalar_text(node);
	return 0;
}

static int get_text(struct parse_state *ps, const yaml_node_t *node, const char **out)
{
	if (check_node(ps, node) < 0)
		return -1;
	return scalar_value(ps, node, out);
}

/* Text meant for people and shells: not empty, one line, shown as written. */
static int get_line(struct parse_state *ps, const yaml_node_t *node, const char **out)
{
	const char *why;

	if (get_text(ps, node, out) < 0)
		return -1;
	if (!**out)
		return fail_at(ps, node, "must not be empty");
	why = unshowable(*out);
	if (why)
		return fail_at(ps, node, "'%s' %s", quote(ps, *out), why);
	return 0;
}

/* A count: plain decimal digits, no sign, no leading zero, fits an int. */
static int get_count(struct parse_state *ps, const yaml_node_t *node, int *out)
{
	const char *s;
	long long v = 0;

	if (check_node(ps, node) < 0)
		return -1;
	if (node->type != YAML_SCALAR_NODE || is_null(node))
		return fail_at(ps, node, "expected an integer, got %s", describe(ps, node));
	s = scalar_text(node);
	if (!is_plain(node))
		return fail_at(ps, node, "expected an integer, got the quoted string '%s' "
			       "(quotes make a string)", quote(ps, s));
	if ((*s == '-' || *s == '+') && is_digits(s + 1))
		return fail_at(ps, node, "expected an integer without a sign, got '%s'",
			       quote(ps, s));
	if (!is_digits(s))
		return fail_at(ps, node, "expected an integer, got '%s'", quote(ps, s));
	/* YAML 1.1 readers take "010" as octal 8: refuse the ambiguity. */
	if (s[0] == '0' && s[1])
		return fail_at(ps, node, "expected an integer, got '%s' "
			       "(leading zeros are not allowed)", quote(ps, s));
	for (; *s; s++) {
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return fail_at(ps, node, "integer '%s' is too large",
				       quote(ps, scalar_text(node)));
	}
	*out = (int)v;
	return 0;
}

static int expect_type(struct parse_state *ps, const yaml_node_t *node,
		       yaml_node_type_t type)
{
	if (check_node(ps, node) < 0)
		return -1;
	if (node->type == type)
		return 0;
	return fail_at(ps, node, "expected %s, got %s",
		       type == YAML_MAPPING_NODE ? "a mapping" : "a sequence",
		       describe(ps, node));
}

static size_t sequence_len(const yaml_node_t *node)
{
	return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
}

typedef int (*item_fn)(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data);

static int parse_sequence(struct parse_state *ps, const yaml_node_t *node,
			  item_fn fn, void *data)
{
	size_t nr;

	if (expect_type(ps, node, YAML_SEQUENCE_NODE) < 0)
		return -1;
	nr = sequence_len(node);
	for (size_t i = 0; i < nr; i++) {
		size_t old = path_push_index(ps, i);
		int ret = fn(ps, i, node_at(ps, node->data.sequence.items.start[i]), data);

		path_pop(ps, old);
		if (ret < 0)
			return -1;
	}
	return 0;
}

typedef int (*pair_fn)(struct parse_state *ps, int which, const yaml_node_t *value, void *data);

#define MAX_KEYS 16

/*
 * Walk a mapping whose keys must come from `keys`. `seen` gets one bit per
 * key found, so the caller can insist on the required ones.
 */
static int parse_mapping(struct parse_state *ps, const yaml_node_t *node,
			 const char *const *keys, int keys_nr, unsigned *seen,
			 pair_fn fn, void *data)
{
	yaml_mark_t first[MAX_KEYS];

	*seen = 0;
	if (expect_type(ps, node, YAML_MAPPING_NODE) < 0)
		return -1;
	for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
	     pair < node->data.mapping.pairs.top; pair++) {
		const yaml_node_t *key = node_at(ps, pair->key);
		const char *name;
		size_t old;
		int which, ret;

		if (check_node(ps, key) < 0)
			return -1;
		if (key->type != YAML_SCALAR_NODE)
			return fail_at(ps, key, "keys must be strings, got %s",
				       describe(ps, key));
		name = scalar_text(key);
		for (which = 0; which < keys_nr; which++)
			if (strlen(keys[which]) == key->data.scalar.length &&
			    !strcmp(keys[which], name))
				break;
		if (which == keys_nr) {
			struct buf known = BUF_INIT;

			for (int k = 0; k < keys_nr; k++)
				buf_addf(&known, "%s%s", k ? ", " : "", keys[k]);
			old = path_push_key(ps, quote(ps, name));
			fail_at(ps, key, "unknown key '%s' (expected one of: %s)",
				quote(ps, name), known.ptr);
			path_pop(ps, old);
			buf_release(&known);
			return -1;
		}
		old = path_push_key(ps, keys[which]);
		if (*seen & (1u << which)) {
			ret = fail_at(ps, key, "duplicate key '%s' (first at line %zu, column %zu)",
				      keys[which], first[which].line + 1,
				      first[which].column + 1);
		} else {
			*seen |= 1u << which;
			first[which] = key->start_mark;
			ret = fn(ps, which, node_at(ps, pair->value), data);
		}
		path_pop(ps, old);
		if (ret < 0)
			return -1;
	}
	return 0;
}

static int require_keys(struct parse_state *ps, const yaml_node_t *node,
			const char *const *keys, unsigned required, unsigned seen)
{
	for (int k = 0; k < MAX_KEYS; k++) {
		size_t old;

		if (!(required & (1u << k)) || (seen & (1u << k)))
			continue;
		old = path_push_key(ps, keys[k]);
		fail_at(ps, node, "required key is missing");
		path_pop(ps, old);
		return -1;
	}
	return 0;
}

static int get_enum(struct parse_state *ps, const yaml_node_t *node,
		    const char *const *names, size_t nr, int *out)
{
	const char *s;

	if (get_text(ps, node, &s) < 0)
		return -1;
	for (size_t i = 0; i < nr; i++) {
		if (!strcmp(s, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	return fail_at(ps, node, "expected one of %s, %s, %s, got '%s'",
		       names[0], names[1], names[2], quote(ps, s));
}

/* ---- field checks -------------------------------------------------------- */

/*
 * git's own rules for a branch name (check-ref-format), so that a policy
 * that parses names a branch git will create.
 */
static const char *branch_problem(const char *b)
{
	size_t len = strlen(b);

	if (!len)
		return "is empty";
	if (*b == '-')
		return "starts with '-'";
	if (*b == '/')
		return "starts with '/'";
	if (b[len - 1] == '/')
		return "ends with '/'";
	if (b[len - 1] == '.')
		return "ends with '.'";
	if (!strcmp(b, "@") || !strcmp(b, "HEAD"))
		return "is reserved by git";
	if (strstr(b, ".."))
		return "contains '..'";
	if (strstr(b, "//"))
		return "contains '//'";
	if (strstr(b, "@{"))
		return "contains '@{'";
	for (const char *s = b; *s; s++) {
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return "contains a space or a control character";
		if (strchr("~^:?*[\\", *s))
			return "contains one of ~ ^ : ? * [ \\";
	}
	for (const char *c = b; *c; ) {
		const char *end = strchrnul(c, '/');
		size_t n = (size_t)(end - c);

		if (*c == '.')
			return "has a component starting with '.'";
		if (n >= 5 && !memcmp(end - 5, ".lock", 5))
			return "has a component ending in '.lock'";
		c = *end ? end + 1 : end;
	}
	return unshowable(b);
}

static int parse_fingerprint(struct parse_state *ps, const yaml_node_t *node,
			     const char *text, char **out)
{
	struct buf fpr = BUF_INIT;

	for (const char *s = text; *s; s++) {
		if (*s == ' ')
			continue;
		if (!isxdigit((unsigned char)*s)) {
			buf_release(&fpr);
			return fail_at(ps, node, "'%s' is not a fingerprint: '%c' is not "
				       "a hex digit", quote(ps, text),
				       isprint((unsigned char)*s) ? *s : '?');
		}
		buf_addch(&fpr, (char)toupper((unsigned char)*s));
	}
	if (fpr.len != 40 && fpr.len != 64) {
		fail_at(ps, node, "'%s' is not a full fingerprint: expected 40 (v4) or "
			"64 (v5) hex digits, got %zu; see 'gpg --fingerprint'",
			quote(ps, text), fpr.len);
		buf_release(&fpr);
		return -1;
	}
	*out = buf_detach(&fpr);
	return 0;
}

static int in_box_folder(const char *path)
{
	return !strncasecmp(path, ".box", 4) && (!path[4] || path[4] == '/');
}

/*
 * Has `key` been seen in `set` (made on first use)? Notes it if not.
 * jansson's objects are hash tables with a random seed, so a forger
 * cannot make the lookups collide.
 */
static int seen_before(json_t **set, const char *key)
{
	if (!*set)
		*set = json_object();
	if (json_object_get(*set, key))
		return 1;
	json_object_set_new(*set, key, json_true());
	return 0;
}

/* ---- sections ------------------------------------------------------------ */

struct path_list {
	struct strlist *list;
	const yaml_node_t ***nodes;
};

static int path_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	struct path_list *pl = data;
	const char *text;
	char *path;

	if (get_text(ps, item, &text) < 0)
		return -1;
	path = policy_normalise_path(text, ends_with(text, "/"));
	if (!path)
		return fail_at(ps, item, "%s", box_error_last());
	strlist_add_nodup(pl->list, path);
	(*pl->nodes)[i] = item;
	return 0;
}

static int parse_paths(struct parse_state *ps, const yaml_node_t *node,
		       struct strlist *list, const yaml_node_t ***nodes)
{
	struct path_list pl = { list, nodes };

	if (node->type == YAML_SEQUENCE_NODE)
		*nodes = xcalloc(sequence_len(node), sizeof(**nodes));
	return parse_sequence(ps, node, path_item, &pl);
}

static int signer_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	struct strlist *signers = &ps->p->signers;
	const char *text;
	char *fpr = NULL;

	if (get_text(ps, item, &text) < 0 || parse_fingerprint(ps, item, text, &fpr) < 0)
		return -1;
	if (seen_before(&ps->signers_seen, fpr)) {
		fail_at(ps, item, "fingerprint %s is listed twice", fpr);
		free(fpr);
		return -1;
	}
	strlist_add_nodup(signers, fpr);
	return 0;
}

enum { SIGNING_K_WHEN, SIGNING_K_SIGNERS, SIGNING_K_QUORUM };
static const char *const signing_keys[] = { "when", "signers", "quorum" };

static int signing_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	struct policy *p = ps->p;
	int v;

	switch (which) {
	case SIGNING_K_WHEN:
		ps->where.signing_when = value;
		if (get_enum(ps, value, signing_names, ARRAY_SIZE(signing_names), &v) < 0)
			return -1;
		p->signing_when = (enum signing_when)v;
		return 0;
	case SIGNING_K_SIGNERS:
		ps->where.signers = value;
		return parse_sequence(ps, value, signer_item, NULL);
	case SIGNING_K_QUORUM:
		ps->where.quorum = value;
		ps->have_quorum = 1;
		return get_count(ps, value, &p->quorum);
	}
	return -1;
}

static int tsa_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	const char *url;

	if (get_text(ps, item, &url) < 0)
		return -1;
	if (http_url_check(url) < 0)
		return fail_at(ps, item, "%s", box_error_last());
	strlist_add(&ps->p->tsa, url);
	return 0;
}

enum { TIMESTAMP_K_WHEN, TIMESTAMP_K_TSA, TIMESTAMP_K_CA };
static const char *const timestamp_keys[] = { "when", "tsa", "ca" };

static int timestamp_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	struct policy *p = ps->p;
	const char *text;
	int v;

	switch (which) {
	case TIMESTAMP_K_WHEN:
		ps->where.timestamp_when = value;
		if (get_enum(ps, value, timestamp_names, ARRAY_SIZE(timestamp_names), &v) < 0)
			return -1;
		p->timestamp_when = (enum timestamp_when)v;
		return 0;
	case TIMESTAMP_K_TSA:
		ps->where.tsa = value;
		return parse_sequence(ps, value, tsa_item, NULL);
	case TIMESTAMP_K_CA:
		if (check_node(ps, value) < 0)
			return -1;
		if (is_null(value))
			return 0;
		if (scalar_value(ps, value, &text) < 0)
			return -1;
		if (ends_with(text, "/"))
			return fail_at(ps, value, "'%s' names a folder; ca is a file of "
				       "PEM certificates", quote(ps, text));
		p->tsa_ca = policy_normalise_path(text, 0);
		if (!p->tsa_ca)
			return fail_at(ps, value, "%s", box_error_last());
		return 0;
	}
	return -1;
}

static int glob_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	const char *glob;

	if (get_line(ps, item, &glob) < 0)
		return -1;
	strlist_add(&ps->p->forbid_paths, glob);
	return 0;
}

/*
 * Does a POSIX extended expression use a backreference (\1 to \9)? glibc
 * matches those by backtracking, in time exponential in the line: a
 * policy could then stall every commit hook and a server's pre-receive.
 * Inside a bracket expression a backslash is an ordinary character.
 */
static int has_backreference(const char *re)
{
	for (const char *s = re; *s; s++) {
		if (*s == '\\') {
			if (s[1] >= '1' && s[1] <= '9')
				return 1;
			if (s[1])
				s++;
		} else if (*s == '[') {
			s++;
			if (*s == '^')
				s++;
			if (*s == ']')
				s++;
			/* To the closing ']', past "[:alpha:]", "[.x.]" and "[=e=]". */
			for (; *s && *s != ']'; s++) {
				if (*s == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
					char close[3] = { s[1], ']', '\0' };
					const char *end = strstr(s + 2, close);

					if (!end)
						return 0;   /* regcomp refuses it */
					s = end + 1;
				}
			}
			if (!*s)
				return 0;
		}
	}
	return 0;
}

struct rule_parse {
	const char *name, *pattern;
	const yaml_node_t *pattern_node;
};

enum { RULE_K_NAME, RULE_K_REGEX };
static const char *const rule_keys[] = { "name", "regex" };

static int rule_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	struct rule_parse *rp = data;

	switch (which) {
	case RULE_K_NAME:
		if (get_line(ps, value, &rp->name) < 0)
			return -1;
		if (seen_before(&ps->rules_seen, rp->name))
			return fail_at(ps, value, "rule name '%s' is used twice",
				       quote(ps, rp->name));
		return 0;
	case RULE_K_REGEX:
		rp->pattern_node = value;
		if (get_text(ps, value, &rp->pattern) < 0)
			return -1;
		/* An empty expression matches every file: surely a mistake. */
		if (!*rp->pattern)
			return fail_at(ps, value, "must not be empty");
		if (has_backreference(rp->pattern))
			return fail_at(ps, value, "'%s' uses a backreference (\\1 to \\9), which "
				       "can take time exponential in a line to match",
				       quote(ps, rp->pattern));
		return 0;
	}
	return -1;
}

static int content_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	struct policy *p = ps->p;
	struct rule_parse rp = { 0 };
	struct content_rule *rule = &p->forbid_content[p->forbid_content_nr];
	unsigned seen;
	int err;

	if (parse_mapping(ps, item, rule_keys, ARRAY_SIZE(rule_keys), &seen, rule_pair, &rp) < 0 ||
	    require_keys(ps, item, rule_keys, 3, seen) < 0)
		return -1;
	err = regcomp(&rule->regex, rp.pattern, REG_EXTENDED | REG_NOSUB);
	if (err) {
		char why[256];
		size_t old;

		regerror(err, &rule->regex, why, sizeof(why));
		regfree(&rule->regex);
		old = path_push_key(ps, "regex");
		fail_at(ps, rp.pattern_node, "invalid regular expression '%s': %s",
			quote(ps, rp.pattern), why);
		path_pop(ps, old);
		return -1;
	}
	rule->name = xstrdup(rp.name);
	rule->pattern = xstrdup(rp.pattern);
	p->forbid_content_nr++;
	return 0;
}

static int trailer_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	const char *token;

	if (get_text(ps, item, &token) < 0)
		return -1;
	if (!*token || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789-") != strlen(token))
		return fail_at(ps, item, "'%s' is not a trailer token (letters, digits "
			       "and '-', as in 'Ticket' or 'Reviewed-by')", quote(ps, token));
	strlist_add(&ps->p->require_trailers, token);
	return 0;
}

enum { RULES_K_MAX_FILE_SIZE, RULES_K_FORBID_PATHS, RULES_K_FORBID_CONTENT,
       RULES_K_REQUIRE_TRAILERS };
static const char *const rules_keys[] = {
	"max_file_size", "forbid_paths", "forbid_content", "require_trailers",
};

static int rules_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	struct policy *p = ps->p;
	const char *text;

	switch (which) {
	case RULES_K_MAX_FILE_SIZE:
		if (check_node(ps, value) < 0)
			return -1;
		if (value->type != YAML_SCALAR_NODE || is_null(value))
			return fail_at(ps, value, "expected a size like 100MiB or an integer "
				       "count of bytes, got %s", describe(ps, value));
		if (scalar_value(ps, value, &text) < 0)
			return -1;
		if (policy_parse_size(&p->max_file_size, text) < 0)
			return fail_at(ps, value, "%s", box_error_last());
		return 0;
	case RULES_K_FORBID_PATHS:
		return parse_sequence(ps, value, glob_item, NULL);
	case RULES_K_FORBID_CONTENT:
		if (value->type == YAML_SEQUENCE_NODE)
			p->forbid_content = xcalloc(sequence_len(value), sizeof(*p->forbid_content));
		return parse_sequence(ps, value, content_item, NULL);
	case RULES_K_REQUIRE_TRAILERS:
		return parse_sequence(ps, value, trailer_item, NULL);
	}
	return -1;
}

/* "'sh -c x' is not a built-in probe (pip, conda, r, julia); ..." */
static void not_a_probe(struct buf *out, const char *entry)
{
	struct buf q = BUF_INIT;

	buf_addf(out, "'%s' is not a built-in probe (", quote_for_message(&q, entry));
	for (size_t i = 0; i < environment_probes_nr; i++)
		buf_addf(out, "%s%s", i ? ", " : "", environment_probes[i].name);
	buf_adds(out, "); git box runs no program that a repository names");
	buf_release(&q);
}

static int capture_item(struct parse_state *ps, size_t i, const yaml_node_t *item, void *data)
{
	struct policy *p = ps->p;
	const char *entry;

	if (get_line(ps, item, &entry) < 0)
		return -1;
	/* Kept, so that the policy can be shown and verified; nothing runs it. */
	if (!environment_probe_find(entry) && !p->capture_error) {
		struct buf why = BUF_INIT;

		not_a_probe(&why, entry);
		p->capture_error = message_at(ps, item, "%s", why.ptr);
		buf_release(&why);
	}
	strlist_add(&p->capture, entry);
	return 0;
}

static const char *const environment_keys[] = { "capture" };

static int environment_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	return parse_sequence(ps, value, capture_item, NULL);
}

enum { TOP_K_VERSION, TOP_K_NAME, TOP_K_BRANCH, TOP_K_INPUTS, TOP_K_OUTPUTS,
       TOP_K_SIGNING, TOP_K_TIMESTAMP, TOP_K_RULES, TOP_K_ENVIRONMENT };
static const char *const top_keys[] = {
	"version", "name", "branch", "inputs", "outputs",
	"signing", "timestamp", "rules", "environment",
};
#define TOP_REQUIRED ((1u << TOP_K_VERSION) | (1u << TOP_K_NAME) | \
		      (1u << TOP_K_BRANCH) | (1u << TOP_K_INPUTS))

static int top_pair(struct parse_state *ps, int which, const yaml_node_t *value, void *data)
{
	struct policy *p = ps->p;
	const char *text, *why;
	unsigned seen;

	switch (which) {
	case TOP_K_VERSION:
		if (get_count(ps, value, &p->version) < 0)
			return -1;
		if (p->version != POLICY_VERSION)
			return fail_at(ps, value, "unsupported version %d (this git box "
				       "reads version %d)", p->version, POLICY_VERSION);
		return 0;
	case TOP_K_NAME:
		if (get_line(ps, value, &text) < 0)
			return -1;
		p->name = xstrdup(text);
		return 0;
	case TOP_K_BRANCH:
		if (get_text(ps, value, &text) < 0)
			return -1;
		why = branch_problem(text);
		if (why)
			return fail_at(ps, value, "'%s' is not a valid branch name: it %s",
				       quote(ps, text), why);
		p->branch = xstrdup(text);
		return 0;
	case TOP_K_INPUTS:
		if (parse_paths(ps, value, &p->inputs, &ps->where.inputs) < 0)
			return -1;
		if (!p->inputs.nr)
			return fail_at(ps, value, "at least one input is required");
		return 0;
	case TOP_K_OUTPUTS:
		return parse_paths(ps, value, &p->outputs, &ps->where.outputs);
	case TOP_K_SIGNING:
		return parse_mapping(ps, value, signing_keys, ARRAY_SIZE(signing_keys),
				     &seen, signing_pair, NULL);
	case TOP_K_TIMESTAMP:
		return parse_mapping(ps, value, timestamp_keys, ARRAY_SIZE(timestamp_keys),
				     &seen, timestamp_pair, NULL);
	case TOP_K_RULES:
		return parse_mapping(ps, value, rules_keys, ARRAY_SIZE(rules_keys),
				     &seen, rules_pair, NULL);
	case TOP_K_ENVIRONMENT:
		return parse_mapping(ps, value, environment_keys,
				     ARRAY_SIZE(environment_keys), &seen,
				     environment_pair, NULL);
	}
	return -1;
}

/* ---- whole-policy checks ------------------------------------------------- */

struct listed_path {
	const char *path;
	size_t len;          /* without the trailing '/' */
	size_t order;        /* inputs first, then outputs */
	const char *list;
	size_t index;
	const yaml_node_t *node;
};

/* '/' sorts before every other byte, so a folder comes right before its contents. */
static int compare_listed(const void *va, const void *vb)
{
	const struct listed_path *a = va, *b = vb;
	size_t n = a->len < b->len ? a->len : b->len;

	for (size_t i = 0; i < n; i++) {
		int ca = a->path[i] == '/' ? 0 : (unsigned char)a->path[i] + 1;
		int cb = b->path[i] == '/' ? 0 : (unsigned char)b->path[i] + 1;

		if (ca != cb)
			return ca - cb;
	}
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

static void add_listed(struct listed_path *all, size_t *nr, const struct strlist *l,
		       const char *list, const yaml_node_t **nodes)
{
	for (size_t i = 0; i < l->nr; i++) {
		struct listed_path *lp = &all[*nr];

		lp->path = l->items[i];
		lp->len = strlen(lp->path);
		if (lp->len && lp->path[lp->len - 1] == '/')
			lp->len--;
		lp->order = *nr;
		lp->list = list;
		lp->index = i;
		lp->node = nodes ? nodes[i] : NULL;
		(*nr)++;
	}
}

/*
 * Sorted with '/' lowest, anything inside a listed path follows it
 * directly, so comparing neighbours finds an overlap if there is one.
 */
static int check_overlaps(const struct policy *p, const struct where *w)
{
	size_t nr = 0, best = 0;
	struct listed_path *all = xcalloc(p->inputs.nr + p->outputs.nr, sizeof(*all));
	const struct listed_path *first = NULL, *second = NULL;
	char key[64];
	int ret = 0;

	add_listed(all, &nr, &p->inputs, "inputs", w->inputs);
	add_listed(all, &nr, &p->outputs, "outputs", w->outputs);
	qsort(all, nr, sizeof(*all), compare_listed);
	for (size_t i = 1; i < nr; i++) {
		const struct listed_path *a = &all[i - 1], *b = &all[i];
		const struct listed_path *early, *late;

		if (!paths_overlap(a->path, b->path))
			continue;
		early = a->order < b->order ? a : b;
		late = a->order < b->order ? b : a;
		/* Report the overlap that is complete earliest in the file. */
		if (!second || late->order < best) {
			first = early;
			second = late;
			best = late->order;
		}
	}
	if (second) {
		snprintf(key, sizeof(key), "%s[%zu]", second->list, second->index);
		if (second->len == first->len)
			fail_where(w, second->node, key, "'%s' is also listed as %s[%zu]",
				   second->path, first->list, first->index);
		else
			fail_where(w, second->node, key, "'%s' overlaps %s[%zu] '%s'",
				   second->path, first->list, first->index, first->path);
		ret = -1;
	}
	free(all);
	return ret;
}

static int validate(const struct policy *p, const struct where *w)
{
	const struct strlist *lists[] = { &p->inputs, &p->outputs };
	const yaml_node_t **nodes[] = { w->inputs, w->outputs };
	const char *names[] = { "inputs", "outputs" };
	const char *when;
	char key[64];

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (size_t i = 0; i < lists[l]->nr; i++) {
			if (!in_box_folder(lists[l]->items[i]))
				continue;
			snprintf(key, sizeof(key), "%s[%zu]", names[l], i);
			return fail_where(w, nodes[l] ? nodes[l][i] : NULL, key,
					  "'%s' is inside .box/, where the policy lives; "
					  "it cannot be one of the %s",
					  lists[l]->items[i], names[l]);
		}
	}
	if (check_overlaps(p, w) < 0)
		return -1;

	when = signing_when_name(p->signing_when);
	if (p->signing_when != SIGNING_NONE) {
		if (!p->signers.nr)
			return fail_where(w, w->signers ? w->signers : w->signing_when,
					  "signing.signers",
					  "no signers are listed but signing.when is '%s'%s; "
					  "list the full fingerprints of who may sign, "
					  "or set signing.when to none", when,
					  w->parsed && !w->signing_when ? " (the default)" : "");
		if (p->quorum < 1)
			return fail_where(w, w->quorum, "signing.quorum",
					  "must be at least 1 when signing.when is '%s'", when);
		if ((size_t)p->quorum > p->signers.nr)
			return fail_where(w, w->quorum, "signing.quorum",
					  "%d is more than the %zu signer%s listed",
					  p->quorum, p->signers.nr,
					  p->signers.nr == 1 ? "" : "s");
	} else if (p->quorum) {
		return fail_where(w, w->quorum, "signing.quorum",
				  "must be 0 or absent when signing.when is 'none', got %d",
				  p->quorum);
	}

	if (p->timestamp_when != TIMESTAMP_NONE && !p->tsa.nr)
		return fail_where(w, w->tsa ? w->tsa : w->timestamp_when, "timestamp.tsa",
				  "no TSA is listed but timestamp.when is '%s'; list at "
				  "least one RFC 3161 service URL, or set timestamp.when "
				  "to none", timestamp_when_name(p->timestamp_when));
	return 0;
}

int policy_validate(const struct policy *p, const char *origin)
{
	struct where w = { .origin = origin };

	return validate(p, &w);
}

/* ---- parsing ------------------------------------------------------------- */

static int scan_properties(struct parse_state *ps, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_token_t token;
	int ret = -1;

	if (!yaml_parser_initialize(&parser)) {
		box_error_set("%s: cannot start the YAML parser", ps->origin);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		struct yaml_property *prop = NULL;

		if (!yaml_parser_scan(&parser, &token)) {
			fail_yaml(ps, &parser, data, len);
			goto out;
		}
		if (token.type == YAML_STREAM_END_TOKEN) {
			yaml_token_delete(&token);
			break;
		}
		if (token.type == YAML_ANCHOR_TOKEN || token.type == YAML_ALIAS_TOKEN ||
		    token.type == YAML_TAG_TOKEN) {
			if (ps->props_nr == ps->props_alloc) {
				ps->props_alloc = ps->props_alloc ? 2 * ps->props_alloc : 8;
				ps->props = xrealloc(ps->props,
						     ps->props_alloc * sizeof(*ps->props));
			}
			prop = &ps->props[ps->props_nr++];
			prop->index = token.start_mark.index;
			prop->mark = token.start_mark;
			prop->is_tag = token.type == YAML_TAG_TOKEN;
		}
		if (token.type == YAML_ANCHOR_TOKEN)
			prop->text = xstrfmt("&%s", (char *)token.data.anchor.value);
		else if (token.type == YAML_ALIAS_TOKEN)
			prop->text = xstrfmt("*%s", (char *)token.data.alias.value);
		else if (token.type == YAML_TAG_TOKEN)
			prop->text = xstrfmt("%s%s", (char *)token.data.tag.handle,
					     (char *)token.data.tag.suffix);
		yaml_token_delete(&token);
	}
	ret = 0;
out:
	yaml_parser_delete(&parser);
	return ret;
}

/*
 * libyaml's scanner does work in proportion to the nesting depth for
 * every token it reads (its stacks of possible simple keys and of
 * indents), so a small file of nested brackets costs quadratic time to
 * load: 160 KB took 25 s. One pass over the events, stopping at the
 * first collection past POLICY_MAX_DEPTH or the node past
 * POLICY_MAX_NODES, keeps what libyaml ever does bounded before it builds
 * a document. The scanner looks at most 1024 characters ahead for a
 * simple key, so stopping early also bounds the work done so far.
 */
static int check_shape(struct parse_state *ps, const char *data, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t event;
	size_t depth = 0, nodes = 0;
	int ret = -1;

	if (!yaml_parser_initialize(&parser)) {
		box_error_set("%s: cannot start the YAML parser", ps->origin);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_event_type_t type;
		yaml_mark_t mark;

		if (!yaml_parser_parse(&parser, &event)) {
			fail_yaml(ps, &parser, data, len);
			goto out;
		}
		type = event.type;
		mark = event.start_mark;
		yaml_event_delete(&event);
		switch (type) {
		case YAML_STREAM_END_EVENT:
			ret = 0;
			goto out;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > POLICY_MAX_DEPTH) {
				fail_mark(ps, &mark, "the policy nests deeper than %d levels",
					  POLICY_MAX_DEPTH);
				goto out;
			}
			/* fall through */
		case YAML_SCALAR_EVENT:
		case YAML_ALIAS_EVENT:
			if (++nodes > POLICY_MAX_NODES) {
				fail_mark(ps, &mark, "the policy has more than %d values",
					  POLICY_MAX_NODES);
				goto out;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
	}
out:
	yaml_parser_delete(&parser);
	return ret;
}

static int load_document(struct parse_state *ps, const char *data, size_t len,
			 int *loaded)
{
	yaml_parser_t parser;
	yaml_document_t extra;
	yaml_node_t *root;
	int ret = -1;

	if (!yaml_parser_initialize(&parser)) {
		box_error_set("%s: cannot start the YAML parser", ps->origin);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &ps->doc)) {
		fail_yaml(ps, &parser, data, len);
		goto out;
	}
	*loaded = 1;
	root = yaml_document_get_root_node(&ps->doc);
	if (!root || is_null(root)) {
		fail_mark(ps, &ps->doc.start_mark, "the policy is empty; it needs at least "
			  "version, name, branch and inputs");
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		fail_yaml(ps, &parser, data, len);
		goto out;
	}
	if (yaml_document_get_root_node(&extra)) {
		fail_mark(ps, &extra.start_mark, "a second YAML document; the policy "
			  "is one document");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	ret = 0;
out:
	yaml_parser_delete(&parser);
	return ret;
}

static int parse(struct parse_state *ps, const char *data, size_t len)
{
	struct policy *p = ps->p;
	yaml_node_t *root;
	unsigned seen;

	if (scan_properties(ps, data, len) < 0)
		return -1;
	root = yaml_document_get_root_node(&ps->doc);
	ps->visited = xcalloc((size_t)(ps->doc.nodes.top - ps->doc.nodes.start), 1);
	if (root->type != YAML_MAPPING_NODE) {
		if (check_node(ps, root) < 0)
			return -1;
		return fail_at(ps, root, "expected a mapping at the top level, got %s",
			       describe(ps, root));
	}

	p->signing_when = SIGNING_SEAL;
	p->timestamp_when = TIMESTAMP_NONE;
	if (parse_mapping(ps, root, top_keys, ARRAY_SIZE(top_keys), &seen, top_pair, NULL) < 0 ||
	    require_keys(ps, root, top_keys, TOP_REQUIRED, seen) < 0)
		return -1;

	/*
	 * Every anchor or tag starts a node we visited and refused, so one
	 * left over means our idea of where nodes start was wrong: refuse
	 * it all the same.
	 */
	if (ps->props_nr)
		return fail_mark(ps, &ps->props[0].mark, "%s are not allowed (found '%s')",
				 ps->props[0].is_tag ? "tags" : "anchors and aliases",
				 quote(ps, ps->props[0].text));

	if (!ps->have_quorum)
		p->quorum = p->signing_when != SIGNING_NONE && p->signers.nr ? 1 : 0;
	return validate(p, &ps->where);
}

#define POLICY_MAX_SIZE (1024 * 1024)

int policy_parse(struct policy *out, const char *origin, const char *data, size_t len)
{
	struct parse_state ps = {
		.origin = origin,
		.p = out,
		.path = BUF_INIT,
		.quoted = BUF_INIT,
		.desc = BUF_INIT,
		.where = { .origin = origin, .parsed = 1 },
	};
	int loaded = 0, ret = -1;

	*out = (struct policy)POLICY_INIT;
	buf_adds(&ps.path, "");
	if (len > POLICY_MAX_SIZE) {
		box_error_set("%s: the policy is larger than %d bytes", origin, POLICY_MAX_SIZE);
		goto out;
	}
	if (!data)
		data = "";
	if (check_shape(&ps, data, len) < 0 || load_document(&ps, data, len, &loaded) < 0)
		goto out;
	ret = parse(&ps, data, len);
out:
	if (ret < 0)
		policy_release(out);
	if (loaded)
		yaml_document_delete(&ps.doc);
	for (size_t i = 0; i < ps.props_nr; i++)
		free(ps.props[i].text);
	free(ps.props);
	free(ps.visited);
	free(ps.where.inputs);
	free(ps.where.outputs);
	json_decref(ps.signers_seen);
	json_decref(ps.rules_seen);
	buf_release(&ps.path);
	buf_release(&ps.quoted);
	buf_release(&ps.desc);
	return ret;
}

int policy_load_file(struct policy *out, const char *path)
{
	struct buf b = BUF_INIT;
	int ret = -1;

	*out = (struct policy)POLICY_INIT;
	if (buf_read_file(&b, path, POLICY_MAX_SIZE) < 0)
		goto out;
	ret = policy_parse(out, path, b.ptr, b.len);
out:
	buf_release(&b);
	return ret;
}

void policy_release(struct policy *p)
{
	free(p->name);
	free(p->branch);
	strlist_release(&p->inputs);
	strlist_release(&p->outputs);
	strlist_release(&p->signers);
	strlist_release(&p->tsa);
	free(p->tsa_ca);
	strlist_release(&p->forbid_paths);
	for (size_t i = 0; i < p->forbid_content_nr; i++) {
		free(p->forbid_content[i].name);
		free(p->forbid_content[i].pattern);
		regfree(&p->forbid_content[i].regex);
	}
	free(p->forbid_content);
	strlist_release(&p->require_trailers);
	strlist_release(&p->capture);
	free(p->capture_error);
	*p = (struct policy)POLICY_INIT;
}

int policy_check_capture(const struct policy *p)
{
	if (p->capture_error) {
		box_error_set("%s", p->capture_error);
		return -1;
	}
	for (size_t i = 0; i < p->capture.nr; i++) {
		struct buf why = BUF_INIT;

		if (environment_probe_find(p->capture.items[i]))
			continue;
		not_a_probe(&why, p->capture.items[i]);
		box_error_set("environment.capture[%zu]: %s", i, why.ptr);
		buf_release(&why);
		return -1;
	}
	return 0;
}

/* ---- sizes and paths ----------------------------------------------------- */

int policy_parse_size(uint64_t *out, const char *text)
{
	static const struct {
		const char *name;
		uint64_t factor;
	} units[] = {
		{ "B", 1 },
		{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 },
		{ "GiB", 1ULL << 30 }, { "TiB", 1ULL << 40 },
		{ "KB", 1000ULL }, { "MB", 1000ULL * 1000 },
		{ "GB", 1000ULL * 1000 * 1000 }, { "TB", 1000ULL * 1000 * 1000 * 1000 },
	};
	const char *s = text;
	uint64_t n = 0;

	if (*s == '-') {
		box_error_set("'%s' is negative; a size is a count of bytes", text);
		return -1;
	}
	if (!isdigit((unsigned char)*s)) {
		box_error_set("'%s' is not a size; write a count of bytes or a number "
			      "with a unit, as in 100MiB", text);
		return -1;
	}
	if (s[0] == '0' && isdigit((unsigned char)s[1])) {
		box_error_set("'%s' is not a size: leading zeros are not allowed", text);
		return -1;
	}
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (n > (UINT64_MAX - d) / 10) {
			box_error_set("'%s' is too large", text);
			return -1;
		}
		n = n * 10 + d;
	}
	if (*s == '.' || *s == ',') {
		box_error_set("'%s' is not a whole number; use a smaller unit "
			      "(1536MiB, not 1.5GiB)", text);
		return -1;
	}
	if (!*s) {
		*out = n;
		return 0;
	}
	if (*s == ' ')
		s++;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(s, units[i].name))
			continue;
		if (n > UINT64_MAX / units[i].factor) {
			box_error_set("'%s' is too large", text);
			return -1;
		}
		*out = n * units[i].factor;
		return 0;
	}
	box_error_set("'%s' has an unknown unit '%s' (use B, KiB, MiB, GiB, TiB, "
		      "KB, MB, GB or TB)", text, s);
	return -1;
}

char *policy_normalise_path(const char *path, int is_folder)
{
	struct buf out = BUF_INIT, q = BUF_INIT;
	const char *s = path;
	char *ret = NULL;

	if (!*path) {
		box_error_set("empty path");
		goto out;
	}
	for (const char *c = path; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			box_error_set("'%s' contains a control character",
				      quote_for_message(&q, path));
			goto out;
		}
		if (*c == '\\') {
			box_error_set("'%s' contains a backslash; box paths use '/'", path);
			goto out;
		}
	}
	if (*path == '/') {
		box_error_set("'%s' is an absolute path; box paths are relative "
			      "to the top of the repository", path);
		goto out;
	}
	while (*s) {
		const char *end;
		size_t len;

		while (*s == '/')
			s++;
		end = strchrnul(s, '/');
		len = (size_t)(end - s);
		if (!len)
			break;
		if (len == 2 && !memcmp(s, "..", 2)) {
			box_error_set("'%s' contains '..'; box paths stay inside "
				      "the repository", path);
			goto out;
		}
		/* Any case: .GIT is .git on case-insensitive file systems. */
		if (len == 4 && !strncasecmp(s, ".git", 4)) {
			box_error_set("'%s' is inside .git", path);
			goto out;
		}
		if (len != 1 || *s != '.') {
			if (out.len)
				buf_addch(&out, '/');
			buf_add(&out, s, len);
		}
		s = end;
	}
	if (!out.len) {
		box_error_set("'%s' names the top of the repository, not a file "
			      "or folder in it", path);
		goto out;
	}
	if (is_folder)
		buf_addch(&out, '/');
	ret = buf_detach(&out);
out:
	buf_release(&out);
	buf_release(&q);
	return ret;
}

/* Compare without the trailing '/': "a" the file and "a/" the folder clash too. */
int paths_overlap(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la && a[la - 1] == '/')
		la--;
	if (lb && b[lb - 1] == '/')
		lb--;
	if (la > lb) {
		const char *t = a;
		size_t lt = la;

		a = b, la = lb;
		b = t, lb = lt;
	}
	if (memcmp(a, b, la))
		return 0;
	return la == lb || !la || b[la] == '/';
}

static int covered_by(const struct strlist *entries, const char *path)
{
	for (size_t i = 0; i < entries->nr; i++) {
		const char *e = entries->items[i];
		size_t n = strlen(e);

		if (n && e[n - 1] == '/') {
			/* the folder itself, with or without its '/', or anything in it */
			if (!strncmp(path, e, n) ||
			    (!strncmp(path, e, n - 1) && !path[n - 1]))
				return 1;
		} else if (!strcmp(path, e)) {
			return 1;
		}
	}
	return 0;
}

int policy_is_input(const struct policy *p, const char *path)
{
	return covered_by(&p->inputs, path);
}

int policy_is_output(const struct policy *p, const char *path)
{
	return covered_by(&p->outputs, path);
}

int policy_is_protected(const struct policy *p, const char *path)
{
	return policy_is_input(p, path) || !strcmp(path, POLICY_PATH);
}

#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events.h"
#include "guard.h"
#include "hash.h"
#include "lifecycle.h"
#include "manifest.h"
#include "policy.h"
#include "repo.h"
#include "rules.h"
#include "sign.h"
#include "tsa.h"
#include "banned.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define KEYRING_MAX_BYTES (64 << 20)
#define CA_MAX_BYTES (4 << 20)
/* Past this many differing files in one event, the rest are counted, not listed. */
#define PAYLOAD_LISTED_MAX 50

#define FETCH_HINT "git fetch origin refs/notes/box:refs/notes/box 'refs/tags/box/*:refs/tags/box/*'"

/* ---- the report ------------------------------------------------------------ */

void verify_report_addv(struct verify_report *r, enum verify_status status, const char *check,
			const char *event, const git_oid *commit, const char *path, const char *fmt, va_list ap)
{
	struct verify_check *c;
	struct buf detail = BUF_INIT;

	buf_vaddf(&detail, fmt, ap);
	if (r->nr == r->alloc) {
		r->alloc = r->alloc ? 2 * r->alloc : 32;
		r->checks = xrealloc(r->checks, r->alloc * sizeof(*r->checks));
	}
	c = &r->checks[r->nr++];
	memset(c, 0, sizeof(*c));
	c->check = xstrdup(check);
	c->status = status;
	c->event = event ? xstrdup(event) : NULL;
	if (commit) {
		git_oid_cpy(&c->commit, commit);
		c->has_commit = 1;
	}
	c->path = path ? xstrdup(path) : NULL;
	c->detail = buf_detach(&detail);
	if (status == VERIFY_FAIL)
		r->failures++;
	else if (status == VERIFY_WARN)
		r->warnings++;
}

void verify_report_add(struct verify_report *r, enum verify_status status, const char *check,
		       const char *event, const git_oid *commit, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verify_report_addv(r, status, check, event, commit, path, fmt, ap);
	va_end(ap);
}

#define add verify_report_add

void verify_report_take(struct verify_report *dst, struct verify_report *src)
{
	if (dst->nr + src->nr > dst->alloc) {
		dst->alloc = dst->nr + src->nr;
		dst->checks = xrealloc(dst->checks, dst->alloc * sizeof(*dst->checks));
	}
	if (src->nr)
		memcpy(dst->checks + dst->nr, src->checks, src->nr * sizeof(*src->checks));
	dst->nr += src->nr;
	dst->failures += src->failures;
	dst->warnings += src->warnings;
	free(src->checks);
	src->checks = NULL;
	src->nr = src->alloc = src->failures = src->warnings = 0;
#define TAKE(field) do { if (!dst->field) { dst->field = src->field; src->field = NULL; } } while (0)
	TAKE(box);
	TAKE(name);
	TAKE(commit);
	TAKE(hint);
#undef TAKE
	if (!dst->state)
		dst->state = src->state;
	dst->self_check |= src->self_check;
	if (!dst->trust_source)
		dst->trust_source = src->trust_source;
	for (size_t i = 0; i < src->signers.nr; i++)
		if (!strlist_has(&dst->signers, src->signers.items[i]))
			strlist_add(&dst->signers, src->signers.items[i]);
	verify_report_release(src);
}

const char *verify_status_name(enum verify_status s)
{
	return s == VERIFY_OK ? "ok" : s == VERIFY_WARN ? "warn" : "FAIL";
}

const char *verify_status_json(enum verify_status s)
{
	return s == VERIFY_OK ? "ok" : s == VERIFY_WARN ? "warn" : "fail";
}

const char *verify_verdict(const struct verify_report *r)
{
	return r->failures ? "failed" : r->self_check ? "consistent" : "verified";
}

void verify_check_describe(struct buf *out, const struct verify_check *c)
{
	struct buf q = BUF_INIT;

	buf_addf(out, "%s:", c->check);
	if (c->event)
		buf_addf(out, " %s", c->event);
	if (c->has_commit)
		buf_addf(out, " %.12s", git_oid_tostr_s(&c->commit));
	if (c->event || c->has_commit)
		buf_addch(out, ':');
	if (c->path)
		buf_addf(out, " '%s':", quote_for_message(&q, c->path));
	buf_addf(out, " %s", c->detail);
	buf_release(&q);
}

void verify_report_summary(struct buf *out, const struct verify_report *r)
{
	buf_addf(out, "%s%s: box %.12s", r->failures ? "FAILED" : r->self_check ? "consistent" : "verified",
		 r->self_check ? " (self-check)" : "", r->box ? r->box : "?");
	if (r->name)
		buf_addf(out, " (%s)", r->name);
	if (r->state)
		buf_addf(out, ", %s", r->state);
	if (r->commit)
		buf_addf(out, " at %.12s", r->commit);
	buf_addf(out, ": %zu check%s, %zu failed, %zu warning%s", r->nr, r->nr == 1 ? "" : "s",
		 r->failures, r->warnings, r->warnings == 1 ? "" : "s");
}

json_t *verify_report_json(const struct verify_report *r)
{
	json_t *checks = json_array(), *signers = json_array();

	for (size_t i = 0; i < r->signers.nr; i++)
		json_array_append_new(signers, json_string(r->signers.items[i]));
	for (size_t i = 0; i < r->nr; i++) {
		const struct verify_check *c = &r->checks[i];

		json_array_append_new(checks, json_pack("{s:s, s:s, s:o?, s:s?, s:o?, s:o}",
							"check", c->check, "status", verify_status_json(c->status),
							"event", json_text(c->event),
							"commit", c->has_commit ? git_oid_tostr_s(&c->commit) : NULL,
							"path", json_text(c->path), "detail", json_text(c->detail)));
	}
	return json_pack("{s:s, s:s?, s:o?, s:s?, s:s?, s:{s:o, s:s?}, s:o, s:I, s:I, s:s}",
			 "schema", VERIFY_SCHEMA, "box", r->box, "name", json_text(r->name), "commit", r->commit,
			 "state", r->state, "trust", "signers", signers, "source", r->trust_source,
			 "checks", checks, "failures", (json_int_t)r->failures,
			 "warnings", (json_int_t)r->warnings, "verdict", verify_verdict(r));
}

void verify_report_release(struct verify_report *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		free(r->checks[i].check);
		free(r->checks[i].event);
		free(r->checks[i].path);
		free(r->checks[i].detail);
	}
	free(r->checks);
	free(r->box);
	free(r->name);
	free(r->commit);
	free(r->hint);
	strlist_release(&r->signers);
	memset(r, 0, sizeof(*r));
}

void verify_options_release(struct verify_options *o)
{
	strlist_release(&o->trust_signers);
	strlist_release(&o->held);
	memset(o, 0, sizeof(*o));
}

/* ---- the auditor's roots ---------------------------------------------------- */

#define CONFIG_SIGNERS "box.verify.trustSigner"
#define CONFIG_KEYRING "box.verify.keyring"
#define CONFIG_TSA_CA "box.verify.tsaCa"
#define CONFIG_EXPECT_BOX "box.verify.expectBox"

/* One configured value, held by `o`; NULL when the key is not set. */
static const char *config_value(struct verify_options *o, git_config *cfg, const char *key, int path)
{
	git_buf value = GIT_BUF_INIT;
	const char *out = NULL;
	int err = path ? git_config_get_path(&value, cfg, key) : git_config_get_string_buf(&value, cfg, key);

	if (!err) {
		strlist_add(&o->held, value.ptr);
		out = o->held.items[o->held.nr - 1];
	}
	git_buf_dispose(&value);
	git_error_clear();
	return out;
}

int verify_options_from_config(struct verify_options *o)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *entry;
	int err;

	/* The user's files only: git_config_open_default() reads no repository's. */
	if (git_config_open_default(&cfg) < 0) {
		box_error_from_git("cannot read your git configuration");
		return -1;
	}
	/* A self-check takes no roots; the pins it still honours. */
	if (o->self_check)
		goto pins;
	if (!o->trust_signers.nr && !git_config_multivar_iterator_new(&it, cfg, CONFIG_SIGNERS, NULL)) {
		while (!(err = git_config_next(&entry, it)))
			strlist_add(&o->trust_signers, entry->value);
		git_config_iterator_free(it);
		if (o->trust_signers.nr)
			o->signers_from = CONFIG_SIGNERS;
	}
	git_error_clear();
	if (!o->keyring && (o->keyring = config_value(o, cfg, CONFIG_KEYRING, 1)))
		o->keyring_from = CONFIG_KEYRING;
	if (!o->tsa_ca && (o->tsa_ca = config_value(o, cfg, CONFIG_TSA_CA, 1)))
		o->tsa_ca_from = CONFIG_TSA_CA;
pins:
	if (!o->expect_box && (o->expect_box = config_value(o, cfg, CONFIG_EXPECT_BOX, 0)))
		o->expect_box_from = CONFIG_EXPECT_BOX;
	git_config_free(cfg);
	return 0;
}

static int has_roots(const struct verify_options *o)
{
	return o->trust_signers.nr || o->keyring || o->tsa_ca;
}

static int could_not_run(struct verify_report *r, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int verify_options_check(struct verify_report *r, const struct verify_options *o)
{
	if (o->self_check && has_roots(o))
		return could_not_run(r, "drop --self-check to verify against your roots, or drop the roots "
				     "to check the box against its own",
				     "--self-check takes no trust roots: it checks the box against its own");
	if (!o->self_check && !has_roots(o))
		return could_not_run(r, "give the roots you trust: --trust-signer FPR --keyring FILE "
				     "--tsa-ca FILE (or box.verify.trustSigner, box.verify.keyring and "
				     "box.verify.tsaCa in your git configuration); --self-check checks only "
				     "that the box agrees with itself",
				     "no trust roots: verify must be told whom to believe");
	return 0;
}

/* ---- the verifier ---------------------------------------------------------- */

struct verifier {
	struct verify_report *r;
	const struct verify_options *o;
	git_repository *repo;
	struct box box;               /* box.repo is the caller's: never freed here */
	struct policy policy;         /* at the init commit: the trust defaults and the rules */
	git_oid tip;
	struct box_events ev;
	int sealed;                   /* the newest event is a seal */
	int started;                  /* a commit other than init and imports is on the history */

	char *home;                   /* the private GnuPG home */
	struct sign_ctx *gpg;
	struct tsa_anchors *anchors;
	char *anchors_error;          /* why there are none */
	unsigned char *stamped;       /* per event: a good timestamp tag stamps it */
	struct event_stamps stamps;   /* per event: the earliest genTime of such a tag */
	int floor_signed;             /* the auditor gave signers: the seal must be signed by them */
	int floor_stamped;            /* the auditor gave TSA anchors: the seal must be stamped */
	int seal_signed;              /* the seal has the policy's quorum of trusted signers */

	/* the policy at the event being checked, by blob id */
	git_oid policy_blob;
	int have_policy_blob;
	struct policy event_policy;
};

static int could_not_run(struct verify_report *r, const char *hint, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	box_error_set("%s", msg.ptr);
	buf_release(&msg);
	free(r->hint);
	r->hint = hint ? xstrdup(hint) : NULL;
	return -1;
}

static int read_policy_blob(struct policy *out, git_repository *repo, const git_oid *blob_id,
			    const git_oid *commit)
{
	git_blob *blob = NULL;
	char *origin = xstrfmt("%.12s:%s", git_oid_tostr_s(commit), POLICY_PATH);
	int ret = -1;

	if (git_blob_lookup(&blob, repo, blob_id) < 0) {
		box_error_from_git("cannot read '%s'", origin);
		goto out;
	}
	if (git_blob_rawsize(blob) > POLICY_MAX_BYTES) {
		box_error_set("'%s' is larger than %d bytes", origin, POLICY_MAX_BYTES);
		goto out;
	}
	ret = policy_parse(out, origin, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
out:
	git_blob_free(blob);
	free(origin);
	return ret;
}

/* Read a note again: its payload and signatures, checked against the hash read before. */
static int read_note(struct buf *payload, struct buf *signatures, git_repository *repo,
		     const struct box_event *e)
{
	git_blob *blob = NULL;
	unsigned char sha[SHA256_LEN];
	const char *text;
	size_t len, split;

	if (git_blob_lookup(&blob, repo, &e->note) < 0) {
		box_error_from_git("cannot read the note on %.12s", git_oid_tostr_s(&e->commit));
		return -1;
	}
	text = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	split = box_note_payload_len(text, len);
	buf_add(payload, text, split);
	if (signatures)
		buf_add(signatures, text + split, len - split);
	git_blob_free(blob);
	sha256_buffer(sha, payload->ptr, payload->len);
	if (memcmp(sha, e->payload_sha256, SHA256_LEN)) {
		box_error_set("the note on %.12s changed while it was read", git_oid_tostr_s(&e->commit));
		return -1;
	}
	return 0;
}

static const char *event_name(const struct box_event *e)
{
	return e->invalid ? NULL : e->manifest.event;
}

/* ---- the repository -------------------------------------------------------- */

static int count_refs(size_t *out, git_repository *repo, const char *glob)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int err;

	*out = 0;
	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		box_error_from_git("cannot list the refs");
		return -1;
	}
	while (!(err = git_reference_next(&ref, it))) {
		(*out)++;
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the refs");
		return -1;
	}
	git_error_clear();
	return 0;
}

static int file_exists(const char *dir, const char *name)
{
	char *path = xstrfmt("%s%s", dir, name);
	struct stat st;
	int found = !lstat(path, &st);

	free(path);
	return found;
}

/*
 * verify reads the objects the repository holds, as they are stored:
 * not a history cut short (shallow), not objects borrowed from elsewhere
 * (alternates) or left to fetch later (a partial clone).
 */
static int check_repository(struct verifier *v)
{
	const char *common = git_repository_commondir(v->repo);
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	size_t replaced = 0;
	int partial = 0, grafts;

	if (git_repository_is_shallow(v->repo) == 1)
		return could_not_run(v->r, "fetch the whole history first: git fetch --unshallow",
				     "a shallow clone cannot be verified: its history is cut short");
	if (file_exists(common, "objects/info/alternates"))
		return could_not_run(v->r, "copy the borrowed objects in, then stop borrowing: "
				     "git repack -a -d && rm .git/objects/info/alternates",
				     "the repository borrows objects from another one "
				     "(objects/info/alternates): verify reads only its own");
	if (!git_repository_config_snapshot(&cfg, v->repo)) {
		partial = !git_config_get_string_buf(&value, cfg, "extensions.partialclone");
		git_buf_dispose(&value);
		git_config_free(cfg);
	}
	git_error_clear();
	if (partial)
		return could_not_run(v->r, "make a full clone (git clone without --filter)",
				     "a partial clone cannot be verified: objects are missing");
	if (count_refs(&replaced, v->repo, "refs/replace/*") < 0)
		return -1;
	grafts = file_exists(common, "info/grafts");
	if (replaced)
		add(v->r, VERIFY_WARN, "repository", NULL, NULL, NULL,
		    "%zu replace ref%s (refs/replace/) ignored: verify reads the objects as stored",
		    replaced, replaced == 1 ? "" : "s");
	if (grafts)
		add(v->r, VERIFY_WARN, "repository", NULL, NULL, NULL,
		    "info/grafts ignored: verify follows the parents the commits name");
	if (!replaced && !grafts)
		add(v->r, VERIFY_OK, "repository", NULL, NULL, NULL,
		    "a complete history, its objects read as stored");
	return 0;
}

/* ---- trust roots ----------------------------------------------------------- */

static int make_home(struct verifier *v)
{
	static const char conf[] = "no-auto-key-retrieve\nno-autostart\nauto-key-locate local\n"
				   "trust-model always\n";
	char *path;
	int fd;

	v->home = make_private_tmpdir("verify");
	if (!v->home) {
		box_error_wrap("cannot make a private GnuPG home");
		return -1;
	}
	path = xstrfmt("%s/gpg.conf", v->home);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0 || write(fd, conf, sizeof(conf) - 1) != (ssize_t)(sizeof(conf) - 1) || close(fd) < 0) {
		box_error_set("cannot write gpg.conf for verify: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Copy the public keys of `fprs` from the user's keyring into the private one. */
static int copy_user_keys(struct verifier *v, const struct strlist *fprs, struct strlist *missing)
{
	struct sign_ctx *user = NULL;
	int ret = -1;

	if (!fprs->nr)
		return 0;
	if (sign_open(&user, NULL, NULL) < 0)
		return -1;
	for (size_t i = 0; i < fprs->nr; i++) {
		struct buf key = BUF_INIT;
		int found = sign_export_key(&key, user, fprs->items[i]);

		if (found < 0) {
			buf_release(&key);
			goto out;
		}
		if (!found || sign_import_keys(v->gpg, key.ptr, key.len, NULL) < 0) {
			box_error_clear();
			strlist_add(missing, fprs->items[i]);
		}
		buf_release(&key);
	}
	ret = 0;
out:
	sign_close(user);
	return ret;
}

static void list_fprs(struct buf *out, const struct strlist *l)
{
	for (size_t i = 0; i < l->nr; i++)
		buf_addf(out, "%s%s", i ? ", " : "", l->items[i]);
	if (!l->nr)
		buf_adds(out, "none");
}

/*
 * Trust is given to primary keys: a subkey's fingerprint given as a
 * signer is a mistake worth naming, with the primary key it belongs to.
 */
static int refuse_subkeys(struct verifier *v, const struct strlist *signers, const char *from)
{
	char primary[FPR_HEX_LEN + 1];

	for (size_t i = 0; i < signers->nr; i++) {
		char *uid, *hint;

		if (!sign_key_primary(primary, v->gpg, signers->items[i]) ||
		    !strcmp(primary, signers->items[i]))
			continue;
		uid = sign_key_uid(v->gpg, primary);
		hint = xstrfmt("trust the primary key: %s %s", from, primary);
		could_not_run(v->r, hint, "%s '%s' is a subkey of the key %s%s%s%s: trust is given to "
			      "primary keys", from, signers->items[i], primary, uid ? " (" : "",
			      uid ? uid : "", uid ? ")" : "");
		free(hint);
		free(uid);
		return -1;
	}
	return 0;
}

static int setup_signers(struct verifier *v)
{
	const struct verify_options *o = v->o;
	struct verify_report *r = v->r;
	struct strlist imported = STRLIST_INIT, missing = STRLIST_INIT;
	struct buf list = BUF_INIT;
	const char *signers_from = o->signers_from ? o->signers_from : "--trust-signer";
	const char *keyring_from = o->keyring_from ? o->keyring_from : "--keyring";
	int given = !o->self_check && (o->trust_signers.nr || o->keyring);
	int ret = -1;

	if (make_home(v) < 0 || sign_open(&v->gpg, NULL, v->home) < 0)
		goto out;
	if (given && o->keyring) {
		struct buf data = BUF_INIT;

		if (buf_read_file(&data, o->keyring, KEYRING_MAX_BYTES) < 0 ||
		    sign_import_keys(v->gpg, data.ptr ? data.ptr : "", data.len, &imported) < 0) {
			box_error_wrap("%s '%s'", keyring_from, o->keyring);
			buf_release(&data);
			goto out;
		}
		buf_release(&data);
	}
	for (size_t i = 0; given && i < o->trust_signers.nr; i++) {
		char fpr[FPR_HEX_LEN + 1];

		if (!sign_fpr_parse(fpr, o->trust_signers.items[i])) {
			could_not_run(r, "give the key's full fingerprint: gpg --with-colons --fingerprint KEY",
				      "%s '%s' is not a full primary key fingerprint (40 hex digits)",
				      signers_from, o->trust_signers.items[i]);
			goto out;
		}
		if (!strlist_has(&r->signers, fpr))
			strlist_add(&r->signers, fpr);
	}
	if (given) {
		r->trust_source = "given";
		if (!o->trust_signers.nr)
			for (size_t i = 0; i < imported.nr; i++)
				strlist_add(&r->signers, imported.items[i]);
		else if (!o->keyring && copy_user_keys(v, &r->signers, &missing) < 0)
			goto out;
		for (size_t i = 0; o->keyring && i < r->signers.nr; i++)
			if (!strlist_has(&imported, r->signers.items[i]))
				strlist_add(&missing, r->signers.items[i]);
		if (refuse_subkeys(v, &r->signers, signers_from) < 0)
			goto out;
		list_fprs(&list, &r->signers);
		add(r, VERIFY_OK, "trust", NULL, NULL, NULL, "signers trusted as given (%s%s%s): %s",
		    o->trust_signers.nr ? signers_from : "", o->trust_signers.nr && o->keyring ? ", " : "",
		    o->keyring ? keyring_from : "", list.ptr);
	} else {
		r->trust_source = "repository";
		for (size_t i = 0; i < v->policy.signers.nr; i++)
			strlist_add(&r->signers, v->policy.signers.items[i]);
		if (copy_user_keys(v, &r->signers, &missing) < 0)
			goto out;
		list_fprs(&list, &r->signers);
		if (o->self_check)
			add(r, VERIFY_OK, "trust", NULL, &v->box.id, NULL,
			    "self-check: the signers of the box's own policy at init (%s), their keys from "
			    "your keyring", list.ptr);
		else
			add(r, VERIFY_WARN, "trust", NULL, &v->box.id, NULL,
			    "no trusted signers given: the repository vouched for itself (the signers of its "
			    "policy at init: %s; their keys from your keyring); give --trust-signer FPR or "
			    "--keyring FILE", list.ptr);
	}
	for (size_t i = 0; i < missing.nr; i++)
		add(r, VERIFY_WARN, "trust", NULL, NULL, NULL,
		    "no public key for the trusted signer %s: %s", missing.items[i],
		    given && o->keyring ? "the keyring file does not hold it"
			: "import it (gpg --import) or give --keyring FILE");
	v->floor_signed = given;
	ret = 0;
out:
	buf_release(&list);
	strlist_release(&imported);
	strlist_release(&missing);
	return ret;
}

static int setup_anchors(struct verifier *v)
{
	const char *from = v->o->tsa_ca_from ? v->o->tsa_ca_from : "--tsa-ca";
	struct buf pem = BUF_INIT;

	if (!v->o->self_check && v->o->tsa_ca) {
		if (tsa_anchors_load_file(&v->anchors, v->o->tsa_ca) < 0) {
			box_error_wrap("%s '%s'", from, v->o->tsa_ca);
			return -1;
		}
		add(v->r, VERIFY_OK, "trust", NULL, NULL, NULL, "TSA trust anchors as given (%s)", from);
		v->floor_stamped = 1;
		return 0;
	}
	if (!v->policy.tsa_ca) {
		v->anchors_error = xstrdup("no TSA trust anchors: give --tsa-ca FILE");
		return 0;
	}
	if (repo_read_blob_at(&pem, v->repo, &v->box.id, v->policy.tsa_ca, CA_MAX_BYTES) < 0 ||
	    tsa_anchors_load(&v->anchors, pem.ptr ? pem.ptr : "", pem.len, v->policy.tsa_ca) < 0) {
		v->anchors_error = xstrfmt("the policy's TSA trust anchors cannot be read (%s): give --tsa-ca FILE",
					   box_error_last());
		box_error_clear();
	} else if (v->o->self_check) {
		add(v->r, VERIFY_OK, "trust", NULL, &v->box.id, v->policy.tsa_ca,
		    "self-check: the TSA trust anchors of the box's own policy (its timestamp.ca at init)");
	} else {
		add(v->r, VERIFY_WARN, "trust", NULL, &v->box.id, v->policy.tsa_ca,
		    "no TSA trust anchors given: the repository vouched for itself (its policy's "
		    "timestamp.ca at init); give --tsa-ca FILE");
	}
	buf_release(&pem);
	return 0;
}

/* ---- the chain and the history ------------------------------------------------ */

static void check_chain(struct verifier *v)
{
	struct strlist problems = STRLIST_INIT;
	size_t broken = box_events_check(&v->ev, &v->box, &problems);
	const struct box_event *last = box_events_last(&v->ev);

	box_error_clear();
	for (size_t i = 0; i < problems.nr; i++)
		add(v->r, VERIFY_FAIL, "chain", NULL, NULL, NULL, "%s", problems.items[i]);
	if (!broken) {
		char init[13], end[13];

		git_oid_tostr(init, sizeof(init), &v->box.id);
		git_oid_tostr(end, sizeof(end), &last->commit);
		add(v->r, VERIFY_OK, "chain", NULL, NULL, NULL,
		    "%zu event%s from init on %s to %s on %s, each naming the payload of the one before",
		    v->ev.nr, v->ev.nr == 1 ? "" : "s", init,
		    event_name(last) ? event_name(last) : "?", end);
	}
	strlist_release(&problems);
}

/*
 * The box is the one its id names: its init commit is the one root and
 * the one init of every commit the history verified holds, second
 * parents included (a merge must not bring another box in), every
 * manifest names it, and it is the box the auditor expects.
 */
static int check_identity(struct verifier *v, const git_oid *expected)
{
	struct guard g;
	struct violations found = VIOLATIONS_INIT;
	git_revwalk *walk = NULL;
	git_commit *c = NULL;
	git_oid id;
	size_t judged = 1, foreign = 0;
	const char *pin = v->o->expect_box_from ? v->o->expect_box_from : "--expect-box";
	int err, ret = -1;

	guard_init(&g, v->repo, &v->policy, NULL, 0);
	guard_set_box(&g, &v->box.id);
	if (git_commit_lookup(&c, v->repo, &v->box.id) < 0 || git_revwalk_new(&walk, v->repo) < 0 ||
	    git_revwalk_push(walk, &v->tip) < 0 || git_revwalk_hide(walk, &v->box.id) < 0) {
		box_error_from_git("cannot walk the history of %.12s", git_oid_tostr_s(&v->tip));
		goto out;
	}
	if (guard_check_identity(&found, &g, c, NULL) < 0)
		goto out;
	while (!(err = git_revwalk_next(&id, walk))) {
		git_commit_free(c);
		c = NULL;
		if (git_commit_lookup(&c, v->repo, &id) < 0) {
			box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(&id));
			goto out;
		}
		if (guard_check_identity(&found, &g, c, NULL) < 0)
			goto out;
		judged++;
	}
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot walk the history of %.12s", git_oid_tostr_s(&v->tip));
		goto out;
	}
	git_error_clear();
	for (size_t i = 0; i < found.nr; i++)
		add(v->r, VERIFY_FAIL, "identity", NULL, &found.items[i].commit, NULL, "%s",
		    found.items[i].detail);
	for (size_t i = 0; i < v->ev.nr; i++)
		if (!v->ev.items[i].invalid && !git_oid_equal(&v->ev.items[i].manifest.box, &v->box.id))
			foreign++;
	if (foreign)
		add(v->r, VERIFY_FAIL, "identity", NULL, NULL, NULL,
		    "%zu manifest%s on the history name%s another box (see chain)", foreign,
		    foreign == 1 ? "" : "s", foreign == 1 ? "s" : "");
	if (expected && !git_oid_equal(expected, &v->box.id))
		add(v->r, VERIFY_FAIL, "identity", NULL, NULL, NULL,
		    "the box is %s, not the %s expected (%s)", v->r->box,
		    git_oid_tostr_s(expected), pin);
	else if (expected)
		add(v->r, VERIFY_OK, "identity", NULL, NULL, NULL,
		    "the box is the one expected (%s)", pin);
	if (!found.nr && !foreign)
		add(v->r, VERIFY_OK, "identity", NULL, NULL, NULL,
		    "box %s: its init commit is the one root and the one init of the %zu commit%s "
		    "verified, and every manifest names it%s", v->r->box, judged,
		    judged == 1 ? "" : "s", expected ? "" : "; pin it with --expect-box");
	ret = 0;
out:
	git_commit_free(c);
	git_revwalk_free(walk);
	violations_release(&found);
	guard_release(&g);
	return ret;
}

/* The event on history position `pos`, or NULL: events are in history order. */
static const struct box_event *event_at(const struct verifier *v, size_t *next, size_t pos)
{
	while (*next < v->ev.nr && v->ev.items[*next].position < pos)
		(*next)++;
	return *next < v->ev.nr && v->ev.items[*next].position == pos ? &v->ev.items[*next] : NULL;
}

static int is_rule_of_protection(const char *rule)
{
	return !strcmp(rule, RULE_READ_ONLY_INPUT) || !strcmp(rule, RULE_READ_ONLY_POLICY);
}

/*
 * One walk down the first-parent history: the lifecycle the commits'
 * Box-Event trailers tell, and the guard's judgement of each commit
 * against its first parent (guard.h).
 */
/*
 * A policy naming a program for git box to run is evidence that whoever
 * recorded the box's events may have run it: git box runs built-in
 * probes only (gitbox-policy(5)).
 */
static void check_policy(struct verifier *v)
{
	if (policy_check_capture(&v->policy) < 0) {
		add(v->r, VERIFY_FAIL, "policy", NULL, &v->box.id, POLICY_PATH,
		    "%s; every event recorded by it may have run that program", box_error_last());
		box_error_clear();
		return;
	}
	add(v->r, VERIFY_OK, "policy", NULL, &v->box.id, POLICY_PATH,
	    "names no program to run (environment.capture: built-in probes only)");
}

static int check_history(struct verifier *v)
{
	struct guard g;
	struct violations found = VIOLATIONS_INIT;
	size_t next = 0, lifecycle = 0, frozen = 0, judged = 0, rules = 0;
	long freeze = 0;
	int ret = -1;

	guard_init(&g, v->repo, &v->policy, NULL, 0);
	guard_set_box(&g, &v->box.id);
	for (size_t i = 0; i < v->ev.history_nr; i++) {
		const git_oid *id = &v->ev.history[i];
		const struct box_event *e = event_at(v, &next, i);
		git_commit *c = NULL;
		char *trailer;

		if (git_commit_lookup(&c, v->repo, id) < 0) {
			box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(id));
			goto out;
		}
		trailer = commit_event(c);
		if (trailer && box_event_trailer_valid(trailer) && !e) {
			add(v->r, VERIFY_FAIL, "lifecycle", trailer, id, NULL,
			    "the commit says it is the box's %s, but %s has no manifest on it",
			    trailer, BOX_NOTES_REF);
			lifecycle++;
		}
		if (i && (!trailer || (strcmp(trailer, "import") && strcmp(trailer, "init"))))
			v->started = 1;
		if (!v->started)
			freeze = (long)i;
		free(trailer);

		if (i)
			judged++;
		if (guard_check_commit(&found, &g, c, NULL) < 0) {
			add(v->r, VERIFY_FAIL, "frozen", NULL, id, NULL, "cannot judge the commit: %s",
			    box_error_last());
			frozen++;
			box_error_clear();
		}
		git_commit_free(c);
	}
	for (size_t i = 0; i < found.nr; i++) {
		const struct violation *x = &found.items[i];
		int protect = is_rule_of_protection(x->rule);

		if (!strcmp(x->rule, RULE_BOX_IDENTITY))
			continue;   /* check_identity() judges every commit, not only these */
		if (!strcmp(x->rule, RULE_EVENT_TRAILER)) {
			add(v->r, VERIFY_FAIL, "lifecycle", NULL, &x->commit, x->path, "%s", x->detail);
			lifecycle++;
			continue;
		}
		add(v->r, protect ? VERIFY_FAIL : VERIFY_WARN, protect ? "frozen" : "rules", NULL,
		    &x->commit, x->path, "%s: %s%s", x->rule, x->detail,
		    protect ? " after the inputs were frozen" : "");
		if (protect)
			frozen++;
		else
			rules++;
	}
	if (!lifecycle)
		add(v->r, VERIFY_OK, "lifecycle", NULL, NULL, NULL,
		    "init, then %s, in order; every commit that claims an event is that event "
		    "and has its manifest", v->started ? "imports, then the work" : "imports only");
	if (!frozen)
		add(v->r, VERIFY_OK, "frozen", NULL, &v->ev.history[freeze], NULL,
		    "no commit after the freeze changes an input or the policy (%zu commit%s judged)",
		    judged, judged == 1 ? "" : "s");
	if (!rules)
		add(v->r, VERIFY_OK, "rules", NULL, NULL, NULL,
		    "every commit people made keeps the policy's rules");
	ret = 0;
out:
	violations_release(&found);
	guard_release(&g);
	return ret;
}

/* ---- payloads ---------------------------------------------------------------- */

static int compare_files(const void *a, const void *b)
{
	return strcmp(((const struct hash_file *)a)->path, ((const struct hash_file *)b)->path);
}

static const struct hash_file *find_file(const struct hash_files *l, const char *path)
{
	struct hash_file key;

	if (!l->nr)
		return NULL;
	key.path = (char *)path;
	return bsearch(&key, l->items, l->nr, sizeof(*l->items), compare_files);
}

/*
 * The files of the event's tree with their SHA-256: what the previous
 * event's tree had with the same blob and mode is taken over, and what
 * this process hashed already (options.known) is taken from there; only
 * the rest is read and hashed, with no cache (hash.h). `hashed` counts
 * the files not taken over from the previous event, however their
 * digests were found, so that the report does not depend on `known`.
 */
static int hash_tree(struct hash_files *cur, size_t *hashed, struct verifier *v,
		     const struct box_event *e, const struct hash_files *prev)
{
	struct hash_files todo = HASH_FILES_INIT;
	struct hash_options ho = HASH_OPTIONS_INIT;
	struct hash_stats stats;
	git_tree *tree = NULL;
	size_t *where = NULL, seeded = 0;
	int ret = -1;

	if (git_tree_lookup(&tree, v->repo, &e->tree) < 0) {
		box_error_from_git("cannot read the tree of %.12s", git_oid_tostr_s(&e->commit));
		return -1;
	}
	if (hash_files_from_tree(cur, v->repo, tree) < 0)
		goto out;
	if (cur->nr > 1)
		qsort(cur->items, cur->nr, sizeof(*cur->items), compare_files);
	where = xcalloc(cur->nr ? cur->nr : 1, sizeof(*where));
	todo.items = xcalloc(cur->nr ? cur->nr : 1, sizeof(*todo.items));
	todo.alloc = cur->nr ? cur->nr : 1;
	for (size_t i = 0; i < cur->nr; i++) {
		struct hash_file *f = &cur->items[i];
		const struct hash_file *old = find_file(prev, f->path);
		const struct hash_known_blob *k;

		if (old && git_oid_equal(&old->id, &f->id) && old->mode == f->mode) {
			f->size = old->size;
			memcpy(f->sha256, old->sha256, SHA256_LEN);
			continue;
		}
		if ((k = hash_known_find(v->o->known, &f->id))) {
			f->size = k->size;
			memcpy(f->sha256, k->sha256, SHA256_LEN);
			seeded++;
			continue;
		}
		where[todo.nr] = i;
		todo.items[todo.nr] = *f;
		todo.items[todo.nr].path = xstrdup(f->path);
		todo.nr++;
	}
	ho.use_cache = 0;
	if (todo.nr && hash_files_compute(&todo, v->repo, &ho, &stats) < 0)
		goto out;
	for (size_t i = 0; i < todo.nr; i++) {
		cur->items[where[i]].size = todo.items[i].size;
		memcpy(cur->items[where[i]].sha256, todo.items[i].sha256, SHA256_LEN);
	}
	*hashed = todo.nr + seeded;
	ret = 0;
out:
	hash_files_release(&todo);
	free(where);
	git_tree_free(tree);
	return ret;
}

struct entry {
	const struct manifest_file *f;
	const char *class;
};

static int compare_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->f->path, ((const struct entry *)b)->f->path);
}

static struct entry *entries_of(const struct manifest *m, size_t *nr)
{
	const struct manifest_file *f;
	const char *class;
	size_t n = m->inputs.nr + m->outputs.nr + m->code.nr;
	struct entry *all = xcalloc(n ? n : 1, sizeof(*all));

	for (*nr = 0; (f = manifest_file_at(m, *nr, &class)); (*nr)++) {
		all[*nr].f = f;
		all[*nr].class = class;
	}
	if (*nr > 1)
		qsort(all, *nr, sizeof(*all), compare_entries);
	return all;
}

static const char *mode_text(unsigned int mode)
{
	return mode == 0100755 ? "100755" : mode == 0120000 ? "120000" : mode == 0100644 ? "100644" : "?";
}

/* Compare the files the manifest lists with those of the commit; returns how many differ. */
static size_t compare_manifest(struct verifier *v, const struct box_event *e, const struct manifest *stored,
			       const struct manifest *actual)
{
	size_t ns, na, i = 0, j = 0, bad = 0;
	struct entry *s = entries_of(stored, &ns), *a = entries_of(actual, &na);
	const char *event = stored->event;
	char h1[SHA256_HEX_LEN + 1], h2[SHA256_HEX_LEN + 1];
	struct buf why = BUF_INIT;

#define DIFFER(path, ...) do { \
		if (bad++ < PAYLOAD_LISTED_MAX) \
			add(v->r, VERIFY_FAIL, "payload", event, &e->commit, path, __VA_ARGS__); \
	} while (0)

	while (i < ns || j < na) {
		int cmp = i >= ns ? 1 : j >= na ? -1 : strcmp(s[i].f->path, a[j].f->path);

		if (i + 1 < ns && !strcmp(s[i].f->path, s[i + 1].f->path)) {
			DIFFER(s[i].f->path, "listed twice in the manifest");
			i++;
			continue;
		}
		if (cmp < 0) {
			DIFFER(s[i].f->path, "in the manifest (%s), but not in the commit", s[i].class);
			i++;
			continue;
		}
		if (cmp > 0) {
			DIFFER(a[j].f->path, "in the commit (%s), but not in the manifest", a[j].class);
			j++;
			continue;
		}
		buf_reset(&why);
		if (strcmp(s[i].class, a[j].class))
			buf_addf(&why, "%slisted in %s, but the policy makes it %s", why.len ? "; " : "",
				 s[i].class, a[j].class);
		if (memcmp(s[i].f->sha256, a[j].f->sha256, SHA256_LEN)) {
			sha256_hex(h1, s[i].f->sha256);
			sha256_hex(h2, a[j].f->sha256);
			buf_addf(&why, "%sthe manifest says sha256 %s, the commit's blob hashes to %s",
				 why.len ? "; " : "", h1, h2);
		}
		if (s[i].f->size != a[j].f->size)
			buf_addf(&why, "%sthe manifest says %llu bytes, the blob has %llu", why.len ? "; " : "",
				 (unsigned long long)s[i].f->size, (unsigned long long)a[j].f->size);
		if (s[i].f->mode != a[j].f->mode)
			buf_addf(&why, "%sthe manifest says mode %s, the commit has %s", why.len ? "; " : "",
				 mode_text(s[i].f->mode), mode_text(a[j].f->mode));
		if (why.len)
			DIFFER(a[j].f->path, "%s", why.ptr);
		i++;
		j++;
	}
	if (memcmp(stored->policy, actual->policy, SHA256_LEN)) {
		sha256_hex(h1, stored->policy);
		sha256_hex(h2, actual->policy);
		DIFFER(POLICY_PATH, "the manifest names policy sha256 %s, the commit's policy hashes to %s", h1, h2);
	}
	if (bad > PAYLOAD_LISTED_MAX) {
		add(v->r, VERIFY_FAIL, "payload", event, &e->commit, NULL, "%zu more differences not listed",
		    bad - PAYLOAD_LISTED_MAX);
	}
#undef DIFFER
	buf_release(&why);
	free(s);
	free(a);
	return bad;
}

/* The policy committed with the event, parsed once per distinct blob. */
static const struct policy *policy_of(struct verifier *v, const struct hash_files *files,
				      const struct box_event *e)
{
	const struct hash_file *f = find_file(files, POLICY_PATH);

	if (!f || f->mode == 0120000) {
		box_error_set("the commit has no '%s'", POLICY_PATH);
		return NULL;
	}
	if (v->have_policy_blob && git_oid_equal(&v->policy_blob, &f->id))
		return &v->event_policy;
	policy_release(&v->event_policy);
	v->have_policy_blob = 0;
	if (read_policy_blob(&v->event_policy, v->repo, &f->id, &e->commit) < 0)
		return NULL;
	git_oid_cpy(&v->policy_blob, &f->id);
	v->have_policy_blob = 1;
	return &v->event_policy;
}

static void check_payload(struct verifier *v, const struct box_event *e, const struct manifest *stored,
			  struct hash_files *prev)
{
	struct hash_files cur = HASH_FILES_INIT;
	struct manifest actual = MANIFEST_INIT;
	const struct policy *p;
	size_t hashed = 0, bad;

	if (hash_tree(&cur, &hashed, v, e, prev) < 0 || !(p = policy_of(v, &cur, e)) ||
	    manifest_set_files(&actual, &cur, p) < 0) {
		add(v->r, VERIFY_FAIL, "payload", stored->event, &e->commit, NULL,
		    "cannot recompute the commit's files: %s", box_error_last());
		box_error_clear();
		hash_files_release(&cur);
		manifest_release(&actual);
		return;
	}
	bad = compare_manifest(v, e, stored, &actual);
	if (!bad)
		add(v->r, VERIFY_OK, "payload", stored->event, &e->commit, NULL,
		    "%zu file%s (%zu input%s, %zu output%s, %zu code) and the policy hash as the manifest says "
		    "(%zu blob%s read)", cur.nr, cur.nr == 1 ? "" : "s",
		    actual.inputs.nr, actual.inputs.nr == 1 ? "" : "s",
		    actual.outputs.nr, actual.outputs.nr == 1 ? "" : "s", actual.code.nr,
		    hashed, hashed == 1 ? "" : "s");
	manifest_release(&actual);
	hash_files_release(prev);
	*prev = cur;
}

/* ---- signatures ---------------------------------------------------------------- */

/*
 * The seal's quorum: the policy's, and at least one trusted signer when
 * the auditor gave signers (the floor), unless --allow-unsigned.
 */
static void check_quorum(struct verifier *v, const struct box_event *e, const char *event,
			 const struct strlist *counted)
{
	int quorum = v->policy.quorum;
	struct buf missing = BUF_INIT;

	if (quorum > 0) {
		for (size_t i = 0; i < v->r->signers.nr; i++)
			if (!strlist_has(counted, v->r->signers.items[i]))
				buf_addf(&missing, "%s%s", missing.len ? ", " : "", v->r->signers.items[i]);
		if (counted->nr >= (size_t)quorum)
			add(v->r, VERIFY_OK, "quorum", event, &e->commit, NULL,
			    "%zu distinct trusted signer%s of the %d the policy requires", counted->nr,
			    counted->nr == 1 ? "" : "s", quorum);
		else
			add(v->r, VERIFY_FAIL, "quorum", event, &e->commit, NULL,
			    "%zu distinct trusted signer%s of the %d the policy requires; not signed by: %s",
			    counted->nr, counted->nr == 1 ? "" : "s", quorum,
			    missing.len ? missing.ptr : "any other trusted key");
	} else if (!v->floor_signed) {
		/* the policy signs nothing, and no signer was given to hold it to */
	} else if (counted->nr) {
		add(v->r, VERIFY_OK, "quorum", event, &e->commit, NULL,
		    "%zu distinct trusted signer%s; the policy requires none, your trusted signers at least one",
		    counted->nr, counted->nr == 1 ? "" : "s");
	} else if (v->o->allow_unsigned) {
		add(v->r, VERIFY_WARN, "quorum", event, &e->commit, NULL,
		    "no good signature by a trusted signer: the seal is unsigned, accepted as you allowed "
		    "(--allow-unsigned)");
	} else {
		add(v->r, VERIFY_FAIL, "quorum", event, &e->commit, NULL,
		    "no good signature by a trusted signer: you gave trusted signers, so the seal must be "
		    "signed by one (the policy signs nothing); --allow-unsigned accepts an unsigned box");
	}
	buf_release(&missing);
}

static void check_signatures(struct verifier *v, const struct box_event *e, const struct manifest *m,
			     const struct buf *payload, const struct buf *signatures)
{
	struct sign_checks checks = SIGN_CHECKS_INIT;
	struct sign_window window = SIGN_WINDOW_INIT;
	struct strlist counted = STRLIST_INIT;
	const char *event = m->event;
	size_t unknown = 0;
	int wanted = event_signed_by_policy(&v->policy, event);
	struct buf line = BUF_INIT;

	event_stamps_window(&window, &v->stamps, &v->ev, (size_t)(e - v->ev.items));
	if (sign_check_all_within(&checks, v->gpg, payload->ptr ? payload->ptr : "", payload->len,
				  signatures->ptr ? signatures->ptr : "", signatures->len, &window) < 0) {
		add(v->r, VERIFY_FAIL, "signature", event, &e->commit, NULL,
		    "the signatures cannot be read: %s", box_error_last());
		box_error_clear();
		sign_checks_release(&checks);
		return;
	}
	for (size_t i = 0; i < checks.nr; i++) {
		const struct sign_check *c = &checks.items[i];

		struct sign_check shown = *c;

		/* trust is the roots' fingerprints here, not gpg's web of trust */
		shown.trusted = 1;
		buf_reset(&line);
		sign_check_describe(&line, &shown);
		if (c->good && strlist_has(&v->r->signers, c->fpr)) {
			add(v->r, VERIFY_OK, "signature", event, &e->commit, NULL, "%s", line.ptr);
			if (!strlist_has(&counted, c->fpr))
				strlist_add(&counted, c->fpr);
		} else if (c->good) {
			add(v->r, VERIFY_WARN, "signature", event, &e->commit, NULL,
			    "%s, but the key is not among the trust roots: not counted", line.ptr);
		} else if (!*c->fpr && !strlist_has(&v->r->signers, c->signing_fpr)) {
			add(v->r, VERIFY_WARN, "signature", event, &e->commit, NULL,
			    "by an unknown key %s, not among the trust roots: not counted",
			    *c->signing_fpr ? c->signing_fpr : "(no fingerprint)");
			unknown++;
		} else if (!*c->fpr) {
			add(v->r, VERIFY_FAIL, "signature", event, &e->commit, NULL,
			    "by the trusted signer %s, whose public key is missing: %s", c->signing_fpr,
			    v->floor_signed && v->o->keyring ? "add it to the keyring file"
							     : "import it (gpg --import) or give --keyring FILE");
		} else {
			add(v->r, VERIFY_FAIL, "signature", event, &e->commit, NULL, "%s", line.ptr);
		}
	}
	if (wanted && !counted.nr)
		add(v->r, VERIFY_FAIL, "signature", event, &e->commit, NULL,
		    "the policy signs %s events, but no good signature by a trusted signer is on this one%s",
		    event, unknown ? " (the public keys of some signers are missing: give --keyring FILE)" : "");
	if (!strcmp(event, "seal"))
		check_quorum(v, e, event, &counted);
	if (!strcmp(event, "seal") && e == box_events_last(&v->ev))
		v->seal_signed = counted.nr >= (size_t)v->policy.quorum;
	buf_release(&line);
	strlist_release(&counted);
	sign_checks_release(&checks);
}

static int check_events(struct verifier *v)
{
	struct hash_files prev = HASH_FILES_INIT;
	int ret = -1;

	for (size_t i = 0; i < v->ev.nr; i++) {
		const struct box_event *e = &v->ev.items[i];
		struct buf payload = BUF_INIT, signatures = BUF_INIT;
		struct manifest m = MANIFEST_INIT;

		if (read_note(&payload, &signatures, v->repo, e) < 0)
			goto out;
		if (e->invalid || manifest_parse(&m, payload.ptr ? payload.ptr : "", payload.len) < 0) {
			const char *why = e->invalid ? e->invalid : box_error_last();

			add(v->r, VERIFY_FAIL, "payload", NULL, &e->commit, NULL, "%s%s",
			    starts_with(why, "not a manifest") ? "" : "not a manifest: ", why);
			box_error_clear();
		} else {
			check_payload(v, e, &m, &prev);
			check_signatures(v, e, &m, &payload, &signatures);
		}
		manifest_release(&m);
		buf_release(&payload);
		buf_release(&signatures);
	}
	ret = 0;
out:
	hash_files_release(&prev);
	return ret;
}

/* ---- timestamps ---------------------------------------------------------------- */

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_tag(struct verifier *v, const char *refname)
{
	const char *name = refname + strlen("refs/tags/");
	git_reference *ref = NULL;
	git_tag *tag = NULL;
	git_commit *commit = NULL;
	struct tsa_tag parsed = TSA_TAG_INIT;
	struct tsa_token token = TSA_TOKEN_INIT;
	struct buf payload = BUF_INIT;
	const struct box_event *e;
	const git_oid *target;
	char *named = NULL, hex[SHA256_HEX_LEN + 1];
	unsigned long n;

#define TAG_FAIL(ev, id, ...) do { \
		add(v->r, VERIFY_FAIL, "timestamp", ev, id, NULL, __VA_ARGS__); \
		goto out; \
	} while (0)

	if (tsa_tag_name_parse(&named, &n, refname) < 0)
		TAG_FAIL(NULL, NULL, "'%s' is not a timestamp tag name (box/<event>-<n>)", name);
	if (git_reference_lookup(&ref, v->repo, refname) < 0 ||
	    git_reference_type(ref) != GIT_REFERENCE_DIRECT)
		TAG_FAIL(named, NULL, "'%s' cannot be read as a tag", name);
	if (git_tag_lookup(&tag, v->repo, git_reference_target(ref)) < 0)
		TAG_FAIL(named, NULL, "'%s' is not an annotated tag", name);
	target = git_tag_target_id(tag);
	if (git_tag_target_type(tag) != GIT_OBJECT_COMMIT || git_commit_lookup(&commit, v->repo, target) < 0)
		TAG_FAIL(named, NULL, "'%s' does not point at a commit", name);
	e = box_events_find(&v->ev, target);
	if (!e && v->o->rev_given && box_events_position(&v->ev, target) < 0) {
		add(v->r, VERIFY_WARN, "timestamp", named, target, NULL,
		    "'%s' points outside the history verified: not checked", name);
		goto out;
	}
	if (!e)
		TAG_FAIL(named, target, "'%s' points at a commit that is not an event of the box", name);
	if (e->invalid)
		TAG_FAIL(named, target, "'%s' stamps a note that is not a manifest", name);
	if (tsa_tag_parse(&parsed, git_tag_message(tag), strlen(git_tag_message(tag))) < 0)
		TAG_FAIL(named, target, "'%s': %s", name, box_error_last());
	if (strcmp(parsed.event, named))
		TAG_FAIL(named, target, "'%s' is named for the %s event, but says it stamps the %s event",
			 name, named, parsed.event);
	if (strcmp(parsed.event, e->manifest.event))
		TAG_FAIL(named, target, "'%s' stamps the %s event, but the manifest on this commit records %s",
			 name, parsed.event, e->manifest.event);
	sha256_hex(hex, e->payload_sha256);
	if (strcmp(parsed.payload_sha256, hex))
		TAG_FAIL(named, target, "'%s' names payload sha256 %s, but the manifest on this commit has %s",
			 name, parsed.payload_sha256, hex);
	if (!v->anchors)
		TAG_FAIL(named, target, "'%s' cannot be checked: %s", name, v->anchors_error);
	if (read_note(&payload, NULL, v->repo, e) < 0)
		TAG_FAIL(named, target, "'%s': %s", name, box_error_last());
	{
		struct tsa_expect expect = {
			.data = payload.ptr ? payload.ptr : "", .len = payload.len,
			.not_before = (time_t)git_commit_committer(commit)->when.time,
		};

		if (tsa_check_response(&token, parsed.der, parsed.der_len, &expect, v->anchors) < 0)
			TAG_FAIL(named, target, "'%s': %s", name, box_error_last());
	}
	if (strcmp(parsed.gen_time, token.gen_time_text))
		TAG_FAIL(named, target, "'%s' says Gen-Time %s, but its token says %s", name,
			 parsed.gen_time, token.gen_time_text);
	add(v->r, VERIFY_OK, "timestamp", named, target, NULL,
	    "'%s': genTime %s, signed by %s, over this payload, chained to a trusted TSA",
	    name, token.gen_time_text, token.signer ? token.signer : "(no subject)");
	v->stamped[e - v->ev.items] = 1;
	if (!v->stamps.gen_time[e - v->ev.items] || token.gen_time < v->stamps.gen_time[e - v->ev.items])
		v->stamps.gen_time[e - v->ev.items] = token.gen_time;
#undef TAG_FAIL
out:
	box_error_clear();
	buf_release(&payload);
	tsa_token_release(&token);
	tsa_tag_release(&parsed);
	git_commit_free(commit);
	git_tag_free(tag);
	git_reference_free(ref);
	free(named);
}

/*
 * Given TSA anchors, the seal needs a valid timestamp even when the
 * policy wants none, unless --allow-unstamped (the policy's own wish is
 * checked above, whatever the auditor allows).
 */
static void check_stamp_floor(struct verifier *v, size_t tags)
{
	const struct box_event *seal = box_events_last(&v->ev);
	size_t i = seal ? (size_t)(seal - v->ev.items) : 0;

	if (!v->sealed || !v->floor_stamped || v->stamped[i] || tsa_policy_wants(&v->policy, "seal"))
		return;
	if (v->o->allow_unstamped)
		add(v->r, VERIFY_WARN, "timestamp", "seal", &seal->commit, NULL,
		    "no valid timestamp tag stamps the seal: accepted as you allowed (--allow-unstamped)");
	else
		add(v->r, VERIFY_FAIL, "timestamp", "seal", &seal->commit, NULL,
		    "no valid timestamp tag stamps the seal: you gave TSA trust anchors, so the seal must "
		    "be timestamped (the policy wants no timestamp); --allow-unstamped accepts an "
		    "unstamped box%s", tags ? "" : " (no box/ tags here: fetch them: " FETCH_HINT ")");
}

static int check_timestamps(struct verifier *v)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	struct strlist names = STRLIST_INIT;
	int err;

	v->stamped = xcalloc(v->ev.nr ? v->ev.nr : 1, 1);
	v->stamps.nr = v->ev.nr;
	v->stamps.gen_time = xcalloc(v->ev.nr ? v->ev.nr : 1, sizeof(*v->stamps.gen_time));
	v->stamps.proven = xcalloc(v->ev.nr ? v->ev.nr : 1, sizeof(*v->stamps.proven));
	if (git_reference_iterator_glob_new(&it, v->repo, BOX_TAG_PREFIX "*") < 0) {
		box_error_from_git("cannot list the timestamp tags");
		return -1;
	}
	while (!(err = git_reference_next(&ref, it))) {
		strlist_add(&names, git_reference_name(ref));
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the timestamp tags");
		strlist_release(&names);
		return -1;
	}
	git_error_clear();
	if (names.nr > 1)
		qsort(names.items, names.nr, sizeof(*names.items), compare_strings);
	for (size_t i = 0; i < names.nr; i++)
		check_tag(v, names.items[i]);
	for (size_t i = 0; i < v->ev.nr; i++) {
		const struct box_event *e = &v->ev.items[i];

		if (e->invalid || v->stamped[i] || !tsa_policy_wants(&v->policy, e->manifest.event))
			continue;
		add(v->r, VERIFY_FAIL, "timestamp", e->manifest.event, &e->commit, NULL,
		    "the policy wants the %s event timestamped, but no valid timestamp tag stamps it%s",
		    e->manifest.event, names.nr ? "" : " (no box/ tags here: fetch them: " FETCH_HINT ")");
	}
	check_stamp_floor(v, names.nr);
	strlist_release(&names);
	return 0;
}

/* ---- the seal ---------------------------------------------------------------------- */

static void check_seal(struct verifier *v)
{
	const struct box_event *last = box_events_last(&v->ev);
	const char *expect = v->o->expect_seal;
	char hex[SHA256_HEX_LEN + 1];

	if (v->sealed) {
		sha256_hex(hex, last->payload_sha256);
		if (!git_oid_equal(&v->box.tip, &last->commit))
			add(v->r, VERIFY_FAIL, "seal", "seal", &last->commit, NULL,
			    "the box branch %s does not end at the seal: its tip is %.12s",
			    v->box.branch_ref, git_oid_tostr_s(&v->box.tip));
		else
			add(v->r, VERIFY_OK, "seal", "seal", &last->commit, NULL,
			    "sealed (payload sha256 %s); nothing follows it on %s", hex, v->box.branch_ref);
	}
	if (expect) {
		if (!v->sealed)
			add(v->r, VERIFY_FAIL, "seal", NULL, NULL, NULL,
			    "a seal with payload sha256 %s was expected, but the box has no seal", expect);
		else if (strcmp(expect, hex))
			add(v->r, VERIFY_FAIL, "seal", "seal", &last->commit, NULL,
			    "the seal's payload has sha256 %s, not the %s expected", hex, expect);
		else
			add(v->r, VERIFY_OK, "seal", "seal", &last->commit, NULL,
			    "the seal is the one expected (--expect-seal)");
	} else if (!v->sealed) {
		add(v->r, VERIFY_WARN, "seal", NULL, NULL, NULL,
		    "the box is not sealed; a host that took a seal away (its commit, note and tag) "
		    "would show the same: pin the seal with --expect-seal SHA256");
	}
}

/*
 * All the policy wants of the seal is there: the quorum of trusted
 * signers, and a valid timestamp when the policy wants one.
 */
static int seal_complete(const struct verifier *v)
{
	const struct box_event *seal = box_events_last(&v->ev);

	return v->seal_signed &&
	       (!tsa_policy_wants(&v->policy, "seal") || v->stamped[seal - v->ev.items]);
}

/* ---- all of it ------------------------------------------------------------------------ */

int verify_repository(struct verify_report *out, git_repository *repo, const char *rev,
		      const struct verify_options *o)
{
	struct verifier v;
	struct verify_report stamps = VERIFY_REPORT_INIT;
	const struct box_event *last;
	struct buf pol = BUF_INIT;
	git_oid expected_box;
	int not_a_box, stamped, ret = -1;

	memset(&v, 0, sizeof(v));
	memset(out, 0, sizeof(*out));
	v.r = out;
	v.o = o;
	v.repo = repo;
	out->self_check = o->self_check;
	if (verify_options_check(out, o) < 0)
		return -1;
	if (o->expect_seal) {
		unsigned char digest[SHA256_LEN];

		if (sha256_from_hex(digest, o->expect_seal) < 0)
			return could_not_run(out, NULL, "--expect-seal '%s' is not a SHA-256 "
					     "(64 lower-case hex digits)", o->expect_seal);
	}
	if (o->expect_box && (strlen(o->expect_box) != GIT_OID_HEXSZ ||
			      git_oid_fromstr(&expected_box, o->expect_box) < 0)) {
		git_error_clear();
		return could_not_run(out, "give the box id in full, as 'git box status' shows it",
				     "%s '%s' is not a box id (the 40 hex digits of its init commit)",
				     o->expect_box_from ? o->expect_box_from : "--expect-box", o->expect_box);
	}
	if (check_repository(&v) < 0)
		goto out;
	if (box_open_flags(&v.box, repo, &not_a_box, BOX_OPEN_POLICY_AT_INIT) < 0) {
		v.box.repo = NULL;
		if (not_a_box)
			could_not_run(out, "clone the box with its branch, or name the right repository",
				      "%s", box_error_last());
		goto out;
	}
	out->box = xstrdup(git_oid_tostr_s(&v.box.id));
	if (repo_read_blob_at(&pol, repo, &v.box.id, POLICY_PATH, POLICY_MAX_BYTES) < 0 ||
	    policy_parse(&v.policy, "init:" POLICY_PATH, pol.ptr ? pol.ptr : "", pol.len) < 0)
		goto out;
	out->name = xstrdup(v.policy.name);
	check_policy(&v);
	if (!rev)
		git_oid_cpy(&v.tip, &v.box.tip);
	else if (box_resolve_commit(&v.tip, repo, rev) < 0)
		goto out;
	out->commit = xstrdup(git_oid_tostr_s(&v.tip));
	if (box_events_load(&v.ev, &v.box, &v.tip, BOX_EVENTS_LEAN) < 0)
		goto out;
	if (!v.ev.have_notes) {
		could_not_run(out, "fetch them: " FETCH_HINT,
			      "no manifests: there is no %s in this repository", BOX_NOTES_REF);
		goto out;
	}
	if (!v.ev.nr && !v.ev.noted_nr) {
		could_not_run(out, "fetch them: " FETCH_HINT,
			      "no manifest on the box's history: %s has no note on it", BOX_NOTES_REF);
		goto out;
	}
	if (!v.ev.nr) {
		/*
		 * The notes are here, on other commits: a history rewritten
		 * under its manifests, or another box's notes. Either way the
		 * record does not hold: a failure, not a missing fetch.
		 */
		add(out, VERIFY_FAIL, "chain", NULL, &v.tip, NULL,
		    "none of the %zu notes of %s is on the box's history up to %.12s: "
		    "the history was rewritten under its manifests, or the notes are another box's",
		    v.ev.noted_nr, BOX_NOTES_REF, git_oid_tostr_s(&v.tip));
		ret = 0;
		goto out;
	}
	if (setup_signers(&v) < 0 || setup_anchors(&v) < 0)
		goto out;
	last = box_events_last(&v.ev);
	v.sealed = last && !last->invalid && !strcmp(last->manifest.event, "seal");
	check_chain(&v);
	if (check_identity(&v, o->expect_box ? &expected_box : NULL) < 0 || check_history(&v) < 0)
		goto out;
	/*
	 * The timestamps are checked before the signatures, whose keys are
	 * judged at their genTimes, and reported after them, as before.
	 */
	v.r = &stamps;
	stamped = check_timestamps(&v);
	v.r = out;
	if (stamped < 0 || check_events(&v) < 0)
		goto out;
	verify_report_take(out, &stamps);
	check_seal(&v);
	out->state = box_state_name(v.sealed ? (seal_complete(&v) ? BOX_COMPLETED : BOX_SEALED)
				    : v.started ? BOX_IN_PROGRESS : BOX_CREATED);
	ret = 0;
out:
	if (v.home) {
		sign_close(v.gpg);
		v.gpg = NULL;
		remove_tree(v.home);
		free(v.home);
	}
	sign_close(v.gpg);
	tsa_anchors_free(v.anchors);
	free(v.anchors_error);
	free(v.stamped);
	event_stamps_release(&v.stamps);
	verify_report_release(&stamps);
	policy_release(&v.event_policy);
	policy_release(&v.policy);
	box_events_release(&v.ev);
	buf_release(&pol);
	v.box.repo = NULL;
	box_release(&v.box);
	return ret;
}

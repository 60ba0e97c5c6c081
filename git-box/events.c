#include "events.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "environment.h"
#include "banned.h"

#define POLICY_MAX_BYTES (1024 * 1024)
#define REF_LOCK_TRIES 20
#define REF_LOCK_WAIT_US (50 * 1000)

/* Twelve hex digits of an id into `buf` (13 bytes): git_oid_tostr_s() cannot be used twice in one call. */
static const char *short_id(char *buf, const git_oid *id)
{
	return git_oid_tostr(buf, 13, id);
}

static int compare_oids(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

int box_events_noted(const struct box_events *ev, const git_oid *commit)
{
	return ev->noted_nr && bsearch(commit, ev->noted, ev->noted_nr, sizeof(*ev->noted), compare_oids);
}

int box_exit_code(int ret)
{
	return ret == BOX_EREFUSED || ret == BOX_ECONFLICT ? BOX_FAILED : BOX_ERROR;
}

int box_resolve_commit(git_oid *out, git_repository *repo, const char *rev)
{
	git_object *obj = NULL, *commit = NULL;
	int ret = -1;

	if (git_revparse_single(&obj, repo, rev) < 0 || git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		box_error_set("'%s' is not a commit", rev);
		git_error_clear();
		goto out;
	}
	git_oid_cpy(out, git_object_id(commit));
	ret = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return ret;
}

/* The first-parent history from `tip` back to the init commit, then turned oldest first. */
static int load_history(struct box_events *ev, const struct box *b, const git_oid *tip)
{
	git_revwalk *walk = NULL;
	git_oid id;
	size_t alloc = 0;
	int found = 0, ret = -1, err;

	if (git_revwalk_new(&walk, b->repo) < 0 || git_revwalk_push(walk, tip) < 0) {
		box_error_from_git("cannot walk the history of %.12s", git_oid_tostr_s(tip));
		goto out;
	}
	git_revwalk_simplify_first_parent(walk);
	while (!(err = git_revwalk_next(&id, walk))) {
		if (ev->history_nr == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			ev->history = xrealloc(ev->history, alloc * sizeof(*ev->history));
		}
		git_oid_cpy(&ev->history[ev->history_nr++], &id);
		if (git_oid_equal(&id, &b->id)) {
			found = 1;
			break;
		}
	}
	if (err && err != GIT_ITEROVER) {
		box_error_from_git("cannot walk the history of %.12s", git_oid_tostr_s(tip));
		goto out;
	}
	if (!found) {
		char a[13], c[13];

		box_error_set("%s does not descend from the box's init commit %s on its "
			      "first-parent line", short_id(a, tip), short_id(c, &b->id));
		goto out;
	}
	for (size_t i = 0; i < ev->history_nr / 2; i++) {
		git_oid t = ev->history[i];

		ev->history[i] = ev->history[ev->history_nr - 1 - i];
		ev->history[ev->history_nr - 1 - i] = t;
	}
	ret = 0;
out:
	git_revwalk_free(walk);
	return ret;
}

/* Every commit the notes commit has a note for, with each note's blob. */
static int load_noted(struct box_events *ev, git_commit *notes, git_oid **blobs)
{
	git_note_iterator *it = NULL;
	git_oid blob, annotated;
	size_t alloc = 0;
	int err;

	if (git_note_commit_iterator_new(&it, notes) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		return -1;
	}
	while (!(err = git_note_next(&blob, &annotated, it))) {
		if (ev->noted_nr == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			/* Pairs: the annotated commit, then its note's blob, sorted together below. */
			*blobs = xrealloc(*blobs, 2 * alloc * sizeof(**blobs));
		}
		git_oid_cpy(&(*blobs)[2 * ev->noted_nr], &annotated);
		git_oid_cpy(&(*blobs)[2 * ev->noted_nr + 1], &blob);
		ev->noted_nr++;
	}
	git_note_iterator_free(it);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		return -1;
	}
	if (ev->noted_nr > 1)
		qsort(*blobs, ev->noted_nr, 2 * sizeof(**blobs), compare_oids);
	ev->noted = xcalloc(ev->noted_nr ? ev->noted_nr : 1, sizeof(*ev->noted));
	for (size_t i = 0; i < ev->noted_nr; i++)
		git_oid_cpy(&ev->noted[i], &(*blobs)[2 * i]);
	return 0;
}

static int read_event(struct box_event *e, git_repository *repo, const git_oid *blob_id, unsigned flags)
{
	git_blob *blob = NULL;
	git_commit *commit = NULL;
	const char *text;
	size_t len, split;

	if (git_blob_lookup(&blob, repo, blob_id) < 0) {
		box_error_from_git("cannot read the note on %.12s", git_oid_tostr_s(&e->commit));
		return -1;
	}
	text = git_blob_rawcontent(blob);
	len = (size_t)git_blob_rawsize(blob);
	split = box_note_payload_len(text, len);
	buf_add(&e->payload, text, split);
	buf_add(&e->signatures, text + split, len - split);
	git_blob_free(blob);
	sha256_buffer(e->payload_sha256, e->payload.ptr, e->payload.len);

	if (git_commit_lookup(&commit, repo, &e->commit) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(&e->commit));
		return -1;
	}
	e->trailer = commit_event(commit);
	git_oid_cpy(&e->tree, git_commit_tree_id(commit));
	git_commit_free(commit);

	if (memchr(e->payload.ptr, '\0', e->payload.len))
		e->invalid = xstrdup("not a manifest: the note holds a NUL byte");
	else if ((flags & BOX_EVENTS_FULL ? manifest_parse : manifest_parse_header)
		 (&e->manifest, e->payload.ptr, e->payload.len) < 0)
		e->invalid = xstrdup(box_error_last());
	box_error_clear();
	if (flags & BOX_EVENTS_LEAN) {
		buf_release(&e->payload);
		buf_release(&e->signatures);
	}
	return 0;
}

int box_events_load(struct box_events *out, const struct box *b, const git_oid *tip, unsigned flags)
{
	git_reference *ref = NULL, *resolved = NULL;
	git_commit *notes = NULL;
	git_oid *pairs = NULL;
	int ret = -1, err;

	if (load_history(out, b, tip ? tip : &b->tip) < 0)
		goto out;
	err = git_reference_lookup(&ref, b->repo, BOX_NOTES_REF);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		ret = 0;
		goto out;
	}
	if (err < 0 || git_reference_resolve(&resolved, ref) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		goto out;
	}
	git_oid_cpy(&out->notes_tip, git_reference_target(resolved));
	out->have_notes = 1;
	if (git_commit_lookup(&notes, b->repo, &out->notes_tip) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		goto out;
	}
	if (load_noted(out, notes, &pairs) < 0)
		goto out;
	for (size_t i = 0; i < out->history_nr; i++) {
		git_oid *hit = out->noted_nr ? bsearch(&out->history[i], pairs, out->noted_nr,
						       2 * sizeof(*pairs), compare_oids) : NULL;
		struct box_event *e;

		if (!hit)
			continue;
		if (out->nr == out->alloc) {
			out->alloc = out->alloc ? out->alloc * 2 : 16;
			out->items = xrealloc(out->items, out->alloc * sizeof(*out->items));
		}
		e = &out->items[out->nr++];
		memset(e, 0, sizeof(*e));
		git_oid_cpy(&e->commit, &out->history[i]);
		git_oid_cpy(&e->note, hit + 1);
		e->position = i;
		if (read_event(e, b->repo, hit + 1, flags) < 0)
			goto out;
	}
	ret = 0;
out:
	free(pairs);
	git_commit_free(notes);
	git_reference_free(resolved);
	git_reference_free(ref);
	if (ret < 0)
		box_events_release(out);
	return ret;
}

void box_events_release(struct box_events *ev)
{
	for (size_t i = 0; i < ev->nr; i++) {
		struct box_event *e = &ev->items[i];

		free(e->trailer);
		free(e->invalid);
		buf_release(&e->payload);
		buf_release(&e->signatures);
		manifest_release(&e->manifest);
	}
	free(ev->items);
	free(ev->history);
	free(ev->noted);
	memset(ev, 0, sizeof(*ev));
}

const struct box_event *box_events_last(const struct box_events *ev)
{
	return ev->nr ? &ev->items[ev->nr - 1] : NULL;
}

const struct box_event *box_events_find(const struct box_events *ev, const git_oid *commit)
{
	for (size_t i = 0; i < ev->nr; i++)
		if (git_oid_equal(&ev->items[i].commit, commit))
			return &ev->items[i];
	return NULL;
}

long box_events_position(const struct box_events *ev, const git_oid *commit)
{
	for (size_t i = ev->history_nr; i > 0; i--)
		if (git_oid_equal(&ev->history[i - 1], commit))
			return (long)(i - 1);
	return -1;
}

/* ---- the chain ------------------------------------------------------------ */

static void problem(struct strlist *problems, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct strlist *problems, size_t *n, const char *fmt, ...)
{
	struct buf msg = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (!*n)
		box_error_set("%s", msg.ptr);
	if (problems)
		strlist_add(problems, msg.ptr);
	(*n)++;
	buf_release(&msg);
}

static const char *expected_event(const struct box_event *e)
{
	if (!e->trailer)
		return "checkpoint";
	if (!strcmp(e->trailer, "init") || !strcmp(e->trailer, "import") || !strcmp(e->trailer, "seal"))
		return e->trailer;
	return NULL;
}

size_t box_events_check(const struct box_events *ev, const struct box *b, struct strlist *problems)
{
	size_t n = 0;
	char id[GIT_OID_HEXSZ + 1];

	if (!ev->nr) {
		problem(problems, &n, ev->have_notes
			? "no manifest on the box's history: %s has no note on it"
			: "no manifests: there is no %s (fetch it: git fetch origin "
			  "refs/notes/box:refs/notes/box)", BOX_NOTES_REF);
		return n;
	}
	if (ev->items[0].position != 0)
		problem(problems, &n, "the init commit %.12s has no manifest", git_oid_tostr_s(&b->id));
	for (size_t i = 0; i < ev->nr; i++) {
		const struct box_event *e = &ev->items[i], *prev = i ? &ev->items[i - 1] : NULL;
		const struct manifest *m = &e->manifest;
		const char *want = expected_event(e);

		git_oid_tostr(id, 13, &e->commit);
		if (e->invalid) {
			problem(problems, &n, "%s: %s", id, e->invalid);
			continue;
		}
		if (!git_oid_equal(&m->commit, &e->commit))
			problem(problems, &n, "%s: the manifest is about commit %.12s, not this one",
				id, git_oid_tostr_s(&m->commit));
		if (!git_oid_equal(&m->tree, &e->tree)) {
			char t1[13], t2[13];

			problem(problems, &n, "%s: the manifest names tree %s, but the commit has %s",
				id, short_id(t1, &m->tree), short_id(t2, &e->tree));
		}
		if (!git_oid_equal(&m->box, &b->id))
			problem(problems, &n, "%s: the manifest belongs to box %.12s, not to this box",
				id, git_oid_tostr_s(&m->box));
		if (!want)
			problem(problems, &n, "%s: the commit's %s trailer '%s' is not an event",
				id, BOX_EVENT_TRAILER, e->trailer);
		else if (strcmp(want, m->event) && e->trailer)
			problem(problems, &n, "%s: the manifest says '%s' but the commit's %s trailer says '%s'",
				id, m->event, BOX_EVENT_TRAILER, e->trailer);
		else if (strcmp(want, m->event))
			problem(problems, &n, "%s: the manifest says '%s' but the commit has no %s "
				"trailer, so it can only be a checkpoint", id, m->event, BOX_EVENT_TRAILER);
		if (!strcmp(m->event, "init") && e->position != 0)
			problem(problems, &n, "%s: an init event that is not on the init commit", id);
		if (!strcmp(m->event, "seal") && (i + 1 < ev->nr || e->position + 1 < ev->history_nr))
			problem(problems, &n, "%s: the box was sealed here, yet history goes on after it", id);
		if (prev && !prev->invalid && m->has_previous &&
		    memcmp(m->previous, prev->payload_sha256, SHA256_LEN)) {
			char want_hex[SHA256_HEX_LEN + 1];

			sha256_hex(want_hex, prev->payload_sha256);
			problem(problems, &n, "%s: the chain is broken: 'previous' does not match the "
				"payload of the event before it (%.12s, sha256 %s)", id,
				git_oid_tostr_s(&prev->commit), want_hex);
		}
	}
	return n;
}

/* ---- recording an event --------------------------------------------------- */

int event_signed_by_policy(const struct policy *p, const char *event)
{
	switch (p->signing_when) {
	case SIGNING_NONE:
		return 0;
	case SIGNING_SEAL:
		return !strcmp(event, "checkpoint") || !strcmp(event, "seal");
	case SIGNING_EVERY_COMMIT:
		return 1;
	}
	return 0;
}

static int policy_at(struct policy *out, git_repository *repo, const git_oid *commit)
{
	struct buf text = BUF_INIT;
	char *origin = xstrfmt("%.12s:%s", git_oid_tostr_s(commit), POLICY_PATH);
	int ret = -1;

	if (repo_read_blob_at(&text, repo, commit, POLICY_PATH, POLICY_MAX_BYTES) < 0 ||
	    policy_parse(out, origin, text.ptr ? text.ptr : "", text.len) < 0)
		goto out;
	ret = 0;
out:
	free(origin);
	buf_release(&text);
	return ret;
}

const char *event_default_reason(const char *event)
{
	if (!strcmp(event, "init"))
		return "init: the inputs are frozen";
	if (!strcmp(event, "import"))
		return "import: more inputs, frozen";
	if (!strcmp(event, "seal"))
		return "seal: the analysis is complete";
	return "checkpoint: the work so far";
}

int event_signer_open(struct event_signer *out, const struct box *b)
{
	if (sign_open(&out->ctx, b->repo, NULL) < 0 || sign_find_key(&out->key, out->ctx, b->repo) < 0)
		return -1;
	if (*out->key.fpr && !sign_key_allowed(&b->policy.signers, out->key.fpr)) {
		box_error_set("the signing key %s%s%s%s is not in the policy's signer list",
			      out->key.fpr, out->key.uid ? " (" : "", out->key.uid ? out->key.uid : "",
			      out->key.uid ? ")" : "");
		return BOX_EREFUSED;
	}
	return 0;
}

void event_signer_close(struct event_signer *s)
{
	sign_close(s->ctx);
	sign_key_release(&s->key);
	s->ctx = NULL;
}

int event_for_commit(const char **event, const struct box *b, const struct box_events *ev,
		     const git_oid *commit)
{
	const struct box_event *last = box_events_last(ev);
	long at = box_events_position(ev, commit);
	git_commit *c = NULL;
	char *trailer = NULL;
	int ret = BOX_EREFUSED;

	*event = NULL;
	if (at < 0) {
		box_error_set("%.12s is not on the first-parent history of the box branch '%s'",
			      git_oid_tostr_s(commit), b->policy.branch);
		return BOX_EREFUSED;
	}
	if (box_events_noted(ev, commit)) {
		const struct box_event *e = box_events_find(ev, commit);
		char a[13];

		short_id(a, commit);
		box_error_set("%s already has a manifest%s%s%s; add a signature to it with "
			      "'git box sign %s'", a, e && !e->invalid ? " (" : "",
			      e && !e->invalid ? e->manifest.event : "", e && !e->invalid ? ")" : "", a);
		return BOX_EREFUSED;
	}
	if (last && !last->invalid && !strcmp(last->manifest.event, "seal")) {
		box_error_set("the box is sealed at %.12s; no event may follow the seal",
			      git_oid_tostr_s(&last->commit));
		return BOX_EREFUSED;
	}
	if (last && (long)last->position > at) {
		char a[13], l[13];

		box_error_set("%s is older than the newest event (%s at %s); events chain in "
			      "history order, so a manifest can only be written on a commit after it",
			      short_id(a, commit), last->invalid ? "?" : last->manifest.event,
			      short_id(l, &last->commit));
		return BOX_EREFUSED;
	}
	if (git_commit_lookup(&c, b->repo, commit) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		return -1;
	}
	trailer = commit_event(c);
	if (!trailer) {
		*event = "checkpoint";
		ret = 0;
	} else if (!strcmp(trailer, "init") && at == 0) {
		*event = "init";
		ret = 0;
	} else if (!strcmp(trailer, "import")) {
		*event = "import";
		ret = 0;
	} else {
		box_error_set("%.12s is marked '%s: %s'; git box writes that event's manifest itself",
			      git_oid_tostr_s(commit), BOX_EVENT_TRAILER, trailer);
	}
	free(trailer);
	git_commit_free(c);
	return ret;
}

int event_request_init(struct event_request *req, struct event_signer *signer, const struct box *b,
		       const char *event, const char *message, const char *role, const char *reason)
{
	int ret;

	memset(req, 0, sizeof(*req));
	/* Before anything is made, hashed or run. */
	if (policy_check_capture(&b->policy) < 0)
		return -1;
	req->event = event;
	req->message = message;
	req->role = role ? role : EVENT_DEFAULT_ROLE;
	req->reason = reason ? reason : event_default_reason(event);
	req->hash = (struct hash_options)HASH_OPTIONS_INIT;
	if (!event_signed_by_policy(&b->policy, event))
		return 0;
	if ((ret = sign_meaning_valid(req->role, req->reason)) < 0 || (ret = event_signer_open(signer, b)) < 0)
		return ret;
	req->signer = signer->ctx;
	req->key = &signer->key;
	return 0;
}

void event_result_set_signer(struct event_result *r, const struct event_request *req,
			     struct event_signer *signer)
{
	if (!req->signer)
		return;
	sign_key_release(&r->signer);
	r->signer = signer->key;
	memset(&signer->key, 0, sizeof(signer->key));
	r->role = req->role;
	r->reason = req->reason;
}

int event_record(struct event_result *out, const struct box *b, const git_oid *commit,
		 const struct event_record_options *o)
{
	struct box_events ev = BOX_EVENTS_INIT;
	struct event_signer signer = EVENT_SIGNER_INIT;
	struct event_request req;
	const char *event;
	int ret;

	memset(&req, 0, sizeof(req));
	/* The whole branch: an event newer than `commit` must be seen to refuse it. */
	if ((ret = box_events_load(&ev, b, NULL, 0)) < 0 || (ret = event_for_commit(&event, b, &ev, commit)) < 0)
		goto out;
	/* An init has nothing before it; every other event needs an intact chain to join. */
	if (strcmp(event, "init") && box_events_check(&ev, b, NULL)) {
		ret = ev.nr ? BOX_EREFUSED : -1;
		box_error_wrap("the event chain is broken; nothing was written");
		goto out;
	}
	if ((ret = event_request_init(&req, &signer, b, event, o->message, o->role, o->reason)) < 0)
		goto out;
	req.hash = o->hash;
	if ((ret = event_prepare(out, b, &ev, commit, &req)) < 0 || (ret = event_write(out, b, &ev)) < 0)
		goto out;
	ret = 0;
out:
	event_result_set_signer(out, &req, &signer);
	event_signer_close(&signer);
	box_events_release(&ev);
	return ret;
}

int event_prepare(struct event_result *out, const struct box *b, const struct box_events *ev,
		  const git_oid *commit, const struct event_request *req)
{
	const struct box_event *last = box_events_last(ev);
	struct manifest *m = &out->manifest;
	struct hash_files files = HASH_FILES_INIT;
	struct policy policy = POLICY_INIT;
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_signature *when = NULL;
	int ret = -1;

	git_oid_cpy(&out->commit, commit);
	if (git_commit_lookup(&c, b->repo, commit) < 0 || git_commit_tree(&tree, c) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	if (policy_at(&policy, b->repo, commit) < 0 || repo_signature(&when, b->repo, 1) < 0)
		goto out;

	m->event = xstrdup(req->event);
	m->name = xstrdup(policy.name);
	git_oid_cpy(&m->box, strcmp(req->event, "init") ? &b->id : commit);
	git_oid_cpy(&m->commit, commit);
	git_oid_cpy(&m->tree, git_tree_id(tree));
	if (last) {
		m->has_previous = 1;
		memcpy(m->previous, last->payload_sha256, SHA256_LEN);
	}
	manifest_format_time(m->time, (int64_t)when->when.time);
	m->message = req->message ? xstrdup(req->message) : NULL;

	if ((ret = hash_files_from_tree(&files, b->repo, tree)) < 0 ||
	    (ret = hash_files_compute(&files, b->repo, &req->hash, &out->stats)) < 0 ||
	    (ret = manifest_set_files(m, &files, &policy)) < 0 ||
	    (ret = environment_capture(&m->environment, &policy.capture, b->repo)) < 0 ||
	    (ret = manifest_payload(&out->payload, m)) < 0)
		goto out;
	ret = -1;
	sha256_buffer(out->payload_sha256, out->payload.ptr, out->payload.len);

	if (req->signer) {
		if (sign_payload(&out->signature, req->key, req->signer, out->payload.ptr,
				 out->payload.len, req->role, req->reason) < 0)
			goto out;
		/* gpg picked the key: only now is it known whether the policy allows it. */
		if (!sign_key_allowed(&b->policy.signers, req->key->fpr)) {
			box_error_set("gpg signed with %s, which is not in the policy's signer list; "
				      "set box.signingKey to a listed key", req->key->fpr);
			ret = BOX_EREFUSED;
			goto out;
		}
	}
	ret = 0;
out:
	git_signature_free(when);
	git_tree_free(tree);
	git_commit_free(c);
	policy_release(&policy);
	hash_files_release(&files);
	return ret;
}

int event_write(struct event_result *r, const struct box *b, const struct box_events *ev)
{
	struct buf note = BUF_INIT;
	char *reflog = xstrfmt("box: %s %s", r->manifest.event, git_oid_tostr_s(&r->commit));
	int ret;

	buf_add(&note, r->payload.ptr, r->payload.len);
	buf_add(&note, r->signature.ptr, r->signature.len);
	ret = box_note_write(&r->notes_tip, b->repo, ev->have_notes ? &ev->notes_tip : NULL, &r->commit,
			     note.ptr, 0, reflog);
	free(reflog);
	buf_release(&note);
	return ret;
}

/* Move refs/notes/box from `expected` to `new_tip` in one update. */
static int update_notes_ref(git_repository *repo, const git_oid *expected, const git_oid *new_tip,
			    const char *reflog)
{
	git_reference *ref = NULL;
	int err;

	/* A lock held by another writer is waited for a moment, as git does (core.filesRefLockTimeout). */
	for (int tries = 0;; tries++) {
		if (expected)
			err = git_reference_create_matching(&ref, repo, BOX_NOTES_REF, new_tip, 1, expected,
							    reflog);
		else
			err = git_reference_create(&ref, repo, BOX_NOTES_REF, new_tip, 0, reflog);
		git_reference_free(ref);
		ref = NULL;
		if (err != GIT_ELOCKED || tries >= REF_LOCK_TRIES)
			break;
		usleep(REF_LOCK_WAIT_US);
	}
	if (err == GIT_EMODIFIED || err == GIT_EEXISTS || err == GIT_ELOCKED ||
	    (expected && err == GIT_ENOTFOUND)) {
		box_error_set("%s changed while this ran; nothing was written", BOX_NOTES_REF);
		return BOX_ECONFLICT;
	}
	if (err < 0) {
		box_error_from_git("cannot update %s", BOX_NOTES_REF);
		return -1;
	}
	return 0;
}

int box_note_write(git_oid *out, git_repository *repo, const git_oid *expected, const git_oid *commit,
		   const char *note, int replace, const char *reflog)
{
	git_commit *parent = NULL;
	git_signature *who = NULL;
	git_oid notes_commit, blob;
	int ret = -1, err;

	if (repo_signature(&who, repo, 1) < 0)
		goto out;
	if (expected && git_commit_lookup(&parent, repo, expected) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		goto out;
	}
	err = git_note_commit_create(&notes_commit, &blob, repo, parent, who, who, commit, note, replace);
	if (err == GIT_EEXISTS) {
		box_error_set("%.12s already has a manifest", git_oid_tostr_s(commit));
		ret = BOX_EREFUSED;
		goto out;
	}
	if (err < 0) {
		box_error_from_git("cannot write the note on %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	ret = update_notes_ref(repo, expected, &notes_commit, reflog);
	if (!ret && out)
		git_oid_cpy(out, &notes_commit);
out:
	git_signature_free(who);
	git_commit_free(parent);
	return ret;
}

int box_note_remove(git_repository *repo, const git_oid *expected, const git_oid *commit, const char *reflog)
{
	git_commit *parent = NULL;
	git_signature *who = NULL;
	git_oid notes_commit;
	int ret = -1;

	if (repo_signature(&who, repo, 1) < 0)
		goto out;
	if (git_commit_lookup(&parent, repo, expected) < 0 ||
	    git_note_commit_remove(&notes_commit, repo, parent, who, who, commit) < 0) {
		box_error_from_git("cannot remove the note on %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	ret = update_notes_ref(repo, expected, &notes_commit, reflog);
out:
	git_signature_free(who);
	git_commit_free(parent);
	return ret;
}

int box_note_take_back(git_repository *repo, const git_oid *ours, const git_oid *before,
		       const git_oid *commit, const char *reflog)
{
	git_reference *ref = NULL, *updated = NULL;
	int err;

	if (git_reference_lookup(&ref, repo, BOX_NOTES_REF) < 0) {
		box_error_from_git("cannot read %s", BOX_NOTES_REF);
		return -1;
	}
	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT) {
		git_reference_free(ref);
		box_error_set("%s is not a plain reference", BOX_NOTES_REF);
		return -1;
	}
	if (!git_oid_equal(git_reference_target(ref), ours)) {
		git_oid now;

		git_oid_cpy(&now, git_reference_target(ref));
		git_reference_free(ref);
		return box_note_remove(repo, &now, commit, reflog);
	}
	if (before)
		err = git_reference_create_matching(&updated, repo, BOX_NOTES_REF, before, 1, ours, reflog);
	else
		err = git_reference_delete(ref);
	git_reference_free(updated);
	git_reference_free(ref);
	if (err < 0) {
		box_error_from_git("cannot take back the note on %.12s", git_oid_tostr_s(commit));
		return -1;
	}
	return 0;
}

int box_pending_seal(git_oid *out, const struct box *b, const struct box_events *ev)
{
	const struct box_event *last = box_events_last(ev);
	const git_oid *tip = &ev->history[ev->history_nr - 1];
	git_oid *history = NULL;
	int found = 0;

	if (!last || !ev->noted_nr)
		return 0;
	history = xcalloc(ev->history_nr, sizeof(*history));
	memcpy(history, ev->history, ev->history_nr * sizeof(*history));
	qsort(history, ev->history_nr, sizeof(*history), compare_oids);
	for (size_t i = 0; !found && i < ev->noted_nr; i++) {
		const git_oid *id = &ev->noted[i];
		git_commit *c = NULL;
		char *trailer = NULL;
		struct buf payload = BUF_INIT;
		struct manifest m = MANIFEST_INIT;

		if (bsearch(id, history, ev->history_nr, sizeof(*history), compare_oids))
			continue;
		/* Only a commit whose first parent is the tip and which says it seals. */
		if (git_commit_lookup(&c, b->repo, id) < 0) {
			git_error_clear();
			continue;
		}
		if (git_commit_parentcount(c) < 1 || !git_oid_equal(git_commit_parent_id(c, 0), tip) ||
		    !(trailer = commit_event(c)) || strcmp(trailer, "seal"))
			goto next;
		if (box_note_read(&payload, NULL, b->repo, id) != 0 ||
		    manifest_parse_header(&m, payload.ptr ? payload.ptr : "", payload.len) < 0)
			goto next;
		found = !strcmp(m.event, "seal") && git_oid_equal(&m.commit, id) &&
			git_oid_equal(&m.box, &b->id) && m.has_previous &&
			!memcmp(m.previous, last->payload_sha256, SHA256_LEN);
		if (found)
			git_oid_cpy(out, id);
next:
		box_error_clear();
		manifest_release(&m);
		buf_release(&payload);
		free(trailer);
		git_commit_free(c);
	}
	free(history);
	return found;
}

struct tag_search {
	git_repository *repo;
	const git_oid *commit;
	struct strlist *out;
};

static int tag_on_commit(const char *name, void *data)
{
	struct tag_search *t = data;
	git_object *obj = NULL, *peeled = NULL;

	if (!git_revparse_single(&obj, t->repo, name) && !git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) &&
	    git_oid_equal(git_object_id(peeled), t->commit))
		strlist_add(t->out, name + strlen("refs/tags/"));
	git_error_clear();
	git_object_free(peeled);
	git_object_free(obj);
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int box_event_tags(struct strlist *out, git_repository *repo, const git_oid *commit)
{
	struct tag_search t = { repo, commit, out };

	if (git_reference_foreach_glob(repo, BOX_TAG_PREFIX "*", tag_on_commit, &t) < 0) {
		box_error_from_git("cannot list the %s tags", BOX_TAG_PREFIX);
		return -1;
	}
	if (out->nr > 1)
		qsort(out->items, out->nr, sizeof(*out->items), compare_strings);
	return 0;
}

static uint64_t class_bytes(const struct manifest_files *f)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < f->nr; i++)
		bytes += f->items[i].size;
	return bytes;
}

void event_result_describe(struct buf *out, const struct event_result *r)
{
	const struct manifest *m = &r->manifest;
	char hex[SHA256_HEX_LEN + 1];
	struct buf uid = BUF_INIT, reason = BUF_INIT;

	sha256_hex(hex, r->payload_sha256);
	buf_addf(out, "%s %s\n", m->event, git_oid_tostr_s(&r->commit));
	buf_addf(out, "  files     %zu input%s, %zu output%s, %zu code (%" PRIu64 " bytes in all)\n",
		 m->inputs.nr, m->inputs.nr == 1 ? "" : "s", m->outputs.nr, m->outputs.nr == 1 ? "" : "s",
		 m->code.nr, class_bytes(&m->inputs) + class_bytes(&m->outputs) + class_bytes(&m->code));
	buf_addf(out, "  hashed    %zu blob%s (%zu from the cache)\n", r->stats.blobs,
		 r->stats.blobs == 1 ? "" : "s", r->stats.cached);
	buf_addf(out, "  manifest  sha256 %s\n", hex);
	/* A key's uid and a reason may hold a newline: it must not pass for one of these lines. */
	if (r->signature.len)
		buf_addf(out, "  signed    %s%s%s as %s, \"%s\"\n",
			 r->signer.uid ? quote_for_message(&uid, r->signer.uid) : "",
			 r->signer.uid ? " " : "", r->signer.fpr, r->role,
			 quote_for_message(&reason, r->reason ? r->reason : ""));
	else
		buf_addf(out, "  signed    no (the policy does not sign %s events)\n", m->event);
	buf_release(&uid);
	buf_release(&reason);
}

json_t *event_result_json(const struct event_result *r)
{
	const struct manifest *m = &r->manifest;
	char hex[SHA256_HEX_LEN + 1], previous[SHA256_HEX_LEN + 1];
	json_t *signature = json_null();

	sha256_hex(hex, r->payload_sha256);
	sha256_hex(previous, m->previous);
	if (r->signature.len)
		signature = json_pack("{s:s, s:o?, s:s, s:o}", "fingerprint", r->signer.fpr,
				      "uid", json_text(r->signer.uid), "role", r->role,
				      "reason", json_text(r->reason));
	return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:o}",
			 "event", m->event, "commit", git_oid_tostr_s(&r->commit),
			 "payload_sha256", hex, "previous", m->has_previous ? previous : NULL,
			 "time", m->time,
			 "files", "inputs", (json_int_t)m->inputs.nr, "outputs", (json_int_t)m->outputs.nr,
			 "code", (json_int_t)m->code.nr,
			 "hashed", "blobs", (json_int_t)r->stats.blobs, "cached", (json_int_t)r->stats.cached,
			 "hashed", (json_int_t)r->stats.hashed, "bytes", (json_int_t)r->stats.bytes_hashed,
			 "signature", signature);
}

void event_result_release(struct event_result *r)
{
	sign_key_release(&r->signer);
	manifest_release(&r->manifest);
	buf_release(&r->payload);
	buf_release(&r->signature);
}

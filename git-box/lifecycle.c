#include "lifecycle.h"

#include <stdlib.h>
#include <string.h>

#include "tsa.h"
#include "banned.h"

static int compare_times(const void *a, const void *b)
{
	time_t x = *(const time_t *)a, y = *(const time_t *)b;

	return x < y ? -1 : x > y;
}

/* Note the genTime of the tag `refname` on its event, when the tag checks. */
static void stamp_one(struct event_stamps *out, const struct box *b, const struct box_events *ev,
		      const struct tsa_anchors *anchors, const char *refname)
{
	struct tsa_token token = TSA_TOKEN_INIT;
	git_object *obj = NULL, *peeled = NULL;
	const struct box_event *e;
	size_t i;

	if (git_revparse_single(&obj, b->repo, refname) < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0 ||
	    !(e = box_events_find(ev, git_object_id(peeled))) || e->invalid)
		goto out;
	if (tsa_check_tag(&token, NULL, b->repo, refname + strlen("refs/tags/"), anchors, 0) < 0)
		goto out;
	i = (size_t)(e - ev->items);
	if (!out->gen_time[i] || token.gen_time < out->gen_time[i])
		out->gen_time[i] = token.gen_time;
out:
	box_error_clear();
	git_error_clear();
	tsa_token_release(&token);
	git_object_free(peeled);
	git_object_free(obj);
}

int event_stamps_load(struct event_stamps *out, const struct box *b, const struct box_events *ev)
{
	struct tsa_anchors *anchors = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref;
	struct strlist names = STRLIST_INIT;
	int err, ret = -1;

	out->nr = ev->nr;
	out->gen_time = xcalloc(ev->nr ? ev->nr : 1, sizeof(*out->gen_time));
	out->proven = xcalloc(ev->nr ? ev->nr : 1, sizeof(*out->proven));
	if (!ev->nr || !b->policy.tsa_ca || tsa_policy_anchors(&anchors, b->repo, &b->policy, &b->id) < 0) {
		box_error_clear();
		return 0;
	}
	if (git_reference_iterator_glob_new(&it, b->repo, BOX_TAG_PREFIX "*") < 0) {
		box_error_from_git("cannot list the timestamp tags");
		goto out;
	}
	while (!(err = git_reference_next(&ref, it))) {
		strlist_add(&names, git_reference_name(ref));
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the timestamp tags");
		goto out;
	}
	git_error_clear();
	for (size_t i = 0; i < names.nr; i++)
		stamp_one(out, b, ev, anchors, names.items[i]);
	ret = 0;
out:
	strlist_release(&names);
	tsa_anchors_free(anchors);
	return ret;
}

void event_stamps_release(struct event_stamps *s)
{
	free(s->gen_time);
	free(s->proven);
	memset(s, 0, sizeof(*s));
}

void event_stamps_window(struct sign_window *w, struct event_stamps *s, const struct box_events *ev,
			 size_t i)
{
	size_t n = 0;

	for (size_t j = i; j < s->nr; j++)
		if (s->gen_time[j])
			s->proven[n++] = s->gen_time[j];
	if (n > 1)
		qsort(s->proven, n, sizeof(*s->proven), compare_times);
	memset(w, 0, sizeof(*w));
	if (i < ev->nr && !ev->items[i].invalid)
		w->not_before = (time_t)manifest_time_seconds(&ev->items[i].manifest);
	w->proven = s->proven;
	w->proven_nr = n;
}

int seal_lack_read(struct seal_lack *out, const struct box *b, const struct box_events *ev,
		   struct event_stamps *st, struct sign_ctx *gpg)
{
	const struct box_event *seal = box_events_last(ev);
	struct sign_checks checks = SIGN_CHECKS_INIT;
	struct sign_window w;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->quorum = b->policy.quorum;
	out->stamp_wanted = tsa_policy_wants(&b->policy, "seal");
	if (!seal || seal->invalid || strcmp(seal->manifest.event, "seal"))
		return 0;
	out->sealed = 1;
	i = (size_t)(seal - ev->items);
	out->stamped = i < st->nr && st->gen_time[i] != 0;
	event_stamps_window(&w, st, ev, i);
	if (sign_check_all_within(&checks, gpg, seal->payload.ptr ? seal->payload.ptr : "", seal->payload.len,
				  seal->signatures.ptr ? seal->signatures.ptr : "", seal->signatures.len,
				  &w) < 0) {
		/* signatures that cannot be read count for nothing */
		box_error_clear();
	}
	out->have = sign_quorum(&checks, &b->policy.signers, &out->missing);
	sign_checks_release(&checks);
	return 0;
}

void seal_lack_release(struct seal_lack *l)
{
	strlist_release(&l->missing);
	memset(l, 0, sizeof(*l));
}

size_t seal_lack_signatures(const struct seal_lack *l)
{
	if (!l->sealed || l->quorum <= 0 || l->have >= (size_t)l->quorum)
		return 0;
	return (size_t)l->quorum - l->have;
}

int seal_lacks(const struct seal_lack *l)
{
	return l->sealed && (seal_lack_signatures(l) || (l->stamp_wanted && !l->stamped));
}

enum box_state seal_lack_state(enum box_state state, const struct seal_lack *l)
{
	if (!box_state_sealed(state))
		return state;
	return seal_lacks(l) ? BOX_SEALED : BOX_COMPLETED;
}

void seal_lack_describe(struct buf *out, const struct seal_lack *l, const struct strlist *uids)
{
	size_t n = seal_lack_signatures(l);

	if (n) {
		buf_addf(out, "%zu more signature%s from%s:", n, n == 1 ? "" : "s",
			 l->missing.nr > n ? " any of" : "");
		for (size_t i = 0; i < l->missing.nr; i++) {
			const char *uid = uids && i < uids->nr ? uids->items[i] : "";

			buf_addf(out, "%s %s%s%s%s", i ? "," : "", l->missing.items[i], *uid ? " (" : "",
				 uid, *uid ? ")" : "");
		}
	}
	if (l->sealed && l->stamp_wanted && !l->stamped)
		buf_addf(out, "%sa timestamp", n ? ", and " : "");
}

json_t *seal_lack_json(const struct seal_lack *l)
{
	json_t *signers;

	if (!seal_lacks(l))
		return json_null();
	signers = json_array();
	for (size_t i = 0; seal_lack_signatures(l) && i < l->missing.nr; i++)
		json_array_append_new(signers, json_string(l->missing.items[i]));
	return json_pack("{s:I, s:o, s:b}", "signatures", (json_int_t)seal_lack_signatures(l),
			 "signers", signers, "timestamp", l->sealed && l->stamp_wanted && !l->stamped);
}

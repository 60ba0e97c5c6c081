/*
 * git box log: the chain of events on the box branch, oldest first, with
 * each event's signatures (checked in your keyring, their keys judged at
 * the time the timestamps prove), its timestamp tags, and where the box
 * stands.
 */
#include <string.h>

#include "commands.h"
#include "events.h"
#include "lifecycle.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box log [--json]",
	NULL,
};

static const struct command_usage usage = { "log", synopsis };

struct event_view {
	struct sign_checks checks;
	struct strlist tags;
	char *signature_error;        /* the signature part cannot be read */
};

static int any_bad(const struct event_view *v)
{
	if (v->signature_error)
		return 1;
	for (size_t i = 0; i < v->checks.nr; i++)
		if (!v->checks.items[i].good)
			return 1;
	return 0;
}

static void print_event(const struct box_event *e, const struct event_view *v, const struct policy *p)
{
	char hex[SHA256_HEX_LEN + 1];
	struct buf line = BUF_INIT;

	sha256_hex(hex, e->payload_sha256);
	if (e->invalid) {
		printf_ln("? %s", git_oid_tostr_s(&e->commit));
		printf_ln("    not a manifest: %s", e->invalid);
		return;
	}
	printf_ln("%s %s %s", e->manifest.event, git_oid_tostr_s(&e->commit), e->manifest.time);
	if (e->manifest.message)
		printf_ln("    message    %s", e->manifest.message);
	printf_ln("    manifest   sha256 %s", hex);
	if (v->signature_error)
		printf_ln("    signed     BAD: %s", v->signature_error);
	else if (!v->checks.nr)
		printf_ln("    signed     no");
	for (size_t i = 0; i < v->checks.nr; i++) {
		buf_reset(&line);
		sign_check_describe(&line, &v->checks.items[i]);
		printf_ln("    signed     %s", line.ptr);
	}
	for (size_t i = 0; i < v->tags.nr; i++)
		printf_ln("    timestamp  %s", v->tags.items[i]);
	if (!strcmp(e->manifest.event, "seal") && p->quorum) {
		struct strlist missing = STRLIST_INIT;
		size_t have = sign_quorum(&v->checks, &p->signers, &missing);

		buf_reset(&line);
		buf_addf(&line, "%zu of %d", have, p->quorum);
		if ((int)have < p->quorum) {
			buf_adds(&line, "; not signed yet by:");
			for (size_t i = 0; i < missing.nr; i++)
				buf_addf(&line, " %s", missing.items[i]);
		}
		printf_ln("    quorum     %s", line.ptr);
		strlist_release(&missing);
	}
	buf_release(&line);
}

static json_t *event_json(const struct box_event *e, const struct event_view *v, const struct policy *p)
{
	char hex[SHA256_HEX_LEN + 1], previous[SHA256_HEX_LEN + 1];
	json_t *sigs = json_array(), *tags = json_array(), *o;

	sha256_hex(hex, e->payload_sha256);
	for (size_t i = 0; i < v->checks.nr; i++)
		json_array_append_new(sigs, sign_check_json(&v->checks.items[i]));
	for (size_t i = 0; i < v->tags.nr; i++)
		json_array_append_new(tags, json_text(v->tags.items[i]));
	if (e->invalid)
		return json_pack("{s:n, s:s, s:s, s:o, s:o, s:o}", "event", "commit", git_oid_tostr_s(&e->commit),
				 "payload_sha256", hex, "invalid", json_text(e->invalid), "signatures", sigs,
				 "timestamps", tags);
	sha256_hex(previous, e->manifest.previous);
	o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:o, s:o, s:o?}",
		      "event", e->manifest.event, "commit", git_oid_tostr_s(&e->commit),
		      "time", e->manifest.time, "message", e->manifest.message, "payload_sha256", hex,
		      "previous", e->manifest.has_previous ? previous : NULL,
		      "signatures", sigs, "timestamps", tags, "signatures_error", json_text(v->signature_error));
	if (!strcmp(e->manifest.event, "seal") && p->quorum) {
		struct strlist missing = STRLIST_INIT;
		size_t have = sign_quorum(&v->checks, &p->signers, &missing);
		json_t *m = json_array();

		for (size_t i = 0; i < missing.nr; i++)
			json_array_append_new(m, json_string(missing.items[i]));
		json_object_set_new(o, "quorum", json_pack("{s:i, s:I, s:o}", "required", p->quorum,
							   "signed", (json_int_t)have, "missing", m));
		strlist_release(&missing);
	}
	return o;
}

int cmd_log(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct box_events ev = BOX_EVENTS_INIT;
	struct strlist problems = STRLIST_INIT;
	struct event_view *views = NULL;
	struct sign_ctx *gpg = NULL;
	struct event_stamps stamps = EVENT_STAMPS_INIT;
	struct seal_lack lack = SEAL_LACK_INIT;
	enum box_state state;
	size_t broken;
	int c, json = 0, bad = 0, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
		if (c == 'j')
			json = 1;
	}
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if (box_state(&state, &box) < 0 || box_events_load(&ev, &box, NULL, BOX_EVENTS_FULL) < 0 ||
	    sign_open(&gpg, box.repo, NULL) < 0) {
		error_last(NULL);
		goto out;
	}
	if (!ev.have_notes) {
		error("no manifests: there is no %s in this repository", BOX_NOTES_REF);
		hint("fetch them: git fetch origin refs/notes/box:refs/notes/box");
		goto out;
	}
	broken = box_events_check(&ev, &box, &problems);
	if (event_stamps_load(&stamps, &box, &ev) < 0 || seal_lack_read(&lack, &box, &ev, &stamps, gpg) < 0) {
		error_last(NULL);
		goto out;
	}
	state = seal_lack_state(state, &lack);

	views = xcalloc(ev.nr ? ev.nr : 1, sizeof(*views));
	for (size_t i = 0; i < ev.nr; i++) {
		const struct box_event *e = &ev.items[i];
		struct sign_window w;

		event_stamps_window(&w, &stamps, &ev, i);
		if (sign_check_all_within(&views[i].checks, gpg, e->payload.ptr, e->payload.len,
					  e->signatures.ptr ? e->signatures.ptr : "", e->signatures.len, &w) < 0)
			views[i].signature_error = xstrdup(box_error_last());
		if (box_event_tags(&views[i].tags, box.repo, &e->commit) < 0) {
			error_last(NULL);
			goto out;
		}
		bad |= any_bad(&views[i]);
	}

	if (json) {
		json_t *events = json_array(), *probs = json_array(), *o;

		for (size_t i = 0; i < ev.nr; i++)
			json_array_append_new(events, event_json(&ev.items[i], &views[i], &box.policy));
		for (size_t i = 0; i < problems.nr; i++)
			json_array_append_new(probs, json_text(problems.items[i]));
		o = json_pack("{s:s, s:s, s:s, s:o, s:{s:b, s:o}, s:o}", "name", box.policy.name,
			      "box", git_oid_tostr_s(&box.id), "state", box_state_name(state),
			      "waiting_for", seal_lack_json(&lack),
			      "chain", "intact", !broken, "problems", probs, "events", events);
		print_json(o);
		json_decref(o);
	} else {
		for (size_t i = 0; i < ev.nr; i++) {
			if (i)
				putchar('\n');
			print_event(&ev.items[i], &views[i], &box.policy);
		}
		struct buf waiting = BUF_INIT;

		seal_lack_describe(&waiting, &lack, NULL);
		putchar('\n');
		printf_ln("box: %s", git_oid_tostr_s(&box.id));
		printf_ln("state: %s%s%s%s; %zu event%s; chain %s", box_state_name(state),
			  waiting.len ? " (waiting for " : "", waiting.len ? waiting.ptr : "",
			  waiting.len ? ")" : "", ev.nr, ev.nr == 1 ? "" : "s", broken ? "BROKEN" : "intact");
		buf_release(&waiting);
	}
	if (finish_stdout())
		goto out;
	for (size_t i = 0; !json && i < problems.nr; i++)
		error("%s", problems.items[i]);
	ret = broken || bad ? BOX_FAILED : BOX_OK;
out:
	for (size_t i = 0; views && i < ev.nr; i++) {
		sign_checks_release(&views[i].checks);
		strlist_release(&views[i].tags);
		free(views[i].signature_error);
	}
	free(views);
	strlist_release(&problems);
	seal_lack_release(&lack);
	event_stamps_release(&stamps);
	sign_close(gpg);
	box_events_release(&ev);
	box_release(&box);
	return ret;
}

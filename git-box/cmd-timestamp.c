/*
 * git box timestamp: have an event's manifest stamped by an RFC 3161
 * Time Stamping Authority, and keep the answer in the tag box/<event>-<n>.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "repo.h"
#include "tsa.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box timestamp [<rev>] [--tsa <url>]... [--tsa-ca <file>] [--timeout <seconds>] [--json]",
	NULL,
};

static const struct command_usage usage = { "timestamp", synopsis };

struct timestamp_options {
	const char *rev;
	struct strlist tsa;
	const char *tsa_ca;
	long timeout;
	int json;
};

/* The event commit: <rev>, or the newest event on the box branch without a tag. */
static int find_event(git_oid *out, int *found, const struct box *b, const char *rev)
{
	git_object *obj = NULL, *commit = NULL;
	struct tsa_event *events = NULL;
	size_t nr = 0;
	int ret = -1;

	*found = 0;
	if (!rev) {
		if (tsa_events(&events, &nr, b) < 0)
			return error_last(NULL);
		for (size_t i = 0; i < nr && !*found; i++) {
			if (!events[i].tag) {
				git_oid_cpy(out, &events[i].commit);
				*found = 1;
			}
		}
		tsa_events_free(events, nr);
		return 0;
	}
	if (git_revparse_single(&obj, b->repo, rev) < 0 ||
	    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		error("'%s' is not a commit", rev);
		goto out;
	}
	git_oid_cpy(out, git_object_id(commit));
	if (!git_oid_equal(out, &b->tip) && git_graph_descendant_of(b->repo, &b->tip, out) != 1) {
		error("'%s' is not on the box branch '%s'", rev, b->policy.branch);
		hint("timestamp an event of the box: see 'git box status'");
		goto out;
	}
	*found = 1;
	ret = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return ret;
}

static const char *outcome_name(enum tsa_outcome o)
{
	return o == TSA_PASSED ? "passed" : o == TSA_FAILED ? "failed" : "skipped";
}

static const char *result_name(int r)
{
	return r == TSA_OK ? "ok" : r == TSA_INVALID ? "invalid" : "unanswered";
}

static json_t *stamp_json(const struct tsa_stamp *s, const char *event, const git_oid *commit,
			  int found)
{
	char hex[GIT_OID_HEXSZ + 1];
	json_t *o = json_object(), *attempts = json_array();

	json_object_set_new(o, "stored", json_boolean(s->stored));
	json_object_set_new(o, "tag", s->tag ? json_text(s->tag) : json_null());
	json_object_set_new(o, "event", event ? json_string(event) : json_null());
	json_object_set_new(o, "commit", found ? json_string(git_oid_tostr(hex, sizeof(hex), commit))
			    : json_null());
	if (s->url) {
		json_t *checks = json_object();

		for (int i = 0; i < TSA_CHECK_NR; i++)
			json_object_set_new(checks, tsa_check_name(i),
					    json_string(outcome_name(s->token.checks[i].outcome)));
		json_object_set_new(o, "payload_sha256", json_string(s->payload_sha256));
		json_object_set_new(o, "tsa", json_string(s->url));
		json_object_set_new(o, "tsa_name", json_text(s->token.tsa_name));
		json_object_set_new(o, "signer", json_text(s->token.signer));
		json_object_set_new(o, "gen_time", json_string(s->token.gen_time_text));
		json_object_set_new(o, "serial", json_text(s->token.serial));
		json_object_set_new(o, "policy", json_text(s->token.policy));
		json_object_set_new(o, "hash", json_text(s->token.hash));
		json_object_set_new(o, "checks", checks);
	}
	for (size_t i = 0; i < s->attempts_nr; i++)
		json_array_append_new(attempts, json_pack("{s:s, s:s, s:o?}",
			"tsa", s->attempts[i].url, "result", result_name(s->attempts[i].result),
			"error", json_text(s->attempts[i].error)));
	json_object_set_new(o, "attempts", attempts);
	return o;
}

static void print_stamp(const struct tsa_stamp *s, const char *event, const char *short_id)
{
	struct buf q = BUF_INIT;

	if (!s->url) {
		printf_ln("'%s' already timestamps the %s event on %s", s->tag, event, short_id);
		return;
	}
	if (!s->stored) {
		printf_ln("'%s', stored meanwhile by another stamper, timestamps the %s event on %s; "
			  "this answer was not stored", s->tag, event, short_id);
		return;
	}
	printf_ln("timestamped the %s event on %s as '%s'", event, short_id, s->tag);
	printf_ln("tsa       %s", s->url);
	printf_ln("name      %s", quote_for_message(&q, s->token.tsa_name));
	if (strcmp(s->token.tsa_name, s->token.signer))
		printf_ln("signer    %s", quote_for_message(&q, s->token.signer));
	printf_ln("time      %s", s->token.gen_time_text);
	printf_ln("serial    %s", s->token.serial);
	buf_release(&q);
}

void event_stamp_run(struct event_stamp *out, const struct box *b, const git_oid *commit,
		     const char *event, const struct buf *payload, long timeout_ms)
{
	struct tsa_stamp_options so = TSA_STAMP_OPTIONS_INIT;

	out->wanted = tsa_policy_wants(&b->policy, event);
	if (!out->wanted)
		return;
	so.timeout_ms = timeout_ms;
	out->result = tsa_stamp_event(&out->stamp, b->repo, &b->policy, commit, event,
				      payload->ptr ? payload->ptr : "", payload->len, &so);
	if (out->result != TSA_OK)
		out->error = xstrdup(box_error_last());
}

void event_stamp_print(const struct event_stamp *s, const char *event, const git_oid *commit)
{
	char short_id[13];

	if (!s->wanted)
		return;
	git_oid_tostr(short_id, sizeof(short_id), commit);
	if (s->result == TSA_OK) {
		print_stamp(&s->stamp, event, short_id);
		return;
	}
	if (s->result == TSA_ERROR || !s->stamp.attempts_nr)
		error("%s", s->error);
	for (size_t i = 0; i < s->stamp.attempts_nr; i++)
		error("%s", s->stamp.attempts[i].error);
	fprintf_ln(stderr, "timestamp pending; run 'git box timestamp %s'", short_id);
}

json_t *event_stamp_json(const struct event_stamp *s, const char *event, const git_oid *commit)
{
	json_t *j;

	if (!s->wanted)
		return NULL;
	j = stamp_json(&s->stamp, event, commit, 1);
	json_object_set_new(j, "pending", json_boolean(s->result != TSA_OK));
	json_object_set_new(j, "error", s->error ? json_text(s->error) : json_null());
	return j;
}

int event_stamp_exit_code(const struct event_stamp *s)
{
	if (!s->wanted || s->result == TSA_OK)
		return BOX_OK;
	return s->result == TSA_INVALID ? BOX_FAILED : BOX_ERROR;
}

void event_stamp_release(struct event_stamp *s)
{
	tsa_stamp_release(&s->stamp);
	free(s->error);
	s->error = NULL;
}

static int parse_timeout(long *out, const char *text)
{
	char *end;

	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || end == text || *end || *out < 1 || *out > 3600 ? -1 : 0;
}

int cmd_timestamp(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tsa", required_argument, NULL, 't' },
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct timestamp_options o = { NULL, STRLIST_INIT, NULL, 0, 0 };
	struct tsa_stamp_options so = TSA_STAMP_OPTIONS_INIT;
	struct tsa_stamp stamp = TSA_STAMP_INIT;
	struct box box = BOX_INIT;
	struct buf payload = BUF_INIT;
	char *event = NULL, short_id[13] = "";
	git_oid commit;
	int c, found = 0, r, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			goto out;
		case 't':
			if (http_url_check(optarg) < 0) {
				ret = error("--tsa: %s", box_error_last());
				if (http_url_has_credentials(optarg))
					hint(HTTP_CREDENTIALS_HINT);
				goto out;
			}
			strlist_add(&o.tsa, optarg);
			break;
		case 'c':
			o.tsa_ca = optarg;
			break;
		case 'T':
			if (parse_timeout(&o.timeout, optarg) < 0) {
				ret = usage_error(&usage, "--timeout needs whole seconds from 1 to 3600, "
						  "not '%s'", optarg);
				goto out;
			}
			break;
		case 'j':
			o.json = 1;
			break;
		}
	}
	ret = BOX_ERROR;
	if (optind + 1 < argc) {
		ret = usage_error(&usage, "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	o.rev = optind < argc ? argv[optind] : NULL;

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if (find_event(&commit, &found, &box, o.rev) < 0)
		goto out;
	if (!found) {
		if (o.json) {
			json_t *j = stamp_json(&stamp, NULL, NULL, 0);

			ret = print_json(j) ? BOX_ERROR : BOX_OK;
			json_decref(j);
		} else {
			printf_ln("nothing to timestamp: every event on the box branch has a timestamp tag");
			ret = BOX_OK;
		}
		goto done;
	}
	git_oid_tostr(short_id, sizeof(short_id), &commit);

	/* The event, from its manifest: the payload is what the TSA stamps. */
	r = box_note_read(&payload, NULL, box.repo, &commit);
	if (r < 0) {
		error_last(NULL);
		goto out;
	}
	if (r > 0) {
		error("%s has no manifest note in %s: it is not an event of the box", short_id,
		      BOX_NOTES_REF);
		hint("timestamp an event: 'git box status' lists those that wait for one");
		goto out;
	}
	if (tsa_payload_event(&event, payload.ptr ? payload.ptr : "", payload.len, &commit) < 0) {
		error_last(NULL);
		hint("only the manifests git box writes can be timestamped");
		goto out;
	}

	so.tsa = &o.tsa;
	so.tsa_ca = o.tsa_ca;
	so.timeout_ms = o.timeout * 1000;
	r = tsa_stamp_event(&stamp, box.repo, &box.policy, &commit, event, payload.ptr ? payload.ptr : "",
			    payload.len, &so);
	if (r == TSA_ERROR) {
		error_last(NULL);
		if (!stamp.tag && !box.policy.tsa.nr && !o.tsa.nr)
			hint("name a TSA with --tsa <url>, or in the policy's timestamp.tsa");
		else if (!stamp.tag && !o.tsa_ca && !box.policy.tsa_ca)
			hint("give the TSA's trust anchors with --tsa-ca <file>");
		goto out;
	}
	if (r != TSA_OK) {
		for (size_t i = 0; i < stamp.attempts_nr; i++)
			error("%s", stamp.attempts[i].error);
		if (r == TSA_UNANSWERED) {
			error("no TSA answered with a timestamp: the %s event on %s is not timestamped, "
			      "and nothing was stored", event, short_id);
			hint("run 'git box timestamp %s' again when a TSA can be reached", short_id);
			ret = BOX_ERROR;
		} else {
			error("no TSA gave a valid timestamp of the %s event on %s; nothing was stored",
			      event, short_id);
			hint("a response that fails a check may be forged or replayed: check the TSA "
			     "and its trust anchors");
			ret = BOX_FAILED;
		}
		if (o.json) {
			json_t *j = stamp_json(&stamp, event, &commit, 1);

			print_json(j);
			json_decref(j);
			finish_stdout();
		}
		goto out;
	}
	if (o.json) {
		json_t *j = stamp_json(&stamp, event, &commit, 1);

		ret = print_json(j) ? BOX_ERROR : BOX_OK;
		json_decref(j);
	} else {
		print_stamp(&stamp, event, short_id);
		ret = BOX_OK;
	}
done:
	if (finish_stdout())
		ret = BOX_ERROR;
out:
	tsa_stamp_release(&stamp);
	free(event);
	buf_release(&payload);
	strlist_release(&o.tsa);
	box_release(&box);
	return ret;
}

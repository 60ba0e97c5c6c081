/*
 * git box sign: co-signing. Appends the signer's detached signature to
 * an event's note; the payload is never touched, so every signature
 * already there stays valid. One signature per primary key.
 */
#include <string.h>

#include "commands.h"
#include "events.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box sign [--role <role>] [--reason <reason>] [--json] [<rev>]",
	NULL,
};

static const struct command_usage usage = { "sign", synopsis };

/* The event to sign: REV's, or the newest. */
static int find_event(const struct box_event **out, const struct box *b, const struct box_events *ev,
		      const char *rev)
{
	git_oid commit;

	if (!rev) {
		*out = box_events_last(ev);
		return 0;
	}
	if (box_resolve_commit(&commit, b->repo, rev) < 0)
		return -1;
	*out = box_events_find(ev, &commit);
	if (*out)
		return 0;
	if (box_events_position(ev, &commit) < 0)
		box_error_set("%.12s is not on the first-parent history of the box branch '%s'",
			      git_oid_tostr_s(&commit), b->policy.branch);
	else
		box_error_set("%.12s has no manifest; 'git box checkpoint %s' writes one", git_oid_tostr_s(&commit), rev);
	return BOX_EREFUSED;
}

/* Refuse a second signature by the same primary key, whichever of its subkeys made either. */
static int check_not_signed(struct sign_ctx *s, const struct sign_checks *checks, const char *fpr)
{
	for (size_t i = 0; i < checks->nr; i++) {
		const struct sign_check *c = &checks->items[i];

		if ((*c->fpr && !strcmp(c->fpr, fpr)) || sign_key_owns(s, fpr, c->signing_fpr)) {
			box_error_set("already signed by %s%s%s%s", fpr, c->uid ? " (" : "",
				      c->uid ? c->uid : "", c->uid ? ")" : "");
			return BOX_EREFUSED;
		}
	}
	return 0;
}

static void report(const struct box *b, const struct box_event *e, const struct event_signer *signer,
		   const char *role, const char *reason, const struct sign_checks *before, int json)
{
	struct sign_checks all = { NULL, 0 };
	struct sign_check mine = SIGN_CHECK_INIT;
	struct strlist missing = STRLIST_INIT;
	size_t have;
	int is_seal = !strcmp(e->manifest.event, "seal");

	/* The quorum now: the signatures that were there, and this one. */
	all.items = xcalloc(before->nr + 1, sizeof(*all.items));
	if (before->nr)
		memcpy(all.items, before->items, before->nr * sizeof(*all.items));
	mine.good = 1;
	memcpy(mine.fpr, signer->key.fpr, sizeof(mine.fpr));
	all.items[before->nr] = mine;
	all.nr = before->nr + 1;
	have = sign_quorum(&all, &b->policy.signers, &missing);

	if (json) {
		json_t *m = json_array(), *j;

		for (size_t i = 0; i < missing.nr; i++)
			json_array_append_new(m, json_string(missing.items[i]));
		j = json_pack("{s:s, s:s, s:{s:s, s:o?, s:s, s:s}, s:I}",
			      "event", e->manifest.event, "commit", git_oid_tostr_s(&e->commit),
			      "signature", "fingerprint", signer->key.fpr, "uid", json_text(signer->key.uid),
			      "role", role, "reason", reason, "signatures", (json_int_t)all.nr);
		if (is_seal)
			json_object_set_new(j, "quorum", json_pack("{s:i, s:I, s:o}", "required", b->policy.quorum,
								   "signed", (json_int_t)have, "missing", m));
		else
			json_decref(m);
		print_json(j);
		json_decref(j);
	} else {
		printf_ln("Signed %s %s", e->manifest.event, git_oid_tostr_s(&e->commit));
		printf_ln("  signer    %s%s%s as %s, \"%s\"", signer->key.uid ? signer->key.uid : "",
			  signer->key.uid ? " " : "", signer->key.fpr, role, reason);
		printf_ln("  signatures %zu", all.nr);
		if (is_seal && b->policy.quorum)
			printf_ln("  quorum    %zu of %d%s", have, b->policy.quorum,
				  (int)have >= b->policy.quorum ? ": the seal is complete" : "");
	}
	free(all.items);
	strlist_release(&missing);
}

int cmd_sign(int argc, char **argv)
{
	static const struct option options[] = {
		{ "role", required_argument, NULL, 'r' },
		{ "reason", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct event_signer signer = EVENT_SIGNER_INIT;
	struct box_events ev = BOX_EVENTS_INIT;
	struct sign_checks checks = SIGN_CHECKS_INIT;
	struct box box = BOX_INIT;
	struct buf signature = BUF_INIT, note = BUF_INIT;
	const struct box_event *e = NULL;
	const char *role = SIGN_DEFAULT_ROLE, *reason = SIGN_DEFAULT_REASON, *rev = NULL;
	char *reflog = NULL;
	int c, json = 0, ret = BOX_ERROR, err;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return ret;
		case 'r': role = optarg; break;
		case 'R': reason = optarg; break;
		case 'j': json = 1; break;
		}
	}
	if (optind < argc)
		rev = argv[optind++];
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);
	if (sign_meaning_valid(role, reason) < 0)
		return usage_error(&usage, "%s", box_error_last());

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if (box_events_load(&ev, &box, NULL, 0) < 0) {
		error_last(NULL);
		goto out;
	}
	if (box_events_check(&ev, &box, NULL)) {
		ret = ev.nr ? BOX_FAILED : BOX_ERROR;
		error("the event chain is broken: %s", box_error_last());
		hint("nothing was signed; 'git box log' shows the chain");
		goto out;
	}
	if ((err = find_event(&e, &box, &ev, rev)) < 0) {
		ret = box_exit_code(err);
		error_last(NULL);
		goto out;
	}

	/* A signature vouches for the whole manifest, not only for its place in the chain. */
	{
		struct manifest whole = MANIFEST_INIT;

		if (manifest_parse(&whole, e->payload.ptr, e->payload.len) < 0) {
			error("the note on %s is %s", git_oid_tostr_s(&e->commit), box_error_last());
			ret = BOX_FAILED;
			goto out;
		}
		manifest_release(&whole);
	}

	/* Who signs, and whether they may: before gpg asks for a passphrase. */
	if ((err = event_signer_open(&signer, &box)) < 0 ||
	    (err = sign_check_all(&checks, signer.ctx, e->payload.ptr, e->payload.len,
				  e->signatures.ptr ? e->signatures.ptr : "", e->signatures.len)) < 0 ||
	    (*signer.key.fpr && (err = check_not_signed(signer.ctx, &checks, signer.key.fpr)) < 0)) {
		ret = box_exit_code(err);
		error_last(NULL);
		goto out;
	}
	if (sign_payload(&signature, &signer.key, signer.ctx, e->payload.ptr, e->payload.len, role, reason) < 0) {
		error_last(NULL);
		goto out;
	}
	if (!sign_key_allowed(&box.policy.signers, signer.key.fpr)) {
		error("gpg signed with %s, which is not in the policy's signer list", signer.key.fpr);
		ret = BOX_FAILED;
		hint("set box.signingKey to a listed key");
		goto out;
	}
	if ((err = check_not_signed(signer.ctx, &checks, signer.key.fpr)) < 0) {
		ret = box_exit_code(err);
		error_last(NULL);
		goto out;
	}

	/* The payload as it was, every signature as it was, then this one: one ref update. */
	buf_add(&note, e->payload.ptr, e->payload.len);
	buf_add(&note, e->signatures.ptr, e->signatures.len);
	buf_add(&note, signature.ptr, signature.len);
	reflog = xstrfmt("box: sign %s", git_oid_tostr_s(&e->commit));
	err = box_note_write(NULL, box.repo, &ev.notes_tip, &e->commit, note.ptr, 1, reflog);
	if (err < 0) {
		ret = box_exit_code(err);
		error_last(NULL);
		if (err == BOX_ECONFLICT)
			hint("nothing was signed; run 'git box sign' again");
		goto out;
	}
	report(&box, e, &signer, role, reason, &checks, json);
	ret = finish_stdout() ? BOX_ERROR : BOX_OK;
out:
	free(reflog);
	buf_release(&note);
	buf_release(&signature);
	sign_checks_release(&checks);
	event_signer_close(&signer);
	box_events_release(&ev);
	box_release(&box);
	return ret;
}

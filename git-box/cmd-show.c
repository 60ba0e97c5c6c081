/*
 * git box show: one event's manifest and signatures. --payload and
 * --signatures print the stored bytes exactly, so that stock gpg checks
 * them: git box show --payload > m.json; git box show --signatures > m.asc;
 * gpg --verify m.asc m.json. On a terminal nobody pipes them to gpg:
 * there they are shown escaped, line by line, as all other text is.
 */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "events.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box show [--payload | --signatures | --json] [<rev>]",
	NULL,
};

static const struct command_usage usage = { "show", synopsis };

enum show_what { SHOW_SUMMARY, SHOW_PAYLOAD, SHOW_SIGNATURES, SHOW_JSON };

static int write_stored(const struct buf *b)
{
	if (isatty(1))
		print_lines(stdout, b->ptr, b->len);
	else if (b->len && fwrite(b->ptr, 1, b->len, stdout) != b->len)
		return error("cannot write to standard output");
	return finish_stdout() ? BOX_ERROR : BOX_OK;
}

static void print_class(const char *name, const struct manifest_files *f)
{
	uint64_t bytes = 0;
	char hex[SHA256_HEX_LEN + 1];

	for (size_t i = 0; i < f->nr; i++)
		bytes += f->items[i].size;
	putchar('\n');
	printf_ln("%s: %zu file%s, %" PRIu64 " bytes", name, f->nr, f->nr == 1 ? "" : "s", bytes);
	for (size_t i = 0; i < f->nr; i++) {
		sha256_hex(hex, f->items[i].sha256);
		printf_ln("  %s %06o %12" PRIu64 "  %s", hex, f->items[i].mode, f->items[i].size,
			  f->items[i].path);
	}
}

static void print_summary(const git_oid *commit, const struct manifest *m, const struct buf *payload,
			  const struct sign_checks *checks, const char *signature_error)
{
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	struct buf line = BUF_INIT;

	printf_ln("event     %s", m->event);
	printf_ln("commit    %s", git_oid_tostr_s(commit));
	printf_ln("box       %s (%s)", git_oid_tostr_s(&m->box), m->name);
	printf_ln("tree      %s", git_oid_tostr_s(&m->tree));
	printf_ln("time      %s", m->time);
	if (m->message)
		printf_ln("message   %s", m->message);
	sha256_hex(hex, m->previous);
	printf_ln("previous  %s", m->has_previous ? hex : "none (the first event)");
	sha256_hex(hex, m->policy);
	printf_ln("policy    sha256 %s", hex);
	sha256_buffer(digest, payload->ptr, payload->len);
	sha256_hex(hex, digest);
	printf_ln("manifest  sha256 %s (%zu bytes)", hex, payload->len);
	if (signature_error)
		printf_ln("signed    BAD: %s", signature_error);
	else if (!checks->nr)
		printf_ln("signed    no");
	for (size_t i = 0; i < checks->nr; i++) {
		buf_reset(&line);
		sign_check_describe(&line, &checks->items[i]);
		printf_ln("signed    %s", line.ptr);
	}
	print_class("inputs", &m->inputs);
	print_class("outputs", &m->outputs);
	print_class("code", &m->code);
	buf_release(&line);
}

static int show_json(const git_oid *commit, const struct buf *payload, const struct sign_checks *checks,
		     const char *signature_error)
{
	unsigned char digest[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];
	json_t *manifest = json_loadb(payload->ptr, payload->len, JSON_REJECT_DUPLICATES, NULL);
	json_t *sigs = json_array(), *o;
	int ret;

	sha256_buffer(digest, payload->ptr, payload->len);
	sha256_hex(hex, digest);
	for (size_t i = 0; i < checks->nr; i++)
		json_array_append_new(sigs, sign_check_json(&checks->items[i]));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o?}", "commit", git_oid_tostr_s(commit), "payload_sha256", hex,
		      "manifest", manifest, "signatures", sigs, "signatures_error", json_text(signature_error));
	ret = print_json(o) ? BOX_ERROR : BOX_OK;
	json_decref(o);
	return ret;
}

int cmd_show(int argc, char **argv)
{
	static const struct option options[] = {
		{ "payload", no_argument, NULL, 'p' },
		{ "signatures", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct box_events ev = BOX_EVENTS_INIT;
	struct buf payload = BUF_INIT, signatures = BUF_INIT;
	struct manifest m = MANIFEST_INIT;
	struct sign_checks checks = SIGN_CHECKS_INIT;
	struct sign_ctx *gpg = NULL;
	enum show_what what = SHOW_SUMMARY;
	const char *rev = NULL;
	char *signature_error = NULL;
	git_oid commit;
	int c, found, chosen = 0, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return ret;
		case 'p': what = SHOW_PAYLOAD; chosen++; break;
		case 's': what = SHOW_SIGNATURES; chosen++; break;
		case 'j': what = SHOW_JSON; chosen++; break;
		}
	}
	if (chosen > 1)
		return usage_error(&usage, "--payload, --signatures and --json do not go together");
	if (optind < argc)
		rev = argv[optind++];
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (open_box(&box, NULL) != BOX_OK) {
		ret = BOX_ERROR;
		goto out;
	}
	if (rev) {
		if (box_resolve_commit(&commit, box.repo, rev) < 0) {
			error_last(NULL);
			goto out;
		}
	} else {
		if (box_events_load(&ev, &box, NULL, 0) < 0) {
			error_last(NULL);
			goto out;
		}
		if (!ev.nr) {
			error("the box branch has no event with a manifest");
			hint("fetch the manifests: git fetch origin refs/notes/box:refs/notes/box");
			goto out;
		}
		git_oid_cpy(&commit, &box_events_last(&ev)->commit);
	}

	found = box_note_read(&payload, &signatures, box.repo, &commit);
	if (found < 0) {
		error_last(NULL);
		goto out;
	}
	if (found == 1) {
		error("no manifest on %s", git_oid_tostr_s(&commit));
		hint("'git box log' lists the events; fetch missing ones with "
		     "git fetch origin refs/notes/box:refs/notes/box");
		goto out;
	}
	if (what == SHOW_PAYLOAD) {
		ret = write_stored(&payload);
		goto out;
	}
	if (what == SHOW_SIGNATURES) {
		if (!signatures.len) {
			error("the manifest on %s is not signed", git_oid_tostr_s(&commit));
			ret = BOX_FAILED;
			goto out;
		}
		ret = write_stored(&signatures);
		goto out;
	}

	if (manifest_parse(&m, payload.ptr ? payload.ptr : "", payload.len) < 0) {
		error("the note on %s is %s", git_oid_tostr_s(&commit), box_error_last());
		hint("'git box show --payload %s' prints it as stored", rev ? rev : "");
		ret = BOX_FAILED;
		goto out;
	}
	if (sign_open(&gpg, box.repo, NULL) < 0) {
		error_last(NULL);
		goto out;
	}
	if (sign_check_all(&checks, gpg, payload.ptr, payload.len, signatures.ptr ? signatures.ptr : "",
			   signatures.len) < 0)
		signature_error = xstrdup(box_error_last());
	if (what == SHOW_JSON) {
		ret = show_json(&commit, &payload, &checks, signature_error);
	} else {
		print_summary(&commit, &m, &payload, &checks, signature_error);
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
out:
	free(signature_error);
	sign_checks_release(&checks);
	sign_close(gpg);
	manifest_release(&m);
	buf_release(&payload);
	buf_release(&signatures);
	box_events_release(&ev);
	box_release(&box);
	return ret;
}

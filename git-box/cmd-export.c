/*
 * git box export: the archivist's audit bundle (gitbox-bundle(5)) of the
 * seal, or of the event REV names, as one tar: a BagIt bag whose data/
 * is the commit's tree and whose box/ holds the signed and timestamped
 * manifest and the box's history, checkable with stock tools.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "events.h"
#include "export.h"
#include "output.h"
#include "repo.h"
#include "verify.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box export [-o <file>] [--format (tar | tar.gz | tar.zst)] [--json] [<rev>]",
	NULL,
};

static const struct command_usage usage = { "export", synopsis };

static int parse_format(enum bag_compression *out, const char *s)
{
	if (!strcmp(s, "tar"))
		*out = BAG_COMPRESS_NONE;
	else if (!strcmp(s, "tar.gz"))
		*out = BAG_COMPRESS_GZIP;
	else if (!strcmp(s, "tar.zst"))
		*out = BAG_COMPRESS_ZSTD;
	else
		return -1;
	return 0;
}

/* The format a file name asks for, when --format does not say. */
static enum bag_compression format_of_name(const char *path)
{
	if (ends_with(path, ".tar.gz") || ends_with(path, ".tgz"))
		return BAG_COMPRESS_GZIP;
	if (ends_with(path, ".tar.zst") || ends_with(path, ".tzst"))
		return BAG_COMPRESS_ZSTD;
	return BAG_COMPRESS_NONE;
}

static const char *format_name(enum bag_compression c)
{
	return export_suffix(c) + 1;
}

/* Refuse at once a target whose folder is missing, or that is a folder. */
static int check_target(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup(".");
	struct stat st;
	int ret = BOX_OK;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ret = error("cannot write '%s': the folder '%s' %s", path, dir,
			    errno == ENOENT || !S_ISDIR(st.st_mode) ? "does not exist" : strerror(errno));
		hint("make the folder first, or name another file with -o");
	} else if (!stat(path, &st) && S_ISDIR(st.st_mode)) {
		ret = error("cannot write '%s': it is a folder", path);
		hint("name the file to write, for example -o '%s/bundle.tar'", path);
	}
	free(dir);
	return ret;
}

/*
 * The commit to export: REV when given, which must carry an event of the
 * box branch; else the seal. Exit code on failure.
 */
static int choose_commit(git_oid *out, const struct box *b, const char *rev)
{
	struct box_events ev = BOX_EVENTS_INIT;
	const struct box_event *e;
	int ret = BOX_ERROR;

	if (box_events_load(&ev, b, NULL, 0) < 0) {
		error_last(NULL);
		goto out;
	}
	if (!rev) {
		e = box_events_last(&ev);
		if (!e || e->invalid || !e->manifest.event || strcmp(e->manifest.event, "seal")) {
			error("the box '%s' is not sealed: there is no seal to export", b->policy.name);
			hint("seal it with 'git box seal', or name the event to export: "
			     "git box export <rev> ('git box log' lists them)");
			ret = BOX_FAILED;
			goto out;
		}
		git_oid_cpy(out, &e->commit);
		ret = BOX_OK;
		goto out;
	}
	if (box_resolve_commit(out, b->repo, rev) < 0) {
		error_last(NULL);
		goto out;
	}
	e = box_events_find(&ev, out);
	if (!e) {
		error("'%s' (%.12s) is not an event of the box branch: only a commit with a "
		      "manifest can be exported", rev, git_oid_tostr_s(out));
		hint("'git box log' lists the events; with no <rev>, export exports the seal");
		ret = BOX_FAILED;
		goto out;
	}
	if (e->invalid) {
		error("the note on '%s' is not a manifest: %s", rev, e->invalid);
		hint("'git box show --payload %s' prints it as stored", rev);
		ret = BOX_FAILED;
		goto out;
	}
	ret = BOX_OK;
out:
	box_events_release(&ev);
	return ret;
}

static int copy_to_stdout(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = BOX_OK;

	if (fd < 0)
		return error("cannot read '%s': %s", path, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error("cannot read '%s': %s", path, strerror(errno));
			break;
		}
		if (!n)
			break;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			ret = error("cannot write to standard output: %s", strerror(errno));
			break;
		}
	}
	close(fd);
	if (ret == BOX_OK && finish_stdout())
		ret = BOX_ERROR;
	return ret;
}

/*
 * box/verify.json: git box verify --self-check --json on the exported
 * commit: the box checked against the roots it names itself (the report
 * says so, and its verdict is "consistent", never "verified": export has
 * no roots of an auditor's to give), run once the payload
 * is written, with the digests the bag writer computed of its blobs
 * (verify.h: verify_options.known), so that no blob is hashed twice. It
 * runs in export's thread for it (export.h: export_payload_fn): it
 * prints nothing, and leaves its findings in `report` and `json`.
 */
struct export_verify {
	const struct box *box;
	const git_oid *commit;
	struct verify_report *report;
	struct buf *json;
	char *hint;                     /* why verify could not run, when it could not */
};

static int run_verify(void *data, const struct hash_known *payload)
{
	struct export_verify *ev = data;
	struct verify_options o = VERIFY_OPTIONS_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	json_t *report;
	char *text;
	int ret = -1;

	git_oid_tostr(hex, sizeof(hex), ev->commit);
	o.rev_given = 1;
	o.self_check = 1;
	o.known = payload;
	if (verify_repository(ev->report, ev->box->repo, hex, &o) < 0) {
		box_error_wrap("cannot verify %.12s for box/verify.json", hex);
		if (ev->report->hint)
			ev->hint = xstrdup(ev->report->hint);
		goto out;
	}
	report = verify_report_json(ev->report);
	text = report ? json_dumps(report, JSON_REPORT_FLAGS) : NULL;
	json_decref(report);
	if (!text) {
		box_error_set("cannot write the verify report");
		goto out;
	}
	buf_adds(ev->json, text);
	buf_addch(ev->json, '\n');
	free(text);
	ret = 0;
out:
	verify_options_release(&o);
	return ret;
}

static int report_json(const struct export_result *r, const git_oid *commit, const struct box *b,
		       enum bag_compression format, const struct verify_report *vr)
{
	char hex[SHA256_HEX_LEN + 1], commit_hex[GIT_OID_HEXSZ + 1], box_hex[GIT_OID_HEXSZ + 1];
	json_t *o;
	int ret;

	sha256_hex(hex, r->sha256);
	git_oid_tostr(commit_hex, sizeof(commit_hex), commit);
	git_oid_tostr(box_hex, sizeof(box_hex), &b->id);
	o = json_pack("{s:o, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}",
		      "file", json_text(r->file), "format", format_name(format), "commit", commit_hex, "box", box_hex,
		      "bytes", (json_int_t)r->bytes, "payload_files", (json_int_t)r->payload_files,
		      "payload_bytes", (json_int_t)r->payload_bytes, "sha256", hex,
		      "verify", verify_verdict(vr));
	ret = print_json(o) ? BOX_ERROR : BOX_OK;
	json_decref(o);
	return ret;
}

int cmd_export(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct box box = BOX_INIT;
	struct export_options eo = EXPORT_OPTIONS_INIT;
	struct export_result r = EXPORT_RESULT_INIT;
	struct verify_report vr = VERIFY_REPORT_INIT;
	struct buf verify_json = BUF_INIT;
	struct export_verify ev = { NULL, NULL, NULL, NULL, NULL };
	struct progress *progress = NULL;
	enum bag_compression format = BAG_COMPRESS_NONE;
	const char *rev = NULL, *output = NULL, *format_arg = NULL;
	char *tmpdir = NULL, *tmpfile = NULL;
	struct held_signals held;
	int c, json = 0, to_stdout, err, held_now = 0, ret = BOX_ERROR;
	git_oid commit;

	while ((c = parse_options(argc, argv, "ho:", options, &usage, &ret)) != -1) {
		switch (c) {
		case PARSE_OPTIONS_EXIT:
			return ret;
		case 'o': output = optarg; break;
		case 'f': format_arg = optarg; break;
		case 'j': json = 1; break;
		}
	}
	if (optind < argc)
		rev = argv[optind++];
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);
	if (format_arg && parse_format(&format, format_arg) < 0)
		return usage_error(&usage, "unknown format '%s': give tar, tar.gz or tar.zst", format_arg);
	if (output && !*output)
		return usage_error(&usage, "-o needs a file name");
	to_stdout = output && !strcmp(output, "-");
	if (to_stdout && json)
		return usage_error(&usage, "--json and -o - both write to standard output");
	if (!format_arg && output && !to_stdout)
		format = format_of_name(output);
	if (output && !to_stdout && check_target(output) != BOX_OK)
		return BOX_ERROR;

	/*
	 * Over a file size limit (ulimit -f), let write() fail with EFBIG
	 * rather than be killed by SIGXFSZ: the writer then removes its
	 * temporary file, and the target is left as it was.
	 */
	signal(SIGXFSZ, SIG_IGN);

	if (open_box(&box, NULL) != BOX_OK)
		goto out;
	ret = choose_commit(&commit, &box, rev);
	if (ret != BOX_OK)
		goto out;
	ret = BOX_ERROR;

	if (to_stdout) {
		tmpdir = make_private_tmpdir("export");
		if (!tmpdir) {
			error_last(NULL);
			goto out;
		}
		tmpfile = xstrfmt("%s/bundle%s", tmpdir, export_suffix(format));
	}

	ev.box = &box;
	ev.commit = &commit;
	ev.report = &vr;
	ev.json = &verify_json;
	eo.compression = format;
	eo.digest = json;
	eo.verify_json = &verify_json;
	eo.after_payload = run_verify;
	eo.after_payload_data = &ev;
	progress = progress_start("Exporting files", 0);
	eo.progress = progress_callback;
	eo.progress_data = progress;
	/* Temporary files and a private GnuPG home exist meanwhile: a signal waits for them to go. */
	signals_hold(&held);
	held_now = 1;
	err = export_write(&r, &box, &commit, to_stdout ? tmpfile : output, &eo);
	progress_finish(progress);
	progress = NULL;
	for (size_t i = 0; i < r.warnings.nr; i++)
		warning("%s", r.warnings.items[i]);
	if (err < 0) {
		error_last(NULL);
		if (ev.hint)
			hint("%s", ev.hint);
		else if (err == BOX_EREFUSED)
			hint("'git box verify --self-check %.12s' checks the box and says what is wrong",
			     git_oid_tostr_s(&commit));
		ret = box_exit_code(err);
		goto out;
	}

	if (vr.failures) {
		warning("git box verify finds %zu failure%s at %.12s: the bundle records %s in box/verify.json",
			vr.failures, vr.failures == 1 ? "" : "s", git_oid_tostr_s(&commit),
			vr.failures == 1 ? "it" : "them");
		hint("'git box verify --self-check %.12s' says what failed", git_oid_tostr_s(&commit));
	}
	if (to_stdout) {
		ret = copy_to_stdout(tmpfile);
		goto out;
	}
	if (json) {
		ret = report_json(&r, &commit, &box, format, &vr);
	} else {
		printf_ln("Exported the %s event on %.12s to '%s': %" PRIu64 " file%s, %" PRIu64 " bytes",
			  r.event, git_oid_tostr_s(&commit), r.file, r.payload_files,
			  r.payload_files == 1 ? "" : "s", r.payload_bytes);
		ret = BOX_OK;
	}
	if (finish_stdout())
		ret = BOX_ERROR;
out:
	progress_finish(progress);
	if (tmpdir) {
		remove_tree(tmpdir);
		free(tmpdir);
	}
	if (held_now)
		signals_release(&held);   /* a signal held meanwhile is delivered now */
	free(tmpfile);
	free(ev.hint);
	buf_release(&verify_json);
	verify_report_release(&vr);
	export_result_release(&r);
	box_release(&box);
	return ret;
}

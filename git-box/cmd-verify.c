/*
 * git box verify: the auditor's check of a box in any clone, with or
 * without git box installed, or of an audit bundle offline. verify.c
 * does the checks of a repository, bundle.c those of a bundle; this file
 * reads the options, tells a bundle from a revision, and prints the
 * report, one line per check and a summary, or as JSON.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "commands.h"
#include "output.h"
#include "repo.h"
#include "verify.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box verify [--json] [--quiet] [--trust-signer <fpr>]... [--keyring <file>] "
	"[--tsa-ca <file>] [--allow-unsigned] [--allow-unstamped] [--expect-seal <sha256>] "
	"[--expect-box <id>] [<rev>]",
	"git box verify [--json] [--quiet] [--trust-signer <fpr>]... [--keyring <file>] "
	"[--tsa-ca <file>] [--allow-unsigned] [--allow-unstamped] [--expect-seal <sha256>] "
	"[--expect-box <id>] [--bundle] <bundle.tar>",
	"git box verify --self-check [--json] [--quiet] [--expect-seal <sha256>] [--expect-box <id>] "
	"[<rev> | [--bundle] <bundle.tar>]",
	NULL,
};

static const struct command_usage usage = { "verify", synopsis };

static void print_text(const struct verify_report *r, int quiet)
{
	struct buf line = BUF_INIT;

	for (size_t i = 0; i < r->nr; i++) {
		const struct verify_check *c = &r->checks[i];

		if (quiet && c->status != VERIFY_FAIL)
			continue;
		buf_reset(&line);
		verify_check_describe(&line, c);
		printf_ln("%-4s %s", verify_status_name(c->status), line.ptr);
	}
	buf_reset(&line);
	verify_report_summary(&line, r);
	printf_ln("%s", line.ptr);
	buf_release(&line);
}

static int is_tar_name(const char *arg)
{
	return ends_with(arg, ".tar") || ends_with(arg, ".tar.gz") || ends_with(arg, ".tgz") ||
	       ends_with(arg, ".tar.zst");
}

/* Does `arg` name a commit of the repository here, if there is one? */
static int names_commit(const char *arg)
{
	git_repository *repo = NULL;
	git_object *obj = NULL;
	char *spec = xstrfmt("%s^{commit}", arg);
	int found = 0;

	if (!repo_open_from_env(&repo) && !git_revparse_single(&obj, repo, spec))
		found = 1;
	git_object_free(obj);
	git_repository_free(repo);
	git_error_clear();
	box_error_clear();
	free(spec);
	return found;
}

/*
 * The argument is a bundle when --bundle says so, when it is a path
 * (starting with '/', './' or '../'), or when it names an existing file
 * that is not also a commit here (both: ambiguous, exit 2); a missing
 * name ending in .tar, .tar.gz, .tgz or .tar.zst that is no commit is a
 * bundle too, so that the error says the file is missing.
 */
static int is_bundle(int *out, const char *arg, int forced)
{
	struct stat st;

	*out = 1;
	if (forced || arg[0] == '/' || starts_with(arg, "./") || starts_with(arg, "../"))
		return 0;
	if (!lstat(arg, &st) && !S_ISDIR(st.st_mode)) {
		if (names_commit(arg)) {
			error("'%s' is both a file and a revision", arg);
			hint("say which: 'git box verify ./%s' for the bundle, '%s^{commit}' for the revision",
			     arg, arg);
			return -1;
		}
		return 0;
	}
	*out = is_tar_name(arg) && lstat(arg, &st) && !names_commit(arg);
	return 0;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "trust-signer", required_argument, NULL, 's' },
		{ "keyring", required_argument, NULL, 'k' },
		{ "tsa-ca", required_argument, NULL, 'c' },
		{ "expect-seal", required_argument, NULL, 'e' },
		{ "self-check", no_argument, NULL, 'S' },
		{ "allow-unsigned", no_argument, NULL, 'U' },
		{ "allow-unstamped", no_argument, NULL, 'T' },
		{ "expect-box", required_argument, NULL, 'x' },
		{ "bundle", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_options o = VERIFY_OPTIONS_INIT;
	struct verify_report r = VERIFY_REPORT_INIT;
	git_repository *repo = NULL;
	const char *rev = NULL, *env;
	struct bundle_options bo = BUNDLE_OPTIONS_INIT;
	struct held_signals held;
	int c, json = 0, quiet = 0, forced = 0, bundle = 0, failed, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "hq", options, &usage, &ret)) != -1) {
		if (c == PARSE_OPTIONS_EXIT)
			goto out;
		switch (c) {
		case 'j': json = 1; break;
		case 'q': quiet = 1; break;
		case 's': strlist_add(&o.trust_signers, optarg); break;
		case 'k': o.keyring = optarg; break;
		case 'c': o.tsa_ca = optarg; break;
		case 'e': o.expect_seal = optarg; break;
		case 'S': o.self_check = 1; break;
		case 'U': o.allow_unsigned = 1; break;
		case 'T': o.allow_unstamped = 1; break;
		case 'x': o.expect_box = optarg; break;
		case 'b': forced = 1; break;
		}
	}
	ret = BOX_ERROR;
	if (optind < argc)
		rev = argv[optind++];
	if (optind < argc) {
		ret = usage_error(&usage, "unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (forced && !rev) {
		ret = usage_error(&usage, "--bundle needs the bundle's file name");
		goto out;
	}
	if (rev && is_bundle(&bundle, rev, forced) < 0)
		goto out;
	o.rev_given = rev != NULL;
	/* The auditor's configuration fills the roots and pins not given. */
	if (verify_options_from_config(&o) < 0) {
		error_last(NULL);
		goto out;
	}
	if (verify_options_check(&r, &o) < 0) {
		error_last(NULL);
		if (r.hint)
			hint("%s", r.hint);
		goto out;
	}

	if (bundle) {
		if (bundle_verify(&r, rev, &o, &bo) < 0) {
			error_last(NULL);
			if (r.hint)
				hint("%s", r.hint);
			goto out;
		}
		goto report;
	}

	env = getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
	if (env && *env) {
		error("GIT_ALTERNATE_OBJECT_DIRECTORIES is set: verify reads only the repository's own objects");
		hint("unset it and run verify again");
		goto out;
	}
	if (repo_open_from_env(&repo) < 0) {
		error_last(NULL);
		goto out;
	}
	/* Verify keeps a private GnuPG home meanwhile: a signal waits for it to go. */
	signals_hold(&held);
	failed = verify_repository(&r, repo, rev, &o) < 0;
	if (signals_caught()) {
		error_last(NULL);
		signals_release(&held);
		goto out;
	}
	signals_release(&held);
	if (failed) {
		error_last(NULL);
		if (r.hint)
			hint("%s", r.hint);
		goto out;
	}
report:
	if (json) {
		json_t *report = verify_report_json(&r);

		print_json(report);
		json_decref(report);
	} else {
		print_text(&r, quiet);
	}
	if (finish_stdout())
		goto out;
	ret = r.failures ? BOX_FAILED : BOX_OK;
out:
	verify_report_release(&r);
	verify_options_release(&o);
	git_repository_free(repo);
	return ret;
}

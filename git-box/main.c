/*
 * git box: one binary, many entry points. git runs it as `git box CMD`;
 * the hooks run `git box hook NAME` and the filter `git box filter-process`.
 */
#include <git2.h>
#include <gpgme.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <archive.h>
#include <curl/curl.h>
#include <yaml.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"
#include "banned.h"

#define PACK_WINDOW_SIZE (8 << 20)
#define PACK_MAPPED_LIMIT (32 << 20)

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	int hidden;       /* entry points for git, not for people */
};

static const struct command commands[] = {
	{ "init", cmd_init, "make a box of a folder or repository", 0 },
	{ "status", cmd_status, "show the box, its state and the next step", 0 },
	{ "import", cmd_import, "copy more inputs into a box that is still CREATED", 0 },
	{ "checkpoint", cmd_checkpoint, "record a signed manifest of where the work stands", 0 },
	{ "seal", cmd_seal, "record the final manifest and lock the box", 0 },
	{ "sign", cmd_sign, "add your signature to an event (co-signing)", 0 },
	{ "log", cmd_log, "show the chain of events", 0 },
	{ "show", cmd_show, "show one event's manifest and signatures, as stored", 0 },
	{ "timestamp", cmd_timestamp, "have an event's manifest stamped by an RFC 3161 TSA", 0 },
	{ "export", cmd_export, "write an audit bundle: a BagIt tar to check offline", 0 },
	{ "verify", cmd_verify, "check a box, or its audit bundle, against your trust roots", 0 },
	{ "restore", cmd_restore, "put inputs back as they were frozen", 0 },
	{ "install", cmd_install, "set up hooks, filter and refspecs in this clone", 0 },
	{ "uninstall", cmd_uninstall, "remove exactly what install added", 0 },
	{ "hook", cmd_hook, "run a git hook (called by the hook shims)", 1 },
	{ "filter-process", cmd_filter_process, "git's long-running filter (called by git)", 1 },
};

static const char *const main_synopsis[] = {
	"git box [-C <path>] [--version] [-h | --help] <command> [<args>]",
	NULL,
};

/*
 * git box never speaks TLS through libgit2: the TSA client uses libcurl,
 * and fetch and push are git's own. Yet a libgit2 built with mbedTLS (as
 * Debian's is) parses the whole system CA bundle in git_libgit2_init(),
 * two thirds of the instructions of every start, the hooks' included.
 * This definition answers that call with an empty chain of trust. Should
 * libgit2 ever open a TLS connection for us, no certificate would verify:
 * it fails closed. A libgit2 built with OpenSSL never calls it.
 */
struct mbedtls_x509_crt;
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path);
int mbedtls_x509_crt_parse_file(struct mbedtls_x509_crt *chain, const char *path)
{
	(void)chain;
	(void)path;
	return 0;
}

int open_box(struct box *out, const char *not_a_box_hint)
{
	git_repository *repo = NULL;
	int not_a_box;

	if (repo_open_from_env(&repo) < 0)
		return error_last(NULL);
	if (box_open(out, repo, &not_a_box) < 0) {
		error_last(NULL);
		if (not_a_box)
			hint("%s", not_a_box_hint ? not_a_box_hint : "make one with 'git box init'");
		box_release(out);
		return BOX_ERROR;
	}
	return BOX_OK;
}

static void list_commands(FILE *out)
{
	fputc('\n', out);
	fprintf_ln(out, "The git box commands are:");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!commands[i].hidden)
			fprintf_ln(out, "   %-12s %s", commands[i].name, commands[i].summary);
	fputc('\n', out);
	fprintf_ln(out, "'git box help <command>' or 'git box <command> --help' opens its manual.");
}

static void main_usage(FILE *out)
{
	fprintf_ln(out, "usage: %s", main_synopsis[0]);
	list_commands(out);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static int show_version(void)
{
	int major, minor, rev;
	const char *yaml = yaml_get_version_string();
	curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);

	git_libgit2_version(&major, &minor, &rev);
	printf_ln("git box version %s", GIT_BOX_VERSION);
	printf_ln("libgit2 %d.%d.%d", major, minor, rev);
	printf_ln("%s", OpenSSL_version(OPENSSL_VERSION));
	printf_ln("gpgme %s", gpgme_check_version(NULL));
	printf_ln("libyaml %s", yaml);
	printf_ln("%s", archive_version_string());
	printf_ln("libcurl %s", curl->version);
	printf_ln("jansson %s", jansson_version_str());
	return finish_stdout() ? BOX_ERROR : BOX_OK;
}

static int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		main_usage(stdout);
		return finish_stdout() ? BOX_ERROR : BOX_OK;
	}
	if (!find_command(argv[1]) && !starts_with(argv[1], "gitbox-")) {
		error("'%s' is not a git box command or manual page", argv[1]);
		list_commands(stderr);
		return BOX_ERROR;
	}
	return show_man_page(argv[1]);
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	int ret;

	/* A reader that goes away (`git box log | head`) is not an error to report. */
	signal(SIGPIPE, SIG_DFL);

	argv++, argc--;
	while (argc > 0 && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-h")) {
			main_usage(stdout);
			return finish_stdout() ? BOX_ERROR : BOX_OK;
		} else if (!strcmp(argv[0], "--help")) {
			return argc > 1 ? show_man_page(argv[1]) : show_man_page("git-box");
		} else if (!strcmp(argv[0], "--version") || !strcmp(argv[0], "-v")) {
			return show_version();
		} else if (!strcmp(argv[0], "-C")) {
			if (argc < 2) {
				error("option '-C' needs a folder");
				main_usage(stderr);
				return BOX_ERROR;
			}
			if (chdir(argv[1]) < 0) {
				error("cannot change to '%s': %s", argv[1], strerror(errno));
				return BOX_ERROR;
			}
			argv += 2, argc -= 2;
		} else {
			error("unknown option '%s'", argv[0]);
			main_usage(stderr);
			return BOX_ERROR;
		}
	}
	if (argc == 0) {
		main_usage(stderr);
		return BOX_ERROR;
	}
	if (!strcmp(argv[0], "help"))
		return cmd_help(argc, argv);
	if (!strcmp(argv[0], "version"))
		return show_version();

	cmd = find_command(argv[0]);
	if (!cmd) {
		error("'%s' is not a git box command", argv[0]);
		list_commands(stderr);
		return BOX_ERROR;
	}
	/* As git does: `git box CMD --help` is `git box help CMD`. */
	if (argc > 1 && !strcmp(argv[1], "--help") && !cmd->hidden)
		return show_man_page(cmd->name);

	git_libgit2_init();
	/*
	 * libgit2 maps pack files in windows of up to 1 GiB and keeps 8 GiB
	 * mapped: what it reads of a large pack would count against git box's
	 * memory. Smaller windows and a small mapped total keep it bounded.
	 */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)PACK_WINDOW_SIZE);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)PACK_MAPPED_LIMIT);
	ret = cmd->fn(argc, argv);
	git_libgit2_shutdown();
	return ret;
}

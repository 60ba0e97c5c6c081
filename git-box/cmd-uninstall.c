/*
 * git box uninstall: remove exactly what install added (our hook shims
 * and the configuration values recorded under box.installed).
 */
#include "commands.h"
#include "install.h"
#include "output.h"
#include "repo.h"
#include "banned.h"

static const char *const synopsis[] = {
	"git box uninstall",
	NULL,
};

static const struct command_usage usage = { "uninstall", synopsis };

int cmd_uninstall(int argc, char **argv)
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct install_report report = INSTALL_REPORT_INIT;
	git_repository *repo = NULL;
	git_oid id;
	int c, had_id, forgot = 0, ret = BOX_ERROR;

	while ((c = parse_options(argc, argv, "h", options, &usage, &ret)) != -1)
		if (c == PARSE_OPTIONS_EXIT)
			return ret;
	if (optind < argc)
		return usage_error(&usage, "unexpected argument '%s'", argv[optind]);

	if (repo_open_from_env(&repo) < 0)
		return error_last(NULL);
	had_id = box_recorded_id(&id, repo) > 0;
	box_error_clear();
	if (box_uninstall(repo, &report) < 0 || (forgot = box_forget_id(repo)) < 0) {
		error_last(NULL);
		goto out;
	}
	for (size_t i = 0; i < report.hooks_removed.nr; i++)
		printf_ln("removed hook    %s", report.hooks_removed.items[i]);
	for (size_t i = 0; i < report.config_removed.nr; i++)
		printf_ln("removed config  %s", report.config_removed.items[i]);
	if (forgot)
		printf_ln("removed config  %s%s%s", BOX_ID_CONFIG, had_id ? " " : "",
			  had_id ? git_oid_tostr_s(&id) : "");
	if (!report.hooks_removed.nr && !report.config_removed.nr && !forgot)
		printf_ln("nothing of git box's was installed here");
	ret = finish_stdout() ? BOX_ERROR : BOX_OK;
out:
	install_report_release(&report);
	git_repository_free(repo);
	return ret;
}

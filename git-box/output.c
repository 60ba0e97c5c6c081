#include "output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static void vprint_line(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT, line = BUF_INIT;

	buf_vaddf(&msg, fmt, ap);
	buf_adds(&line, prefix);
	escape_text(&line, msg.ptr, msg.len, ESCAPE_TERMINAL);
	buf_addch(&line, '\n');
	fwrite(line.ptr, 1, line.len, f);
	buf_release(&line);
	buf_release(&msg);
}

static void report(const char *prefix, const char *fmt, va_list ap)
{
	vprint_line(stderr, prefix, fmt, ap);
}

void printf_ln(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(stdout, "", fmt, ap);
	va_end(ap);
}

void fprintf_ln(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_line(f, "", fmt, ap);
	va_end(ap);
}

void print_lines(FILE *f, const char *text, size_t len)
{
	struct buf line = BUF_INIT;

	while (len) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;

		buf_reset(&line);
		escape_text(&line, text, n, ESCAPE_TERMINAL);
		buf_addch(&line, '\n');
		fwrite(line.ptr, 1, line.len, f);
		n += nl ? 1 : 0;
		text += n;
		len -= n;
	}
	buf_release(&line);
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return BOX_ERROR;
}

int error_last(const char *context)
{
	if (context)
		return error("%s: %s", context, box_error_last());
	return error("%s", box_error_last());
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
}

void hint(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("hint: ", fmt, ap);
	va_end(ap);
}

int print_json(json_t *value)
{
	if (json_dumpf(value, stdout, JSON_REPORT_FLAGS) < 0)
		return error("cannot write the JSON report");
	fputc('\n', stdout);
	return 0;
}

int finish_stdout(void)
{
	if (fflush(stdout) || ferror(stdout))
		return error("cannot write to standard output: %s", strerror(errno));
	return 0;
}

void usage_show(const struct command_usage *u, FILE *out)
{
	for (size_t i = 0; u->synopsis[i]; i++)
		fprintf(out, "%s%s\n", i ? "   or: " : "usage: ", u->synopsis[i]);
}

int usage_error(const struct command_usage *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_show(u, stderr);
	return BOX_ERROR;
}

int parse_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
		  const struct command_usage *u, int *exit_code)
{
	int c, prev = optind;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	switch (c) {
	case 'h':
		usage_show(u, stdout);
		*exit_code = 0;
		return PARSE_OPTIONS_EXIT;
	case '?':
		if (optopt && strchr(shortopts, optopt) && optopt != ':')
			*exit_code = usage_error(u, "option '-%c' needs a value", optopt);
		else if (optopt)
			*exit_code = usage_error(u, "unknown option '-%c'", optopt);
		else if (prev < argc && optind > prev && strchr(argv[optind - 1], '='))
			*exit_code = usage_error(u, "option '%s' takes no value", argv[optind - 1]);
		else
			*exit_code = usage_error(u, "unknown option '%s'", argv[optind - 1]);
		return PARSE_OPTIONS_EXIT;
	case ':':
		*exit_code = usage_error(u, "option '%s' needs a value", argv[optind - 1]);
		return PARSE_OPTIONS_EXIT;
	}
	return c;
}

int show_man_page(const char *page)
{
	char *name = starts_with(page, "gitbox-") || starts_with(page, "git-box")
		? xstrdup(page) : xstrfmt("git-box-%s", page);

	fflush(stdout);
	/* Like git help: hand over to man(1), which finds MANPATH itself. */
	execlp("man", "man", name, (char *)NULL);
	error("cannot run 'man %s': %s", name, strerror(errno));
	hint("read Documentation/%s.adoc in the git box sources", name);
	free(name);
	return BOX_ERROR;
}

struct progress {
	const char *title;
	uint64_t total;
	uint64_t done, bytes;   /* the last figures given to progress_callback() */
	struct timespec start, last;
};

struct progress *progress_start(const char *title, uint64_t total)
{
	struct progress *p;

	if (!isatty(2))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->title = title;
	p->total = total;
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	return p;
}

static double seconds_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void progress_print(struct progress *p, uint64_t done, uint64_t bytes, const char *end)
{
	double secs = seconds_since(&p->start);
	double mib = (double)bytes / (1024.0 * 1024.0);

	if (p->total)
		fprintf(stderr, "\r%s: %3u%% (%llu/%llu), %.2f MiB | %.2f MiB/s%s", p->title,
			(unsigned)(done * 100 / p->total), (unsigned long long)done,
			(unsigned long long)p->total, mib, secs > 0 ? mib / secs : 0.0, end);
	else
		fprintf(stderr, "\r%s: %llu, %.2f MiB%s", p->title, (unsigned long long)done, mib, end);
}

void progress_update(struct progress *p, uint64_t done, uint64_t bytes)
{
	if (!p || seconds_since(&p->last) < 0.1)
		return;
	clock_gettime(CLOCK_MONOTONIC, &p->last);
	progress_print(p, done, bytes, "");
}

void progress_callback(void *progress, uint64_t done, uint64_t bytes)
{
	struct progress *p = progress;

	if (!p)
		return;
	p->done = done;
	p->bytes = bytes;
	progress_update(p, done, bytes);
}

void progress_finish(struct progress *p)
{
	if (p)
		progress_stop(p, p->done, p->bytes);
}

void progress_stop(struct progress *p, uint64_t done, uint64_t bytes)
{
	if (!p)
		return;
	if (p->last.tv_sec || p->last.tv_nsec)
		progress_print(p, done, bytes, ", done.\n");
	free(p);
}

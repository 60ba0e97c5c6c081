#ifndef OUTPUT_H
#define OUTPUT_H

#include <getopt.h>
#include <jansson.h>

#include "util.h"

/*
 * Talking to the user. Only main.c, the cmd-* files and hooks/ include this:
 * modules return errors, commands report them.
 */

/*
 * Every line of text goes out through these, so that no string from a
 * repository, a bundle, a key or a token reaches a terminal raw: the
 * line is formatted whole, every character of it that a terminal would
 * act on (a newline, an escape sequence, a bidirectional control...) is
 * shown escaped (escape_text(), ESCAPE_TERMINAL), and the one newline
 * that ends it is added here. So one call is one line, and the format
 * holds no newline of its own.
 */
void printf_ln(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fprintf_ln(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Text of several lines put together by a module (event_result_describe()):
 * each line escaped and ended as printf_ln() does; the module has escaped
 * the strings from outside in it, so that their newlines are not taken
 * for its own.
 */
void print_lines(FILE *f, const char *text, size_t len);

/* "error: ..." on stderr; returns BOX_ERROR so callers can `return error(...)`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "error: <box_error_last()>", with an optional context prefix. */
int error_last(const char *context);
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Print a JSON value to stdout in the documented shape: sorted keys, two
 * spaces of indent, and ASCII only (every other character as \uXXXX),
 * so that the strings are exact and yet nothing in them can drive a
 * terminal the report is shown on.
 */
#define JSON_REPORT_FLAGS (JSON_SORT_KEYS | JSON_INDENT(2) | JSON_ENSURE_ASCII)
int print_json(json_t *value);
/* Flush and check stdout: a write error is an error (disk full, EPIPE). */
int finish_stdout(void);

/*
 * Options. Every command lists its usage lines and parses with
 * getopt_long through parse_options(), so -h, --help and unknown options
 * behave the same everywhere: -h prints usage on stdout (exit 0), an
 * unknown option prints the error and usage on stderr (exit 2).
 */
struct command_usage {
	const char *name;             /* "init" */
	const char *const *synopsis;  /* "git box init [<dir>] ..." lines */
};

void usage_show(const struct command_usage *u, FILE *out);
int usage_error(const struct command_usage *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Returns the next option as getopt_long does, -1 at the end. When it
 * returns PARSE_OPTIONS_EXIT the command must return *exit_code at once.
 */
#define PARSE_OPTIONS_EXIT (-2)
int parse_options(int argc, char **argv, const char *shortopts, const struct option *longopts,
		  const struct command_usage *u, int *exit_code);

/* Open the man page for a command ("init") or page ("gitbox-policy"). */
int show_man_page(const char *page);

/* Progress on stderr, only when stderr is a terminal. */
struct progress;
struct progress *progress_start(const char *title, uint64_t total);
void progress_update(struct progress *p, uint64_t done, uint64_t bytes);
/*
 * progress_update() shaped as a module's progress callback
 * (hash_progress_fn, import_progress_fn); progress_finish() then ends
 * with the last figures it was given.
 */
void progress_callback(void *progress, uint64_t done, uint64_t bytes);
void progress_finish(struct progress *p);
/* Print the final line (", done.") if anything was shown, and free. */
void progress_stop(struct progress *p, uint64_t done, uint64_t bytes);

#endif

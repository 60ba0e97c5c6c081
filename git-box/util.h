#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes fixed by DESIGN.md. */
#define BOX_OK 0
#define BOX_FAILED 1     /* verification failed, or a rule refused the action */
#define BOX_ERROR 2      /* usage, configuration or environment error */

/*
 * What a module returns besides 0 and -1 (an error of the environment or
 * the configuration, exit 2): a refusal, when a rule or check says no
 * (exit 1); a conflict, when a ref moved while the command ran and
 * nothing was written (exit 1).
 */
#define BOX_EREFUSED (-2)
#define BOX_ECONFLICT (-3)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The last error of a module call, like git_error_last(): modules set it
 * and return a negative value; the command decides what to show.
 * Kept per thread so that hashing workers do not trample each other.
 */
void box_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current error with more context: "ctx: previous". */
void box_error_wrap(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Copy libgit2's last error, prefixed with what we were doing. */
void box_error_from_git(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *box_error_last(void);
void box_error_clear(void);

/* A growable byte buffer, always NUL-terminated. Never for secrets. */
struct buf {
	char *ptr;
	size_t len;
	size_t alloc;
};
#define BUF_INIT { NULL, 0, 0 }

void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_reset(struct buf *b);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b);
/* Read a whole small file (policy, config); refuses files over max bytes. */
int buf_read_file(struct buf *b, const char *path, size_t max);

/* An owned list of strings. */
struct strlist {
	char **items;
	size_t nr;
	size_t alloc;
};
#define STRLIST_INIT { NULL, 0, 0 }

void strlist_add(struct strlist *l, const char *s);
void strlist_add_nodup(struct strlist *l, char *s);
int strlist_has(const struct strlist *l, const char *s);
void strlist_release(struct strlist *l);

int starts_with(const char *s, const char *prefix);
int ends_with(const char *s, const char *suffix);

/*
 * Decode the UTF-8 character at s (n > 0 bytes left) into *cp; returns
 * its length, or 0 when the bytes there are not one (a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate,
 * a value past U+10FFFF).
 */
size_t utf8_decode(const char *s, size_t n, uint32_t *cp);
int utf8_valid(const char *s, size_t n);

/*
 * Text from a repository, a bundle, a key or a token, made harmless to
 * show (git-box(1), OUTPUT); appended to `out`.
 *
 * ESCAPE_TERMINAL, for every line shown to people (output.h prints each
 * through it): printable ASCII and UTF-8 text are kept; a newline is
 * shown as \n, a tab as \t, another ASCII control or DEL as \xNN, a byte
 * that is not valid UTF-8 as \xNN, and a character that could move the
 * cursor or reorder or hide the text around it as \u{XXXX}: the C1
 * controls, the format characters (Cf: bidirectional marks, embeddings,
 * overrides and isolates, zero-width characters, the byte order mark,
 * tag characters), the line and paragraph separators and the other
 * invisible (default-ignorable) code points. A backslash stays as it
 * is, so escaping twice changes nothing: the notation is for reading;
 * the JSON outputs are the exact form.
 *
 * ESCAPE_INVALID_UTF8, for JSON strings: only bytes that are not valid
 * UTF-8 become \xNN; the JSON writer escapes the rest.
 */
enum escape_mode {
	ESCAPE_TERMINAL,
	ESCAPE_INVALID_UTF8,
};
void escape_text(struct buf *out, const char *s, size_t len, enum escape_mode mode);

/*
 * The offset of the first character of s that ESCAPE_TERMINAL shows
 * escaped, with its code point in *cp (-1: a byte that is not UTF-8),
 * or len when there is none.
 */
size_t escape_find(const char *s, size_t len, int32_t *cp);

/* `s` escaped for a terminal (escape_text()), in `out`, which is reset first. */
const char *quote_for_message(struct buf *out, const char *s);
/*
 * A path as a hint shows it inside a command to run: as it is when it is
 * made of letters, digits and "/._-", else in double quotes, else (it
 * holds a quote, '$', '`' or '\\') in single quotes. Control characters
 * are shown escaped as quote_for_message() shows them, never raw.
 */
const char *quote_for_shell(struct buf *out, const char *s);

/*
 * A JSON string of text from outside (NULL gives NULL, for jansson's
 * "o?"): exact when it is valid UTF-8, which json_string() demands;
 * otherwise each byte that is not is written as the four characters
 * \xNN (ESCAPE_INVALID_UTF8), never dropped and never failing.
 */
struct json_t;
struct json_t *json_text(const char *s);

#include <sys/types.h>

/*
 * Write a file that matters: a temporary name in the same folder (0600,
 * O_EXCL), fsync, the final mode, then rename over `path`. On failure the
 * previous file is untouched and no temporary is left behind.
 */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Remove a file or a whole folder tree, without following links. */
int remove_tree(const char *path);

/*
 * A new folder only this user can enter, "$TMPDIR/git-box-<what>.<random>"
 * (/tmp when TMPDIR is unset or empty), for files that must never be
 * seen or shared: a private GnuPG home, a bundle being read or made.
 * Returns its path (the caller removes it with remove_tree() and frees
 * it), or NULL with box_error set.
 */
char *make_private_tmpdir(const char *what);

#include <signal.h>

/*
 * Hold SIGINT, SIGTERM and SIGHUP off while temporary files exist: the
 * first one is noted, not acted on; the caller stops at its next step
 * (signals_caught()), removes what it made, and signals_release() then
 * delivers the signal again, as it came, with the handler it had. Not
 * nested: one hold at a time.
 */
#define HELD_SIGNALS_NR 3
struct held_signals {
	struct sigaction old[HELD_SIGNALS_NR];
};
void signals_hold(struct held_signals *h);
/* The signal noted since signals_hold() (box_error says so), or 0. */
int signals_caught(void);
void signals_release(const struct held_signals *h);

#endif

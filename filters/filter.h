#ifndef FILTER_H
#define FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The checks git box filter-process runs on each file, behind the
 * protocol loop of process.c.
 */

/* The commands we know, as bits so that sets of them fit in an unsigned. */
enum filter_command {
	FILTER_CLEAN = 1 << 0,    /* work tree -> index (git add) */
	FILTER_SMUDGE = 1 << 1,   /* index -> work tree (checkout) */
};

/* One file git asks us to filter, as the checks see it. */
struct filter_request {
	enum filter_command command;
	const char *pathname;     /* relative to the top of the work tree, no NUL byte */
};

/*
 * What the checks decide about one file. A refusal sets box_error to the
 * reason, which the loop reports on stderr with the pathname.
 */
enum filter_verdict {
	FILTER_PASS = 0,    /* status=success: the content goes through unchanged */
	FILTER_ERROR,       /* status=error: git fails this file, we serve the next */
	FILTER_ABORT,       /* status=abort: no more of this command in this process */
};

/*
 * The whole content of the file being served, held by the loop until it
 * answers (in memory, or in an unnamed temporary file when large). A
 * check may read it again from the start in finish(), a piece at a time:
 * rewind, then next() until it returns 0 (or -1 with box_error set).
 */
struct filter_content;
uint64_t filter_content_size(const struct filter_content *c);
int filter_content_rewind(struct filter_content *c);
ssize_t filter_content_next(struct filter_content *c, const char **data);

/*
 * The per-file checks. For each request that passed the protocol's own
 * checks the loop calls start() before reading the content, content() for
 * every piece of it in order, and finish() after the last piece. A
 * refusal from start() or content() skips the calls that would follow
 * (the content is still read, and dropped); nothing is answered to git
 * before finish() has decided, so a check that needs the whole content (a
 * hash of an input compared with its frozen one) refuses cleanly with
 * status=error and git keeps nothing of the file. hint(), when set, is
 * called after a refusal has been reported, to say what to do next.
 * content() and hint() may be NULL.
 */
struct filter_ops {
	enum filter_verdict (*start)(void *data, const struct filter_request *req);
	enum filter_verdict (*content)(void *data, const void *buf, size_t len);
	enum filter_verdict (*finish)(void *data, const struct filter_request *req,
				      struct filter_content *content);
	void (*hint)(void *data, const struct filter_request *req);
	void *data;
};

/*
 * The read-only guard on inputs (readonly.c): clean passes an input's
 * content when it is the frozen content and refuses it otherwise; smudge
 * passes everything and warns about an input that differs.
 */
struct readonly_filter;
struct readonly_filter *readonly_filter_new(void);
void readonly_filter_ops(struct filter_ops *ops, struct readonly_filter *f);
void readonly_filter_free(struct readonly_filter *f);

#endif

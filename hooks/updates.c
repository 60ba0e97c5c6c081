/*
 * The ref updates git hands reference-transaction and pre-receive on
 * their standard input: "<old> SP <new> SP <ref> LF" per ref.
 */
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "hooks.h"
#include "output.h"
#include "banned.h"

int hooks_read_updates(struct hooks_update **out, size_t *nr, FILE *in, int server)
{
	char *line = NULL;
	size_t alloc = 0, n_alloc = 0;
	ssize_t len;
	int ret = 0;

	*out = NULL;
	*nr = 0;
	while ((len = getline(&line, &alloc, in)) > 0) {
		struct hooks_update u;
		const char *ref = line + 2 * (GIT_OID_HEXSZ + 1);

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if ((size_t)len <= 2 * (GIT_OID_HEXSZ + 1) || line[GIT_OID_HEXSZ] != ' ' ||
		    line[2 * GIT_OID_HEXSZ + 1] != ' ' ||
		    git_oid_fromstrn(&u.old, line, GIT_OID_HEXSZ) < 0 ||
		    git_oid_fromstrn(&u.new, line + GIT_OID_HEXSZ + 1, GIT_OID_HEXSZ) < 0) {
			struct buf q = BUF_INIT;

			error("cannot read the ref update '%s'", quote_for_message(&q, line));
			buf_release(&q);
			ret = -1;
			continue;
		}
		if (!guard_judges_ref(ref, server))
			continue;
		u.ref = xstrdup(ref);
		if (*nr == n_alloc) {
			n_alloc = n_alloc ? 2 * n_alloc : 8;
			*out = xrealloc(*out, n_alloc * sizeof(**out));
		}
		(*out)[(*nr)++] = u;
	}
	free(line);
	return ret;
}

void hooks_free_updates(struct hooks_update *u, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		free(u[i].ref);
	free(u);
}

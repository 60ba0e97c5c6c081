#ifndef HTTP_H
#define HTTP_H

#include "util.h"

/*
 * One HTTP POST to a remote service, with the limits such a client needs:
 * connect and total timeouts, a bounded number of tries, redirects never
 * followed, the answer capped in size. Only http:// and https:// URLs.
 * HTTPS checks the server's certificate against the system's CAs, and
 * the usual proxy variables (https_proxy, no_proxy...) are honoured.
 */

struct http_options {
	long connect_timeout_ms;
	long timeout_ms;          /* each try, from connecting to the last byte */
	int tries;                /* at least 1 */
	long retry_delay_ms;      /* between tries */
	size_t max_response;      /* bytes of body */
};

#define HTTP_OPTIONS_INIT { 10000, 30000, 2, 1000, 1024 * 1024 }

struct http_response {
	long status;              /* 200, 404...; 0 when nothing came back */
	char *content_type;       /* or NULL */
	char *location;           /* where a redirect points, or NULL */
	struct buf body;
	int tries;                /* how many tries were made */
};

#define HTTP_RESPONSE_INIT { 0, NULL, NULL, BUF_INIT, 0 }

/*
 * The one rule for a URL git box sends a request to, stores (in a policy,
 * in a timestamp tag) and prints: http:// or https://, with a host, no
 * blank or control character, and no user name or password. Since a URL
 * is committed and shown, credentials never go in one: libcurl finds them
 * in ~/.netrc (gitbox-policy(5), URLS). http_url_check() returns 0, or -1
 * with box_error saying what is wrong, the URL shown as http_url_display()
 * shows it; http_url_ok() only answers.
 */
int http_url_check(const char *url);
int http_url_ok(const char *url);
/* Is what http_url_check() refuses in `url` a user name or a password? */
int http_url_has_credentials(const char *url);

/* What to tell someone whose URL was refused for its credentials. */
#define HTTP_CREDENTIALS_HINT \
	"a line of ~/.netrc (mode 600) gives them to that host alone: " \
	"machine <host> login <user> password <secret>"

/*
 * `url` as a message or a log line may show it. A URL that passes
 * http_url_check() is shown whole; any other loses everything from its
 * scheme's "//" up to the last '@' before its query, where a user name
 * and a password would be, so that a refusal never repeats a secret.
 * Control characters are escaped as quote_for_message() escapes them.
 */
const char *http_url_display(struct buf *out, const char *url);

/*
 * POST `len` bytes of `body` as `content_type` to `url`. Returns 0 when
 * the server answered, whatever its status (the caller judges it), or -1
 * with box_error set when it did not: cannot connect, timed out, or an
 * answer larger than max_response. A failure to connect, a timeout, a
 * dropped connection and the statuses 408, 429 and 5xx are tried again,
 * up to `tries` in all.
 */
int http_post(struct http_response *out, const char *url, const char *content_type,
	      const void *body, size_t len, const struct http_options *opts);
void http_response_release(struct http_response *r);

#endif

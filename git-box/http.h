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

/* Is `url` an http:// or https:// URL with a host? */
int http_url_ok(const char *url);

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

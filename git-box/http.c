#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "banned.h"

enum url_problem {
	URL_OK,
	URL_BLANK,
	URL_INVALID,
	URL_SCHEME,
	URL_NO_HOST,
	URL_CREDENTIALS,
};

/*
 * The last '@' after the scheme: in a URL that holds credentials, they
 * all come before it, whatever odd characters they contain. `rest` gets
 * where the part after "scheme:" and its slashes starts.
 */
static const char *last_at(const char *url, const char **rest)
{
	size_t scheme = strspn(url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789+.-");

	*rest = scheme && url[scheme] == ':' ? url + scheme + 1 : url;
	*rest += strspn(*rest, "/\\");
	return strrchr(*rest, '@');
}

static enum url_problem url_problem(const char *url)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *options = NULL;
	const char *rest;
	enum url_problem ret = URL_INVALID;

	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f)
			return URL_BLANK;
	u = curl_url();
	if (!u)
		return URL_INVALID;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		/* Not a URL libcurl can read, but it may still hold a secret. */
		if (last_at(url, &rest))
			ret = URL_CREDENTIALS;
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_OPTIONS, &options, 0) == CURLUE_OK)
		ret = URL_CREDENTIALS;
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		 (strcasecmp(scheme, "http") && strcasecmp(scheme, "https")))
		ret = URL_SCHEME;
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		ret = URL_NO_HOST;
	else
		ret = URL_OK;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_free(password);
	curl_free(options);
	curl_url_cleanup(u);
	return ret;
}

int http_url_ok(const char *url)
{
	return url_problem(url) == URL_OK;
}

int http_url_has_credentials(const char *url)
{
	return url_problem(url) == URL_CREDENTIALS;
}

int http_url_check(const char *url)
{
	struct buf shown = BUF_INIT;
	enum url_problem problem = url_problem(url);

	http_url_display(&shown, url);
	switch (problem) {
	case URL_OK:
		break;
	case URL_BLANK:
		box_error_set("'%s' is not a valid URL: it holds a blank or a control character",
			      shown.ptr);
		break;
	case URL_INVALID:
		box_error_set("'%s' is not a valid URL", shown.ptr);
		break;
	case URL_SCHEME:
		box_error_set("'%s' is not an http:// or https:// URL", shown.ptr);
		break;
	case URL_NO_HOST:
		box_error_set("'%s' is not a valid URL: it names no host", shown.ptr);
		break;
	case URL_CREDENTIALS:
		box_error_set("'%s' has a user name or a password in it: a URL is committed "
			      "and shown, so credentials go in ~/.netrc instead", shown.ptr);
		break;
	}
	buf_release(&shown);
	return problem == URL_OK ? 0 : -1;
}

const char *http_url_display(struct buf *out, const char *url)
{
	struct buf plain = BUF_INIT;
	const char *rest, *at;

	if (url_problem(url) == URL_OK || !(at = last_at(url, &rest)))
		return quote_for_message(out, url);
	buf_add(&plain, url, (size_t)(rest - url));
	buf_adds(&plain, at + 1);
	quote_for_message(out, plain.ptr);
	buf_release(&plain);
	return out->ptr;
}

struct sink {
	struct buf *body;
	size_t max;
	int too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;

	if (n > s->max || s->body->len > s->max - n) {
		s->too_large = 1;
		return 0;   /* makes curl stop with CURLE_WRITE_ERROR */
	}
	buf_add(s->body, data, n);
	return n;
}

static int transient_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
		return 1;
	default:
		return 0;
	}
}

static int transient_status(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static CURL *make_handle(const char *url, struct curl_slist *headers, const void *body, size_t len,
			 const struct http_options *opts, struct sink *sink, char *errbuf)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, opts->connect_timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opts->timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)opts->max_response) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "git-box/" GIT_BOX_VERSION) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

static void set_transport_error(const char *url, CURLcode rc, const char *errbuf,
				const struct sink *sink, const struct http_options *opts)
{
	const char *why = *errbuf ? errbuf : curl_easy_strerror(rc);
	struct buf shown = BUF_INIT;

	url = http_url_display(&shown, url);

	if (sink->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		box_error_set("'%s' answered with more than %zu bytes", url, opts->max_response);
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		box_error_set("'%s' did not answer in time: %s", url, why);
	else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		box_error_set("cannot connect to '%s': %s", url, why);
	else
		box_error_set("'%s': %s", url, why);
	buf_release(&shown);
}

int http_post(struct http_response *out, const char *url, const char *content_type,
	      const void *body, size_t len, const struct http_options *opts)
{
	struct curl_slist *headers = NULL;
	struct sink sink = { &out->body, opts->max_response, 0 };
	char errbuf[CURL_ERROR_SIZE];
	char *header = xstrfmt("Content-Type: %s", content_type);
	CURL *c = NULL;
	int tries = opts->tries > 0 ? opts->tries : 1;
	int ret = -1;

	if (http_url_check(url) < 0)
		goto out;
	headers = curl_slist_append(headers, header);
	headers = headers ? curl_slist_append(headers, "Expect:") : NULL;
	if (!headers) {
		box_error_set("cannot prepare the request to '%s'", url);
		goto out;
	}
	for (out->tries = 1; ; out->tries++) {
		CURLcode rc;
		char *type = NULL, *location = NULL;

		errbuf[0] = '\0';
		buf_reset(&out->body);
		sink.too_large = 0;
		curl_easy_cleanup(c);
		c = make_handle(url, headers, body, len, opts, &sink, errbuf);
		if (!c) {
			box_error_set("cannot prepare the request to '%s'", url);
			goto out;
		}
		rc = curl_easy_perform(c);
		if (rc != CURLE_OK) {
			set_transport_error(url, rc, errbuf, &sink, opts);
			if (!transient_error(rc) || out->tries >= tries)
				goto out;
			sleep_ms(opts->retry_delay_ms);
			continue;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		if (transient_status(out->status) && out->tries < tries) {
			sleep_ms(opts->retry_delay_ms);
			continue;
		}
		if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
			out->content_type = xstrdup(type);
		if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
			out->location = xstrdup(location);
		ret = 0;
		break;
	}
out:
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	free(header);
	return ret;
}

void http_response_release(struct http_response *r)
{
	free(r->content_type);
	free(r->location);
	buf_release(&r->body);
	memset(r, 0, sizeof(*r));
}

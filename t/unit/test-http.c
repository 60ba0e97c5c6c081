/*
 * The one rule for a URL git box requests, stores and prints
 * (http_url_check), and how a refused one is shown (http_url_display).
 */
#include "unit.h"

#include <string.h>

#include "http.h"

static void assert_ok(const char *url)
{
	struct buf shown = BUF_INIT;

	box_error_clear();
	ck_assert_msg(http_url_check(url) == 0, "'%s' refused: %s", url, box_error_last());
	ck_assert(http_url_ok(url));
	ck_assert(!http_url_has_credentials(url));
	ck_assert_str_eq(http_url_display(&shown, url), url);
	buf_release(&shown);
}

/* Refused, the message contains `what`, and the URL is shown as `shown`. */
static void assert_refused(const char *url, const char *what, const char *shown)
{
	struct buf b = BUF_INIT;
	char *expect = xstrfmt("'%s' ", shown);

	box_error_clear();
	ck_assert_msg(http_url_check(url) == -1, "'%s' accepted", url);
	ck_assert(!http_url_ok(url));
	ck_assert_msg(strstr(box_error_last(), what), "'%s': '%s' lacks '%s'", url,
		      box_error_last(), what);
	ck_assert_msg(starts_with(box_error_last(), expect), "'%s': '%s' does not show '%s'",
		      url, box_error_last(), shown);
	ck_assert_str_eq(http_url_display(&b, url), shown);
	free(expect);
	buf_release(&b);
}

#define CREDENTIALS "has a user name or a password in it"

START_TEST(http_and_https_urls_with_a_host_pass)
{
	assert_ok("https://freetsa.org/tsr");
	assert_ok("http://127.0.0.1:3161/");
	assert_ok("HTTPS://b.example/tsr");
	assert_ok("http://[::1]:3161/tsr");
	assert_ok("https://tsa.example/v2@eu/tsr?k=a@b#x@y");
}
END_TEST

START_TEST(credentials_are_refused_and_never_shown)
{
	static const char *const urls[] = {
		"https://alice:s3cr3t@tsa.example/tsr",
		"https://s3cr3t@tsa.example/tsr",
		"https://:s3cr3t@tsa.example/tsr",
		"https://alice;auth=s3cr3t@tsa.example/tsr",
		"https://alice:s3cr3t%40x@tsa.example/tsr",
		"https://alice:s3/cr3t@tsa.example/tsr",
		"https://alice:s3?cr3t@tsa.example/tsr",
		"https://alice:s3#cr3t@tsa.example/tsr",
		"https:/alice:s3cr3t@tsa.example/tsr",
		"https:///alice:s3cr3t@tsa.example/tsr",
	};

	for (size_t i = 0; i < ARRAY_SIZE(urls); i++) {
		const char *shown = starts_with(urls[i], "https:/a") ? "https:/tsa.example/tsr"
			: starts_with(urls[i], "https:///") ? "https:///tsa.example/tsr"
			: "https://tsa.example/tsr";

		assert_refused(urls[i], CREDENTIALS, shown);
		ck_assert(http_url_has_credentials(urls[i]));
	}
	assert_refused("ftp://alice:s3cr3t@tsa.example/", CREDENTIALS, "ftp://tsa.example/");
	/* Everything up to the last '@' goes: it may all be the password. */
	assert_refused("https://alice:s3cr3t@tsa.example@evil.example/", CREDENTIALS,
		       "https://evil.example/");
}
END_TEST

START_TEST(other_problems_are_named)
{
	assert_refused("ftp://tsa.example/", "is not an http:// or https:// URL", "ftp://tsa.example/");
	assert_refused("file:///etc/passwd", "is not an http:// or https:// URL", "file:///etc/passwd");
	assert_refused("https://", "is not a valid URL", "https://");
	assert_refused("tsa.example/tsr", "is not a valid URL", "tsa.example/tsr");
	assert_refused("", "is not a valid URL", "");
	assert_refused("https://tsa.example/a b", "holds a blank or a control character",
		       "https://tsa.example/a b");
	assert_refused("https://tsa.example/\n", "holds a blank or a control character",
		       "https://tsa.example/\\n");
	/* A blank refuses it first; the secret is still not shown. */
	assert_refused("https://alice:s3 cr3t@tsa.example/", "holds a blank",
		       "https://tsa.example/");
	ck_assert(!http_url_has_credentials("ftp://tsa.example/"));
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc = tcase_create("urls");

	tcase_add_test(tc, http_and_https_urls_with_a_host_pass);
	tcase_add_test(tc, credentials_are_refused_and_never_shown);
	tcase_add_test(tc, other_problems_are_named);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

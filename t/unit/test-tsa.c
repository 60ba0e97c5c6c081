/*
 * tsa.c's pure parts: the request, the checks of an answer (answers
 * minted here by OpenSSL's own TS_RESP_CTX with the fixture TSA), the
 * tag message and name, and the event a manifest records.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ts.h>

#include "unit.h"
#include "tsa.h"
#include "banned.h"

#define FIXTURES "t/fixtures/tsa/"
#define DATA "{\"event\": \"seal\"}\n"

static struct tsa_anchors *anchors;

static void load_fixture_anchors(void)
{
	ck_assert_msg(tsa_anchors_load_file(&anchors, FIXTURES "ca.pem") == 0, "%s", box_error_last());
}

static void free_anchors(void)
{
	tsa_anchors_free(anchors);
	anchors = NULL;
}

/* ---- minting answers ---------------------------------------------------- */

struct mint {
	const EVP_MD *accept;    /* a digest the TSA accepts besides SHA-256 */
	time_t gen_time;         /* 0: now */
};

static int mint_time(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = (long)*(time_t *)data;
	*usec = 0;
	return 1;
}

static ASN1_INTEGER *mint_serial(TS_RESP_CTX *ctx, void *data)
{
	ASN1_INTEGER *serial = ASN1_INTEGER_new();

	(void)ctx;
	(void)data;
	ASN1_INTEGER_set(serial, 42);
	return serial;
}

/* Answer a DER request the way a TSA would; returns the DER TimeStampResp. */
static unsigned char *mint(size_t *len, const unsigned char *req, size_t req_len,
			   const struct mint *how)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	BIO *in = BIO_new_file(FIXTURES "tsa.pem", "r"), *kin = BIO_new_file(FIXTURES "tsa.key", "r");
	X509 *cert = PEM_read_bio_X509(in, NULL, NULL, NULL);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(kin, NULL, NULL, NULL);
	ASN1_OBJECT *policy = OBJ_txt2obj("1.2.3.4.1", 1);
	BIO *query = BIO_new_mem_buf(req, (int)req_len);
	TS_RESP *resp;
	unsigned char *der = NULL;
	int n;

	ck_assert(ctx && cert && key && policy && query);
	ck_assert(TS_RESP_CTX_set_signer_cert(ctx, cert));
	ck_assert(TS_RESP_CTX_set_signer_key(ctx, key));
	ck_assert(TS_RESP_CTX_set_def_policy(ctx, policy));
	ck_assert(TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()));
	ck_assert(TS_RESP_CTX_add_md(ctx, EVP_sha256()));
	if (how && how->accept)
		ck_assert(TS_RESP_CTX_add_md(ctx, how->accept));
	if (how && how->gen_time)
		TS_RESP_CTX_set_time_cb(ctx, mint_time, (void *)&how->gen_time);
	TS_RESP_CTX_set_serial_cb(ctx, mint_serial, NULL);
	TS_RESP_CTX_add_flags(ctx, TS_TSA_NAME);
	resp = TS_RESP_create_response(ctx, query);
	ck_assert(resp != NULL);
	n = i2d_TS_RESP(resp, &der);
	ck_assert(n > 0);
	*len = (size_t)n;
	TS_RESP_free(resp);
	BIO_free(query);
	ASN1_OBJECT_free(policy);
	EVP_PKEY_free(key);
	X509_free(cert);
	BIO_free(kin);
	BIO_free(in);
	TS_RESP_CTX_free(ctx);
	return der;
}

/* A request for `md` (any digest), as another client might send. */
static unsigned char *request_with(size_t *len, const EVP_MD *md)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	unsigned char digest[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int n;
	int l;

	EVP_Digest(DATA, strlen(DATA), digest, &n, md, NULL);
	X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL);
	TS_MSG_IMPRINT_set_algo(mi, alg);
	TS_MSG_IMPRINT_set_msg(mi, digest, (int)n);
	TS_REQ_set_version(req, 1);
	TS_REQ_set_msg_imprint(req, mi);
	TS_REQ_set_cert_req(req, 1);
	l = i2d_TS_REQ(req, &der);
	ck_assert(l > 0);
	*len = (size_t)l;
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return der;
}

static struct tsa_expect fresh_expect(const struct tsa_request *req)
{
	struct tsa_expect e = {
		.digest = req->digest, .digest_len = sizeof(req->digest), .digest_hash = "sha256",
		.has_nonce = 1, .nonce = req->nonce, .fresh = 1,
	};

	return e;
}

static struct tsa_expect stored_expect(void)
{
	struct tsa_expect e = { .data = DATA, .len = strlen(DATA) };

	return e;
}

/* ---- the request ------------------------------------------------------- */

START_TEST(test_request_is_sha256_with_nonce_and_cert_req)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	const unsigned char *p;
	TS_REQ *req;
	TS_MSG_IMPRINT *mi;
	const ASN1_OBJECT *alg;
	unsigned char digest[32];
	uint64_t nonce;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	p = r.der;
	req = d2i_TS_REQ(NULL, &p, (long)r.len);
	ck_assert(req != NULL);
	ck_assert(p == r.der + r.len);
	ck_assert_int_eq(TS_REQ_get_version(req), 1);
	ck_assert_int_eq(TS_REQ_get_cert_req(req), 1);
	ck_assert(TS_REQ_get_policy_id(req) == NULL);
	mi = TS_REQ_get_msg_imprint(req);
	X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	ck_assert_int_eq(OBJ_obj2nid(alg), NID_sha256);
	EVP_Digest(DATA, strlen(DATA), digest, NULL, EVP_sha256(), NULL);
	ck_assert_int_eq(ASN1_STRING_length(TS_MSG_IMPRINT_get_msg(mi)), 32);
	ck_assert(!memcmp(ASN1_STRING_get0_data(TS_MSG_IMPRINT_get_msg(mi)), digest, 32));
	ck_assert(!memcmp(r.digest, digest, 32));
	ck_assert(ASN1_INTEGER_get_uint64(&nonce, TS_REQ_get_nonce(req)));
	ck_assert(nonce == r.nonce);
	ck_assert(nonce != 0 && nonce < (UINT64_C(1) << 63));
	TS_REQ_free(req);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_requests_have_their_own_nonces)
{
	struct tsa_request a = TSA_REQUEST_INIT, b = TSA_REQUEST_INIT;

	ck_assert_int_eq(tsa_request_make(&a, DATA, strlen(DATA)), 0);
	ck_assert_int_eq(tsa_request_make(&b, DATA, strlen(DATA)), 0);
	ck_assert(a.nonce != b.nonce);
	tsa_request_release(&a);
	tsa_request_release(&b);
}
END_TEST

/* ---- checking answers ---------------------------------------------------- */

START_TEST(test_a_good_answer_passes_every_check)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e;
	unsigned char *der;
	size_t len;
	time_t now = time(NULL);

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	e = fresh_expect(&r);
	ck_assert_msg(tsa_check_response(&t, der, len, &e, anchors) == 0, "%s", box_error_last());
	ck_assert_int_eq(t.failed, -1);
	ck_assert_int_eq(t.checks[TSA_CHECK_TAG].outcome, TSA_SKIPPED);
	for (int i = TSA_CHECK_FORMAT; i < TSA_CHECK_NR; i++)
		ck_assert_msg(t.checks[i].outcome == TSA_PASSED, "%s", tsa_check_name(i));
	ck_assert_str_eq(t.tsa_name, "CN=git box test TSA, O=git box tests");
	ck_assert_str_eq(t.signer, "CN=git box test TSA, O=git box tests");
	ck_assert_str_eq(t.serial, "0x2a");
	ck_assert_str_eq(t.policy, "1.2.3.4.1");
	ck_assert_str_eq(t.hash, "sha256");
	ck_assert(t.gen_time >= now - 5 && t.gen_time <= now + 5);
	ck_assert_int_eq(strlen(t.gen_time_text), strlen("2026-11-23T12:31:31Z"));
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_a_stored_answer_is_checked_without_a_nonce)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	ck_assert_msg(tsa_check_response(&t, der, len, &e, anchors) == 0, "%s", box_error_last());
	ck_assert_int_eq(t.checks[TSA_CHECK_NONCE].outcome, TSA_SKIPPED);
	ck_assert_int_eq(t.checks[TSA_CHECK_IMPRINT].outcome, TSA_PASSED);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_an_answer_for_other_data_fails_the_imprint)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = { .data = "other", .len = 5 };
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "imprint");
	ck_assert_str_eq(box_error_last(), "imprint: the token stamps another sha256 digest than the data's");
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_an_answer_to_another_request_fails_the_nonce)
{
	struct tsa_request r = TSA_REQUEST_INIT, other = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e;
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	ck_assert_int_eq(tsa_request_make(&other, DATA, strlen(DATA)), 0);
	der = mint(&len, other.der, other.len, NULL);
	e = fresh_expect(&r);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "nonce");
	ck_assert_int_eq(t.checks[TSA_CHECK_IMPRINT].outcome, TSA_PASSED);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
	tsa_request_release(&other);
}
END_TEST

START_TEST(test_a_sha1_imprint_is_refused)
{
	struct mint how = { EVP_sha1(), 0 };
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *req, *der;
	size_t req_len, len;

	req = request_with(&req_len, EVP_sha1());
	der = mint(&len, req, req_len, &how);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "hash");
	ck_assert_int_eq(t.checks[TSA_CHECK_SIGNATURE].outcome, TSA_PASSED);
	ck_assert_int_eq(t.checks[TSA_CHECK_IMPRINT].outcome, TSA_SKIPPED);
	ck_assert(strstr(box_error_last(), "SHA-1, which is refused") != NULL);
	tsa_token_release(&t);
	OPENSSL_free(der);
	OPENSSL_free(req);
}
END_TEST

START_TEST(test_a_sha512_imprint_is_accepted_for_a_stored_token)
{
	struct mint how = { EVP_sha512(), 0 };
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *req, *der;
	size_t req_len, len;

	req = request_with(&req_len, EVP_sha512());
	der = mint(&len, req, req_len, &how);
	ck_assert_msg(tsa_check_response(&t, der, len, &e, anchors) == 0, "%s", box_error_last());
	ck_assert_str_eq(t.hash, "sha512");
	tsa_token_release(&t);
	OPENSSL_free(der);
	OPENSSL_free(req);
}
END_TEST

START_TEST(test_a_refused_digest_fails_the_status)
{
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *req, *der;
	size_t req_len, len;

	req = request_with(&req_len, EVP_sha384());
	der = mint(&len, req, req_len, NULL);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "status");
	ck_assert(strstr(box_error_last(), "rejection") && strstr(box_error_last(), "(badAlg)"));
	for (int i = TSA_CHECK_TOKEN; i < TSA_CHECK_NR; i++)
		ck_assert_int_eq(t.checks[i].outcome, TSA_SKIPPED);
	tsa_token_release(&t);
	OPENSSL_free(der);
	OPENSSL_free(req);
}
END_TEST

START_TEST(test_a_fresh_answer_from_an_hour_ago_fails_the_time)
{
	struct mint how = { NULL, time(NULL) - 3600 };
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e;
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, &how);
	e = fresh_expect(&r);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "time");
	ck_assert(strstr(box_error_last(), "seconds from this machine's clock") != NULL);
	tsa_token_release(&t);
	/* Stored, the same answer is fine, unless it precedes the event's commit. */
	e = stored_expect();
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), 0);
	tsa_token_release(&t);
	e.not_before = time(NULL);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "time");
	ck_assert(strstr(box_error_last(), "earlier than the event's commit") != NULL);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_a_stored_answer_from_the_future_fails_the_time)
{
	struct mint how = { NULL, time(NULL) + 86400 };
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, &how);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "time");
	ck_assert(strstr(box_error_last(), "is later than now") != NULL);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_the_chain_is_checked_as_of_gen_time)
{
	/* 2020: before the fixture TSA certificate was valid. */
	struct mint how = { NULL, 1600000000 };
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, &how);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "chain");
	ck_assert_str_eq(box_error_last(), "chain: the signer 'CN=git box test TSA, O=git box tests' "
			 "does not chain to a trust anchor as of 2020-09-13T12:26:40Z: certificate is not "
			 "yet valid ('CN=git box test root CA, O=git box tests')");
	ck_assert_int_eq(t.checks[TSA_CHECK_SIGNATURE].outcome, TSA_PASSED);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_the_tsa_certificate_itself_may_be_the_anchor)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	struct tsa_anchors *pinned;
	unsigned char *der;
	size_t len;

	ck_assert_int_eq(tsa_anchors_load_file(&pinned, FIXTURES "tsa.pem"), 0);
	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	ck_assert_msg(tsa_check_response(&t, der, len, &e, pinned) == 0, "%s", box_error_last());
	tsa_token_release(&t);
	tsa_anchors_free(pinned);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_a_bare_token_is_checked_like_a_response)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	const unsigned char *p;
	unsigned char *der, *token = NULL;
	TS_RESP *resp;
	size_t len;
	int token_len;

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	p = der;
	resp = d2i_TS_RESP(NULL, &p, (long)len);
	token_len = i2d_PKCS7(TS_RESP_get_token(resp), &token);
	ck_assert(token_len > 0);
	ck_assert_msg(tsa_check_token(&t, token, (size_t)token_len, &e, anchors) == 0, "%s",
		      box_error_last());
	ck_assert_int_eq(t.checks[TSA_CHECK_FORMAT].outcome, TSA_SKIPPED);
	ck_assert_int_eq(t.checks[TSA_CHECK_STATUS].outcome, TSA_SKIPPED);
	ck_assert_int_eq(t.checks[TSA_CHECK_SIGNATURE].outcome, TSA_PASSED);
	tsa_token_release(&t);
	OPENSSL_free(token);
	TS_RESP_free(resp);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_what_is_not_a_timestamp_response_fails_the_format)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = stored_expect();
	unsigned char *der, *longer;
	size_t len;

	ck_assert_int_eq(tsa_check_response(&t, (const unsigned char *)"", 0, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "format");
	tsa_token_release(&t);
	ck_assert_int_eq(tsa_check_response(&t, (const unsigned char *)"<html>", 6, &e, anchors), -1);
	ck_assert_str_eq(box_error_last(), "format: the answer is not a DER TimeStampResp");
	tsa_token_release(&t);

	ck_assert_int_eq(tsa_request_make(&r, DATA, strlen(DATA)), 0);
	der = mint(&len, r.der, r.len, NULL);
	longer = xmalloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	ck_assert_int_eq(tsa_check_response(&t, longer, len + 1, &e, anchors), -1);
	ck_assert_str_eq(box_error_last(), "format: 1 bytes follow the TimeStampResp");
	tsa_token_release(&t);
	ck_assert_int_eq(tsa_check_response(&t, der, len - 1, &e, anchors), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "format");
	tsa_token_release(&t);
	free(longer);
	OPENSSL_free(der);
	tsa_request_release(&r);
}
END_TEST

START_TEST(test_anchors_must_hold_certificates)
{
	struct tsa_anchors *a = NULL;
	const char *broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

	ck_assert_int_eq(tsa_anchors_load(&a, "no certificate here\n", 20, "x.pem"), -1);
	ck_assert_str_eq(box_error_last(), "'x.pem' holds no PEM certificate");
	ck_assert(a == NULL);
	ck_assert_int_eq(tsa_anchors_load(&a, broken, strlen(broken), "y.pem"), -1);
	ck_assert(a == NULL);
	ck_assert_int_eq(tsa_anchors_load_file(&a, FIXTURES "no-such.pem"), -1);
	ck_assert(strstr(box_error_last(), "cannot open") != NULL);
}
END_TEST

/* ---- the tag ------------------------------------------------------------- */

#define SHA "fe6220328fc133d2a65e1efc43152310657e39a81b22bd33b0eb706d63b66f33"

START_TEST(test_tag_message_round_trips)
{
	struct buf msg = BUF_INIT;
	struct tsa_tag tag = TSA_TAG_INIT;
	unsigned char der[300];

	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(tsa_tag_message(&msg, "seal", SHA, "https://tsa.example.org/tsr",
					 "2026-11-23T12:45:41Z", der, sizeof(der)), 0);
	ck_assert(starts_with(msg.ptr, "RFC 3161 timestamp of the seal event\n\nEvent: seal\n"
			      "Payload-SHA256: " SHA "\nTSA: https://tsa.example.org/tsr\n"
			      "Gen-Time: 2026-11-23T12:45:41Z\n" TSA_BEGIN "\n"));
	ck_assert(ends_with(msg.ptr, "\n" TSA_END "\n"));
	ck_assert_msg(tsa_tag_parse(&tag, msg.ptr, msg.len) == 0, "%s", box_error_last());
	ck_assert_str_eq(tag.event, "seal");
	ck_assert_str_eq(tag.payload_sha256, SHA);
	ck_assert_str_eq(tag.url, "https://tsa.example.org/tsr");
	ck_assert_str_eq(tag.gen_time, "2026-11-23T12:45:41Z");
	ck_assert_uint_eq(tag.der_len, sizeof(der));
	ck_assert(!memcmp(tag.der, der, sizeof(der)));
	tsa_tag_release(&tag);
	buf_release(&msg);
}
END_TEST

static const struct {
	const char *message;
	const char *error;
} bad_tags[] = {
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: http://t/\n"
	  TSA_BEGIN "\nAAAA\n" TSA_END "\n", "lacks a 'Gen-Time:' line" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nEvent: seal\n", "two 'Event' lines" },
	{ "RFC 3161 timestamp of the seal event\n\nColour: blue\n", "unknown field 'Colour'" },
	{ "RFC 3161 timestamp of the seal event\nEvent: seal\n", "second line is not blank" },
	{ "RFC 3161 timestamp of the seal event\n\nno colon here\n", "not 'Key: value'" },
	{ "Timestamp\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: http://t/\nGen-Time: x\n"
	  TSA_BEGIN "\nAAAA\n" TSA_END "\n", "first line is not 'RFC 3161 timestamp of the seal event'" },
	{ "RFC 3161 timestamp of the party event\n\nEvent: party\nPayload-SHA256: " SHA
	  "\nTSA: http://t/\nGen-Time: x\n" TSA_BEGIN "\nAAAA\n" TSA_END "\n", "unknown event 'party'" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: ABC\nTSA: http://t/\n"
	  "Gen-Time: x\n" TSA_BEGIN "\nAAAA\n" TSA_END "\n", "not 64 lower-case hex digits" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: file:///x\n"
	  "Gen-Time: x\n" TSA_BEGIN "\nAAAA\n" TSA_END "\n", "not an http:// or https:// URL" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: http://t/\n"
	  "Gen-Time: x\n" TSA_BEGIN "\nA*AA\n" TSA_END "\n", "is not base64" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: http://t/\n"
	  "Gen-Time: x\n" TSA_BEGIN "\nAAAA\n", "no complete" },
	{ "RFC 3161 timestamp of the seal event\n\nEvent: seal\nPayload-SHA256: " SHA "\nTSA: http://t/\n"
	  "Gen-Time: x\n" TSA_BEGIN "\nAAAA\n" TSA_END "\n-----BEGIN PGP SIGNATURE-----\n", "goes on after" },
	{ "RFC 3161 timestamp of the seal event\r\n\r\n", "carriage return" },
	{ "RFC 3161 timestamp of the seal event", "does not end with a newline" },
};

START_TEST(test_tag_parse_refuses_what_git_box_does_not_write)
{
	struct tsa_tag tag = TSA_TAG_INIT;

	ck_assert_int_eq(tsa_tag_parse(&tag, bad_tags[_i].message, strlen(bad_tags[_i].message)), -1);
	ck_assert_msg(strstr(box_error_last(), bad_tags[_i].error) != NULL, "%s: got '%s'",
		      bad_tags[_i].error, box_error_last());
	ck_assert(tag.event == NULL && tag.der == NULL);
}
END_TEST

START_TEST(test_tag_names)
{
	char *event;
	unsigned long n;

	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal-1"), 0);
	ck_assert_str_eq(event, "seal");
	ck_assert_uint_eq(n, 1);
	free(event);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "refs/tags/box/checkpoint-12"), 0);
	ck_assert_str_eq(event, "checkpoint");
	ck_assert_uint_eq(n, 12);
	free(event);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal-0"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal-01"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal-1x"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal--1"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/party-1"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/a/seal-1"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "seal-1"), -1);
	ck_assert_int_eq(tsa_tag_name_parse(&event, &n, "box/seal-99999999999999999999999"), -1);
	ck_assert(event == NULL);
}
END_TEST

/* ---- events -------------------------------------------------------------- */

#define COMMIT "0123456789abcdef0123456789abcdef01234567"

static const struct {
	const char *payload;
	const char *event;   /* or the error */
} payloads[] = {
	{ "{\"commit\": \"" COMMIT "\", \"event\": \"seal\", \"schema\": \"git-box/manifest/v1\"}\n", "seal" },
	{ "{\"commit\": \"" COMMIT "\", \"event\": \"run\"}", "run" },
	{ "{\"commit\": \"" COMMIT "\", \"event\": \"party\"}", "unknown event 'party'" },
	{ "{\"commit\": \"" COMMIT "\", \"event\": 1}", "has no \"event\" name" },
	{ "{\"commit\": \"" COMMIT "\"}", "has no \"event\" name" },
	{ "{\"event\": \"seal\"}", "has no \"commit\"" },
	{ "{\"commit\": \"" COMMIT "0\", \"event\": \"seal\"}", "names another commit" },
	{ "{\"commit\": \"0123456789ABCDEF0123456789ABCDEF01234567\", \"event\": \"seal\"}",
	  "names another commit" },
	{ "{\"commit\": \"" COMMIT "\", \"event\": \"seal\", \"event\": \"init\"}", "duplicate object key" },
	{ "[\"seal\"]", "not a JSON object" },
	{ "{\"commit\": \"" COMMIT "\", \"event\": \"seal\"} trailing", "is not JSON" },
	{ "", "is not JSON" },
};

START_TEST(test_payload_event)
{
	git_oid commit;
	char *event;
	int r;

	git_oid_fromstr(&commit, COMMIT);
	r = tsa_payload_event(&event, payloads[_i].payload, strlen(payloads[_i].payload), &commit);
	if (tsa_event_name_ok(payloads[_i].event)) {
		ck_assert_msg(r == 0, "%s", box_error_last());
		ck_assert_str_eq(event, payloads[_i].event);
		free(event);
	} else {
		ck_assert_int_eq(r, -1);
		ck_assert(event == NULL);
		ck_assert_msg(strstr(box_error_last(), payloads[_i].event) != NULL, "%s: got '%s'",
			      payloads[_i].event, box_error_last());
	}
}
END_TEST

START_TEST(test_policy_wants)
{
	struct policy p = POLICY_INIT;

	p.timestamp_when = TIMESTAMP_NONE;
	ck_assert(!tsa_policy_wants(&p, "seal"));
	p.timestamp_when = TIMESTAMP_SEAL;
	ck_assert(tsa_policy_wants(&p, "seal"));
	ck_assert(!tsa_policy_wants(&p, "checkpoint"));
	p.timestamp_when = TIMESTAMP_EVERY_EVENT;
	ck_assert(tsa_policy_wants(&p, "init"));
	ck_assert(tsa_policy_wants(&p, "checkpoint"));
}
END_TEST

/* ---- a stored tag, in a repository ---------------------------------------- */

struct stored {
	char dir[64];
	git_repository *repo;
	git_oid commit;
	git_signature *sig;
	struct buf payload;
};

static struct stored st;

static void make_commit(git_oid *out, git_time_t when)
{
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	git_oid blob, tree_id;

	ck_assert(!git_blob_create_from_buffer(&blob, st.repo, "data\n", 5));
	ck_assert(!git_treebuilder_new(&tb, st.repo, NULL));
	ck_assert(!git_treebuilder_insert(NULL, tb, "data.csv", &blob, GIT_FILEMODE_BLOB));
	ck_assert(!git_treebuilder_write(&tree_id, tb));
	ck_assert(!git_tree_lookup(&tree, st.repo, &tree_id));
	ck_assert(!git_signature_new(&sig, "C O Mitter", "committer@example.com", when, 0));
	ck_assert(!git_commit_create_v(out, st.repo, NULL, sig, sig, NULL, "init", tree, 0));
	git_signature_free(sig);
	git_tree_free(tree);
	git_treebuilder_free(tb);
}

static void set_note(const char *event)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid note;

	buf_reset(&st.payload);
	buf_addf(&st.payload, "{\"commit\": \"%s\", \"event\": \"%s\"}\n",
		 git_oid_tostr(hex, sizeof(hex), &st.commit), event);
	ck_assert(!git_note_create(&note, st.repo, BOX_NOTES_REF, st.sig, st.sig, &st.commit,
				   st.payload.ptr, 1));
}

static void setup_stored(void)
{
	git_libgit2_init();
	load_fixture_anchors();
	snprintf(st.dir, sizeof(st.dir), "/tmp/git-box-test-tsa.XXXXXX");
	ck_assert(mkdtemp(st.dir) != NULL);
	ck_assert(!git_repository_init(&st.repo, st.dir, 0));
	ck_assert(!git_signature_new(&st.sig, "C O Mitter", "committer@example.com", 1700000000, 0));
	make_commit(&st.commit, 1700000000);
	set_note("seal");
}

static void teardown_stored(void)
{
	git_signature_free(st.sig);
	git_repository_free(st.repo);
	remove_tree(st.dir);
	buf_release(&st.payload);
	free_anchors();
	git_libgit2_shutdown();
}

/* Stamp the note's payload and store the answer as tag `name` saying `event`. */
static void store(const char *name, const char *event, const char *gen_time)
{
	struct tsa_request r = TSA_REQUEST_INIT;
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e;
	struct buf msg = BUF_INIT;
	git_object *target = NULL;
	unsigned char *der;
	char sha[65];
	unsigned char md[32];
	git_oid id;
	size_t len;

	ck_assert_int_eq(tsa_request_make(&r, st.payload.ptr, st.payload.len), 0);
	der = mint(&len, r.der, r.len, NULL);
	e = fresh_expect(&r);
	ck_assert_int_eq(tsa_check_response(&t, der, len, &e, anchors), 0);
	EVP_Digest(st.payload.ptr, st.payload.len, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(sha + 2 * i, 3, "%02x", md[i]);
	ck_assert_int_eq(tsa_tag_message(&msg, event, sha, "http://127.0.0.1:1/",
					 gen_time ? gen_time : t.gen_time_text, der, len), 0);
	ck_assert(!git_object_lookup(&target, st.repo, &st.commit, GIT_OBJECT_COMMIT));
	ck_assert(!git_tag_create(&id, st.repo, name, target, st.sig, msg.ptr, 0));
	git_object_free(target);
	buf_release(&msg);
	tsa_token_release(&t);
	OPENSSL_free(der);
	tsa_request_release(&r);
}

START_TEST(test_a_stored_tag_passes_from_its_bytes_and_the_anchors)
{
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_tag tag = TSA_TAG_INIT;

	store("box/seal-1", "seal", NULL);
	ck_assert_msg(tsa_check_tag(&t, &tag, st.repo, "box/seal-1", anchors, 0) == 0, "%s",
		      box_error_last());
	ck_assert_int_eq(t.checks[TSA_CHECK_TAG].outcome, TSA_PASSED);
	ck_assert_int_eq(t.checks[TSA_CHECK_NONCE].outcome, TSA_SKIPPED);
	ck_assert_int_eq(t.checks[TSA_CHECK_TIME].outcome, TSA_PASSED);
	ck_assert_str_eq(tag.event, "seal");
	ck_assert_str_eq(tag.url, "http://127.0.0.1:1/");
	ck_assert_str_eq(t.tsa_name, "CN=git box test TSA, O=git box tests");
	tsa_tag_release(&tag);
	tsa_token_release(&t);
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "refs/tags/box/seal-1", anchors, 0), 0);
	tsa_token_release(&t);
}
END_TEST

START_TEST(test_a_note_changed_after_the_stamp_fails_the_tag)
{
	struct tsa_token t = TSA_TOKEN_INIT;

	store("box/seal-1", "seal", NULL);
	ck_assert(!git_note_create(&(git_oid){ { 0 } }, st.repo, BOX_NOTES_REF, st.sig, st.sig,
				   &st.commit, "{\"commit\": \"x\", \"event\": \"seal\"}\n", 1));
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "tag");
	ck_assert(strstr(box_error_last(), "names another commit") != NULL);
	tsa_token_release(&t);
	set_note("seal");
	buf_reset(&st.payload);
	{
		char hex[GIT_OID_HEXSZ + 1];

		buf_addf(&st.payload, "{\"commit\": \"%s\", \"event\": \"seal\", \"x\": 1}\n",
			 git_oid_tostr(hex, sizeof(hex), &st.commit));
	}
	ck_assert(!git_note_create(&(git_oid){ { 0 } }, st.repo, BOX_NOTES_REF, st.sig, st.sig,
				   &st.commit, st.payload.ptr, 1));
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "tag");
	ck_assert(strstr(box_error_last(), "names payload") != NULL);
	for (int i = TSA_CHECK_FORMAT; i < TSA_CHECK_NR; i++)
		ck_assert_int_eq(t.checks[i].outcome, TSA_SKIPPED);
	tsa_token_release(&t);
}
END_TEST

START_TEST(test_a_tag_named_for_another_event_fails_the_tag)
{
	struct tsa_token t = TSA_TOKEN_INIT;

	store("box/init-1", "seal", NULL);
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/init-1", anchors, 0), -1);
	ck_assert_str_eq(box_error_last(), "tag: 'box/init-1' says it stamps the seal event");
	tsa_token_release(&t);
	store("box/init-2", "init", NULL);
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/init-2", anchors, 0), -1);
	ck_assert(strstr(box_error_last(), "'box/init-2' stamps the init event, but the manifest on "));
	ck_assert(ends_with(box_error_last(), " records seal"));
	tsa_token_release(&t);
}
END_TEST

START_TEST(test_a_gen_time_line_that_is_not_the_token_s_fails_the_tag)
{
	struct tsa_token t = TSA_TOKEN_INIT;

	store("box/seal-1", "seal", "2001-01-01T00:00:00Z");
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "tag");
	ck_assert(strstr(box_error_last(), "says Gen-Time 2001-01-01T00:00:00Z, but its token says") != NULL);
	ck_assert_int_eq(t.checks[TSA_CHECK_SIGNATURE].outcome, TSA_PASSED);
	tsa_token_release(&t);
}
END_TEST

START_TEST(test_a_tag_that_is_missing_or_lightweight_fails_the_tag)
{
	struct tsa_token t = TSA_TOKEN_INIT;
	git_object *target = NULL;
	git_oid id;

	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(box_error_last(), "tag: there is no tag 'box/seal-1'");
	tsa_token_release(&t);
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "v1.0", anchors, 0), -1);
	ck_assert(strstr(box_error_last(), "is not a timestamp tag name") != NULL);
	tsa_token_release(&t);
	ck_assert(!git_object_lookup(&target, st.repo, &st.commit, GIT_OBJECT_COMMIT));
	ck_assert(!git_tag_create_lightweight(&id, st.repo, "box/seal-1", target, 0));
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(box_error_last(), "tag: 'box/seal-1' is not an annotated tag");
	tsa_token_release(&t);
	git_object_free(target);
}
END_TEST

START_TEST(test_a_stamp_older_than_its_commit_fails_the_time)
{
	struct tsa_token t = TSA_TOKEN_INIT;

	/* A commit dated a day ahead of the stamp: its time is not consistent. */
	make_commit(&st.commit, (git_time_t)time(NULL) + 86400);
	set_note("seal");
	store("box/seal-1", "seal", NULL);
	ck_assert_int_eq(tsa_check_tag(&t, NULL, st.repo, "box/seal-1", anchors, 0), -1);
	ck_assert_str_eq(tsa_check_name(t.failed), "time");
	ck_assert(strstr(box_error_last(), "earlier than the event's commit") != NULL);
	tsa_token_release(&t);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("tsa");
	TCase *req = tcase_create("request");
	TCase *check = tcase_create("check");
	TCase *tag = tcase_create("tag");
	TCase *event = tcase_create("event");
	TCase *stored = tcase_create("stored");

	tcase_add_test(req, test_request_is_sha256_with_nonce_and_cert_req);
	tcase_add_test(req, test_requests_have_their_own_nonces);
	suite_add_tcase(s, req);

	tcase_add_checked_fixture(check, load_fixture_anchors, free_anchors);
	tcase_add_test(check, test_a_good_answer_passes_every_check);
	tcase_add_test(check, test_a_stored_answer_is_checked_without_a_nonce);
	tcase_add_test(check, test_an_answer_for_other_data_fails_the_imprint);
	tcase_add_test(check, test_an_answer_to_another_request_fails_the_nonce);
	tcase_add_test(check, test_a_sha1_imprint_is_refused);
	tcase_add_test(check, test_a_sha512_imprint_is_accepted_for_a_stored_token);
	tcase_add_test(check, test_a_refused_digest_fails_the_status);
	tcase_add_test(check, test_a_fresh_answer_from_an_hour_ago_fails_the_time);
	tcase_add_test(check, test_a_stored_answer_from_the_future_fails_the_time);
	tcase_add_test(check, test_the_chain_is_checked_as_of_gen_time);
	tcase_add_test(check, test_the_tsa_certificate_itself_may_be_the_anchor);
	tcase_add_test(check, test_a_bare_token_is_checked_like_a_response);
	tcase_add_test(check, test_what_is_not_a_timestamp_response_fails_the_format);
	tcase_add_test(check, test_anchors_must_hold_certificates);
	suite_add_tcase(s, check);

	tcase_add_test(tag, test_tag_message_round_trips);
	tcase_add_loop_test(tag, test_tag_parse_refuses_what_git_box_does_not_write, 0,
			    (int)ARRAY_SIZE(bad_tags));
	tcase_add_test(tag, test_tag_names);
	suite_add_tcase(s, tag);

	tcase_add_loop_test(event, test_payload_event, 0, (int)ARRAY_SIZE(payloads));
	tcase_add_test(event, test_policy_wants);
	suite_add_tcase(s, event);

	tcase_add_checked_fixture(stored, setup_stored, teardown_stored);
	tcase_add_test(stored, test_a_stored_tag_passes_from_its_bytes_and_the_anchors);
	tcase_add_test(stored, test_a_note_changed_after_the_stamp_fails_the_tag);
	tcase_add_test(stored, test_a_tag_named_for_another_event_fails_the_tag);
	tcase_add_test(stored, test_a_gen_time_line_that_is_not_the_token_s_fails_the_tag);
	tcase_add_test(stored, test_a_tag_that_is_missing_or_lightweight_fails_the_tag);
	tcase_add_test(stored, test_a_stamp_older_than_its_commit_fails_the_time);
	suite_add_tcase(s, stored);
	return s;
}

UNIT_MAIN(make_suite)

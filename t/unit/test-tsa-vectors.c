/*
 * Real RFC 3161 answers from public TSAs (and broken ones), made by
 * others and kept in ../shared/vectors/tsa (its SOURCES.md says where
 * each comes from), checked by tsa_check_response() / tsa_check_token()
 * against their own chains as of genTime. Each vector either passes
 * every check or fails the one named here, for the reason given.
 *
 * Anchors: files of the vector's repository, or "token:" the
 * certificates carried by a token (the TSA's own or its issuer's, for
 * vectors whose root is not published with them: the equivalent of
 * `openssl ts -verify -partial_chain`), or "sigstore:" the TSA chains of
 * a Sigstore trusted-root JSON.
 */
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "unit.h"
#include "tsa.h"
#include "banned.h"

struct vector {
	const char *file;        /* under tsa/ */
	int token;               /* a bare TimeStampToken, not a TimeStampResp */
	const char *data;        /* the stamped data, */
	const char *data_file;   /* or a file holding it, */
	const char *digest;      /* or only its digest, in hex */
	const char *anchors;     /* space-separated sources */
	const char *fails;       /* NULL: every check passes; else the first that fails */
};

#define TOB "trailofbits-rfc3161-client/test/fixtures/"
#define NP "notaryproject-tspclient-go/testdata/"
#define SJ "sigstore-sigstore-java/sigstore-java/src/test/resources/dev/sigstore/"
#define DG "digitorus-timestamp/testdata/"
#define YS "ysimonx-timestamping-server-with-digicert/"
#define GS_ROOT NP "GlobalSignRootCA.crt"
#define FREETSA "trbs-rfc3161ng/data/freetsa_cacert.pem"
#define DIGICERT_ROOT YS "DigiCertAssuredIDRootCA.crt.pem"

static const struct vector vectors[] = {
	/* IdenTrust, SHA-512, the TSA certificate not first in the bag; expired since. */
	{ TOB "identrust/issue-104.tsr", 0, "hello", NULL, NULL, TOB "identrust/ts_chain.pem", NULL },
	/* Sigstore staging, ECDSA, three digests, and one without certificates. */
	{ TOB "sigstage/response-sha256.tsr", 0, "hello", NULL, NULL, TOB "sigstage/ts_chain.pem", NULL },
	{ TOB "sigstage/response-sha384.tsr", 0, "hello", NULL, NULL, TOB "sigstage/ts_chain.pem", NULL },
	{ TOB "sigstage/response-sha512.tsr", 0, "hello", NULL, NULL, TOB "sigstage/ts_chain.pem", NULL },
	{ TOB "sigstage/response-no-embedded-cert.tsr", 0, "hello", NULL, NULL,
	  TOB "sigstage/ts_chain.pem", NULL },
	{ TOB "sigstage/response-invalid-signature.tsr", 0, "hello", NULL, NULL,
	  TOB "sigstage/ts_chain.pem", "signature" },
	/* A test TSA; the same answer with a spoofed certificate injected; another TSA. */
	{ TOB "test_tsa/response.tsr", 0, "hello", NULL, NULL, TOB "test_tsa/ts_chain.pem", NULL },
	{ TOB "test_tsa/response-injected-certs.tsr", 0, "hello", NULL, NULL,
	  TOB "test_tsa/ts_chain.pem", NULL },
	{ TOB "test_tsa/other_response.tsr", 0, "hello", NULL, NULL, TOB "test_tsa/ts_chain.pem", "chain" },
	/* A chain valid only at genTime (2023-02-01). */
	{ TOB "sigstore.mock/response-expired.tsr", 0, NULL, TOB "sigstore.mock/payload", NULL,
	  TOB "sigstore.mock/ts_chain.pem", NULL },
	/* GlobalSign, and the notation project's broken variants of its token. */
	{ NP "granted.tsq", 0, "notation", NULL, NULL, GS_ROOT, NULL },
	{ NP "TimeStampToken.p7s", 1, "notation", NULL, NULL, GS_ROOT, NULL },
	{ NP "TimeStampToken.p7s", 1, "test", NULL, NULL, GS_ROOT, "imprint" },
	{ NP "SHA1TimeStampToken.p7s", 1, "notation", NULL, NULL, GS_ROOT, "signature" },
	{ NP "TimeStampTokenWithInvalidSignature.p7s", 1, "notation", NULL, NULL, GS_ROOT, "signature" },
	{ NP "TimeStampTokenWithMismatchCertHash.p7s", 1, "notation", NULL, NULL, GS_ROOT, "ess" },
	{ NP "TimeStampTokenWithSHA1CertHash.p7s", 1, "notation", NULL, NULL, GS_ROOT, "ess" },
	{ NP "TimeStampTokenWithTSTInfoVersion2.p7s", 1, "notation", NULL, NULL, GS_ROOT, "token" },
	{ NP "TimeStampTokenWithValidAndInvalidSignerInfos.p7s", 1, "notation", NULL, NULL, GS_ROOT,
	  "token" },
	{ NP "TimeStampTokenWithoutCertificate.p7s", 1, "notation", NULL, NULL, GS_ROOT, "signer" },
	{ NP "TimeStampTokenWithoutSigningCertificate.p7s", 1, "notation", NULL, NULL, GS_ROOT, "ess" },
	{ NP "TimeStampTokenWithInvalidSigningCertificateV2.p7s", 1, "notation", NULL, NULL, GS_ROOT,
	  "ess" },
	{ NP "TimeStampTokenWithSigningCertificateV2NoCert.p7s", 1, "notation", NULL, NULL, GS_ROOT,
	  "ess" },
	{ NP "TimeStampTokenWithWrongSigningCertificateV2IssuerChoiceTag.p7s", 1, "notation", NULL, NULL,
	  GS_ROOT, "ess" },
	{ NP "TimeStampTokenWithoutSigningCertificateV2IssuerSerial.p7s", 1, "notation", NULL, NULL,
	  GS_ROOT, "signature" },
	{ NP "TimeStampTokenWithInvalidTSTInfo.p7s", 1, "notation", NULL, NULL, GS_ROOT, "token" },
	{ NP "TimeStampTokenWithInvalideContentType.p7s", 1, "notation", NULL, NULL, GS_ROOT, "token" },
	/* Microsoft: the root is not published with it; its issuing CA as the anchor. */
	{ NP "TimeStampTokenNoRoot.p7s", 1, NULL, NULL,
	  "24b787b4819f46f90027e72c1e944e59ebbb4d4c758e056aa309f0527475a4a2",
	  "token:" NP "TimeStampTokenNoRoot.p7s", NULL },
	/* FreeTSA, ESSCertID (v1), SHA-512; and broken v1 variants. */
	{ NP "validResponseWithSigningCertificateV1.tsr", 0, "test", NULL, NULL, FREETSA, NULL },
	{ NP "TimeStampTokenWithSigningCertificateV1.p7s", 1, "test", NULL, NULL, FREETSA, NULL },
	{ NP "TimeStampTokenWithInvalidSigningCertificateV1.p7s", 1, "test", NULL, NULL, FREETSA, "ess" },
	{ NP "TimeStampTokenWithSigningCertificateV1NoCert.p7s", 1, "test", NULL, NULL, FREETSA, "ess" },
	{ NP "rejection.tsq", 0, "notation", NULL, NULL, GS_ROOT, "status" },
	{ NP "malformed.tsq", 0, "notation", NULL, NULL, GS_ROOT, "format" },
	/* Sigstore: staging (test\n), production (an imprint that is 64 hex characters), FreeTSA. */
	{ SJ "samples/timestamp-response/valid/sigstage_tsa_response_with_embedded_certs.tsr", 0,
	  "test\n", NULL, NULL, TOB "sigstage/ts_chain.pem", NULL },
	{ SJ "samples/timestamp-response/valid/sigstage_tsa_response_without_embedded_certs.tsr", 0,
	  "test\n", NULL, NULL, TOB "sigstage/ts_chain.pem", NULL },
	{ SJ "samples/timestamp-response/valid/sigstore_tsa_response_with_embedded_certs.tsr", 0,
	  "e49a897aac4c981921270a3f79e46885c9952fc5ba1ab4c0cdef380be7737481", NULL, NULL,
	  "sigstore:" SJ "trustroot/trusted_root_with_multiple_tsas.json", "imprint" },
	{ SJ "samples/timestamp-response/valid/sigstore_tsa_response_without_embedded_certs.tsr", 0,
	  "e49a897aac4c981921270a3f79e46885c9952fc5ba1ab4c0cdef380be7737481", NULL, NULL,
	  "sigstore:" SJ "trustroot/trusted_root_with_multiple_tsas.json", "imprint" },
	{ SJ "samples/timestamp-response/valid/freetsa_response.tsr", 0, NULL, NULL,
	  "e49a897aac4c981921270a3f79e46885c9952fc5ba1ab4c0cdef380be7737481", FREETSA, NULL },
	{ SJ "samples/timestamp-response/invalid/sigstore_tsa_response_invalid.tsr", 0, "test\n",
	  NULL, NULL, TOB "sigstage/ts_chain.pem", "format" },
	/* GlobalSign for Adobe: the Adobe root is not published with it. */
	{ DG "respNonce", 0, NULL, NULL,
	  "f487d88164bde223b7fd3c71b3e9c624c8a0cb559c853b49558e7e5ef4ce55f0", "token:" DG "respNonce", NULL },
	{ DG "respNoNonce", 0, NULL, NULL,
	  "f487d88164bde223b7fd3c71b3e9c624c8a0cb559c853b49558e7e5ef4ce55f0", "token:" DG "respNonce", NULL },
	{ DG "respNoCert", 0, NULL, NULL,
	  "f487d88164bde223b7fd3c71b3e9c624c8a0cb559c853b49558e7e5ef4ce55f0", "token:" DG "respNonce", NULL },
	{ DG "timeStampToken", 1, NULL, NULL,
	  "2da82c1572ff020524e05069219975c9ba90723f1a4dd5b9722aee8ec547a2ff", GS_ROOT, NULL },
	/* DigiCert: without certificates (the chain file), and with them. */
	{ YS "file.digicert.tsr", 0, NULL, YS "file.txt", NULL, DIGICERT_ROOT " " YS "CHAIN.pem", NULL },
	{ "ysimonx-flutter-tsa-rfc3161/file.digicert.tsr", 0, NULL, "ysimonx-flutter-tsa-rfc3161/file.txt",
	  NULL, DIGICERT_ROOT, NULL },
	/* D-Trust signs with RSASSA-PSS, which openssl ts -verify cannot check; CMS can. */
	{ "esig-dss/dss-spi/src/test/resources/d-trust.tsr", 1, NULL, NULL,
	  "d9b5f58f0b38198293971865a14074f59eba3e82595becbe86ae51f1d9f1f65e",
	  "token:esig-dss/dss-spi/src/test/resources/d-trust.tsr", NULL },
	/* Disig: its issuer is not published with it; the TSA certificate pinned. */
	{ "esig-dss/dss-spi/src/test/resources/disig.tst", 1, NULL, NULL,
	  "4940ab4da320b29e987abcc83e09b51b437c9bac402b0bc522be51e7aec3899f",
	  "token:esig-dss/dss-spi/src/test/resources/disig.tst", NULL },
	/*
	 * EuroCert: its signingCertificateV2 has two references, neither of them
	 * to the certificate that signed (openssl ts refuses it too).
	 */
	{ "esig-dss/dss-validation/src/test/resources/tst-two-refs.tst", 1, NULL, NULL,
	  "18be035e522c89bb459dd407ec6ed80d519d1613e70d0b824fbf156044323611",
	  "token:esig-dss/dss-validation/src/test/resources/tst-two-refs.tst", "ess" },
	/*
	 * An ETSI Plugtests token with an OCSP answer among its CRLs: CMS reads
	 * it where PKCS7 (openssl ts) cannot; the stamped data is not known.
	 */
	{ "esig-dss/dss-spi/src/test/resources/tst_with_broken_ocsp.tst", 1, NULL, NULL,
	  "0000000000000000000000000000000000000000000000000000000000000000",
	  "token:esig-dss/dss-spi/src/test/resources/tst_with_broken_ocsp.tst", "imprint" },
	/* tractis.com: SHA-1 imprints, refused whatever else holds. */
	{ "clocklock-go-rfc3161/test/sha1.response.tsr", 0, NULL, "clocklock-go-rfc3161/test/message.txt",
	  NULL, "token:clocklock-go-rfc3161/test/sha1.response.tsr", "hash" },
	{ "clocklock-go-rfc3161/test/sha1_nonce.response.tsr", 0, NULL,
	  "clocklock-go-rfc3161/test/message.txt", NULL,
	  "token:clocklock-go-rfc3161/test/sha1_nonce.response.tsr", "hash" },
};

static const char *tsa_dir(void)
{
	static char dir[4096];
	const char *base = getenv("BOX_VECTORS");
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/tsa", base ? base : "../shared/vectors");
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

static void read_vector_file(struct buf *out, const char *name)
{
	char *path = xstrfmt("%s/%s", tsa_dir(), name);

	buf_reset(out);
	ck_assert_msg(buf_read_file(out, path, 4 * 1024 * 1024) == 0, "%s", box_error_last());
	free(path);
}

/* The certificates a response or a token carries. */
static STACK_OF(X509) *token_certs(const char *name)
{
	struct buf der = BUF_INIT;
	const unsigned char *p;
	TS_RESP *resp = NULL;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *certs;

	read_vector_file(&der, name);
	p = (const unsigned char *)der.ptr;
	resp = d2i_TS_RESP(NULL, &p, (long)der.len);
	if (!resp) {
		p = (const unsigned char *)der.ptr;
		cms = d2i_CMS_ContentInfo(NULL, &p, (long)der.len);
	}
	ck_assert_msg(resp || cms, "cannot read the certificates of %s", name);
	certs = resp ? X509_chain_up_ref(TS_RESP_get_token(resp)->d.sign->cert) : CMS_get1_certs(cms);
	ERR_clear_error();
	TS_RESP_free(resp);
	CMS_ContentInfo_free(cms);
	buf_release(&der);
	return certs;
}

static void add_sigstore_chains(BIO *pem, const char *name)
{
	struct buf json = BUF_INIT;
	json_t *root, *tsas;
	size_t i, j;

	read_vector_file(&json, name);
	root = json_loadb(json.ptr, json.len, 0, NULL);
	ck_assert(root != NULL);
	tsas = json_object_get(root, "timestampAuthorities");
	for (i = 0; i < json_array_size(tsas); i++) {
		json_t *certs = json_object_get(json_object_get(json_array_get(tsas, i), "certChain"),
						"certificates");

		for (j = 0; j < json_array_size(certs); j++) {
			const char *b64 = json_string_value(json_object_get(json_array_get(certs, j),
									    "rawBytes"));
			unsigned char *der = xmalloc(strlen(b64));
			const unsigned char *p = der;
			int n = EVP_DecodeBlock(der, (const unsigned char *)b64, (int)strlen(b64));
			X509 *x = n > 0 ? d2i_X509(NULL, &p, n) : NULL;

			ck_assert(x != NULL);
			PEM_write_bio_X509(pem, x);
			X509_free(x);
			free(der);
		}
	}
	json_decref(root);
	buf_release(&json);
}

/* Every source of `spec` as one PEM text, for tsa_anchors_load(). */
static struct tsa_anchors *load_anchors(const char *spec)
{
	BIO *pem = BIO_new(BIO_s_mem());
	char *copy = xstrdup(spec), *name, *save = NULL;
	struct tsa_anchors *a = NULL;
	struct buf file = BUF_INIT;
	char *text;
	long len;

	for (name = strtok_r(copy, " ", &save); name; name = strtok_r(NULL, " ", &save)) {
		if (starts_with(name, "token:")) {
			STACK_OF(X509) *certs = token_certs(name + strlen("token:"));

			for (int i = 0; i < sk_X509_num(certs); i++)
				PEM_write_bio_X509(pem, sk_X509_value(certs, i));
			sk_X509_pop_free(certs, X509_free);
		} else if (starts_with(name, "sigstore:")) {
			add_sigstore_chains(pem, name + strlen("sigstore:"));
		} else {
			read_vector_file(&file, name);
			if (memmem(file.ptr, file.len, "-----BEGIN", 10)) {
				BIO_write(pem, file.ptr, (int)file.len);
				BIO_write(pem, "\n", 1);
			} else {
				const unsigned char *p = (const unsigned char *)file.ptr;
				X509 *x = d2i_X509(NULL, &p, (long)file.len);

				ck_assert_msg(x != NULL, "%s is neither PEM nor a DER certificate", name);
				PEM_write_bio_X509(pem, x);
				X509_free(x);
			}
		}
	}
	len = BIO_get_mem_data(pem, &text);
	ck_assert_msg(tsa_anchors_load(&a, text, (size_t)len, spec) == 0, "%s", box_error_last());
	buf_release(&file);
	BIO_free(pem);
	free(copy);
	return a;
}

static size_t hex_decode(unsigned char *out, size_t size, const char *hex)
{
	size_t n = strlen(hex) / 2;

	ck_assert(n <= size);
	for (size_t i = 0; i < n; i++) {
		unsigned int byte;

		ck_assert(sscanf(hex + 2 * i, "%2x", &byte) == 1);
		out[i] = (unsigned char)byte;
	}
	return n;
}

START_TEST(test_public_vector)
{
	const struct vector *v = &vectors[_i];
	struct tsa_token t = TSA_TOKEN_INIT;
	struct tsa_expect e = { 0 };
	struct tsa_anchors *anchors;
	struct buf der = BUF_INIT, data = BUF_INIT;
	unsigned char digest[64];
	int r;

	if (!tsa_dir()) {
		if (_i == 0)
			printf("vectors: no %s/tsa; skipped\n",
			       getenv("BOX_VECTORS") ? getenv("BOX_VECTORS") : "../shared/vectors");
		return;
	}
	read_vector_file(&der, v->file);
	anchors = load_anchors(v->anchors);
	if (v->data) {
		e.data = v->data;
		e.len = strlen(v->data);
	} else if (v->data_file) {
		read_vector_file(&data, v->data_file);
		e.data = data.ptr;
		e.len = data.len;
	} else {
		e.digest = digest;
		e.digest_len = hex_decode(digest, sizeof(digest), v->digest);
	}
	if (v->token)
		r = tsa_check_token(&t, (const unsigned char *)der.ptr, der.len, &e, anchors);
	else
		r = tsa_check_response(&t, (const unsigned char *)der.ptr, der.len, &e, anchors);
	printf("vector %s%s: %s\n", v->file, v->fails && !strcmp(v->fails, "imprint") &&
	       v->data ? " (other data)" : "", r ? box_error_last() : "every check passes");
	fflush(stdout);
	if (v->fails) {
		ck_assert_msg(r < 0, "%s passed; expected to fail '%s'", v->file, v->fails);
		ck_assert_str_eq(tsa_check_name(t.failed), v->fails);
	} else {
		ck_assert_msg(r == 0, "%s: %s", v->file, box_error_last());
		ck_assert(t.tsa_name != NULL && t.gen_time > 0 && t.serial != NULL);
	}
	tsa_token_release(&t);
	tsa_anchors_free(anchors);
	buf_release(&der);
	buf_release(&data);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("tsa-vectors");
	TCase *tc = tcase_create("public");

	tcase_add_loop_test(tc, test_public_vector, 0, (int)ARRAY_SIZE(vectors));
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

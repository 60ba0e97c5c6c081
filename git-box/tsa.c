#include "tsa.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "banned.h"

#define TSA_MAX_RESPONSE (1024 * 1024)
#define TSA_MAX_ANCHORS_FILE (4 * 1024 * 1024)
#define TSA_LOCK_TRIES 200   /* 10 seconds */

static const char *const check_names[TSA_CHECK_NR] = {
	[TSA_CHECK_TAG] = "tag",
	[TSA_CHECK_FORMAT] = "format",
	[TSA_CHECK_STATUS] = "status",
	[TSA_CHECK_TOKEN] = "token",
	[TSA_CHECK_SIGNER] = "signer",
	[TSA_CHECK_EKU] = "eku",
	[TSA_CHECK_CHAIN] = "chain",
	[TSA_CHECK_ESS] = "ess",
	[TSA_CHECK_SIGNATURE] = "signature",
	[TSA_CHECK_NAME] = "name",
	[TSA_CHECK_HASH] = "hash",
	[TSA_CHECK_IMPRINT] = "imprint",
	[TSA_CHECK_NONCE] = "nonce",
	[TSA_CHECK_TIME] = "time",
};

static const char *const event_names[] = { "init", "import", "checkpoint", "run", "seal", NULL };

const char *tsa_check_name(enum tsa_check_id id)
{
	return (unsigned)id < TSA_CHECK_NR ? check_names[id] : "unknown";
}

void tsa_token_release(struct tsa_token *t)
{
	for (size_t i = 0; i < TSA_CHECK_NR; i++)
		free(t->checks[i].detail);
	free(t->tsa_name);
	free(t->signer);
	free(t->serial);
	free(t->policy);
	free(t->hash);
	memset(t, 0, sizeof(*t));
	t->failed = -1;
}

/* ---- small OpenSSL helpers ---------------------------------------------- */

/* The reason of OpenSSL's most recent error, and an empty error queue. */
static const char *ssl_reason(void)
{
	static __thread char reason[256];
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(reason, sizeof(reason), "%s", r ? r : "unknown error");
	ERR_clear_error();
	return reason;
}

static char *bio_text(BIO *b)
{
	char *data;
	long n = BIO_get_mem_data(b, &data);

	return xstrndup(n > 0 ? data : "", n > 0 ? (size_t)n : 0);
}

/* "CN=git box test TSA, O=git box tests" */
static char *name_text(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s;

	if (!b)
		return xstrdup("?");
	X509_NAME_print_ex(b, name, 0, (XN_FLAG_ONELINE & ~XN_FLAG_SPC_EQ & ~ASN1_STRFLGS_ESC_MSB) |
			   ASN1_STRFLGS_UTF8_CONVERT);
	s = bio_text(b);
	BIO_free(b);
	return s;
}

static char *general_name_text(GENERAL_NAME *gn)
{
	BIO *b;
	char *s;

	if (gn->type == GEN_DIRNAME)
		return name_text(gn->d.dirn);
	b = BIO_new(BIO_s_mem());
	if (!b)
		return xstrdup("?");
	GENERAL_NAME_print(b, gn);
	s = bio_text(b);
	BIO_free(b);
	return s;
}

static char *integer_hex(const ASN1_INTEGER *i)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(i, NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL, *out;

	if (!hex) {
		BN_free(bn);
		return xstrdup("?");
	}
	for (char *p = hex; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	out = xstrfmt("%s0x%s", hex[0] == '-' ? "-" : "", hex + (hex[0] == '-'));
	OPENSSL_free(hex);
	BN_free(bn);
	return out;
}

static char *object_text(const ASN1_OBJECT *obj)
{
	char buf[128];
	int nid = OBJ_obj2nid(obj);

	if (nid != NID_undef && OBJ_nid2ln(nid))
		return xstrdup(OBJ_nid2ln(nid));
	if (OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0)
		return xstrdup("?");
	return xstrdup(buf);
}

static char *oid_text(const ASN1_OBJECT *obj)
{
	char buf[128];

	if (OBJ_obj2txt(buf, sizeof(buf), obj, 1) <= 0)
		return xstrdup("?");
	return xstrdup(buf);
}

static void format_time(char *out, size_t size, time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "@%lld", (long long)t);
}

/* A GeneralizedTime as seconds and as RFC 3339 text, keeping its fraction. */
static int gen_time_read(time_t *out, char *text, size_t size, const ASN1_GENERALIZEDTIME *g)
{
	struct tm tm;
	const char *raw = (const char *)ASN1_STRING_get0_data(g), *dot;
	char fraction[16] = "";
	size_t n = 0;

	if (!ASN1_TIME_to_tm(g, &tm))
		return -1;
	*out = timegm(&tm);
	dot = memchr(raw, '.', (size_t)ASN1_STRING_length(g));
	if (dot) {
		fraction[n++] = '.';
		for (dot++; n < sizeof(fraction) - 1 && isdigit((unsigned char)*dot); dot++)
			fraction[n++] = *dot;
		fraction[n] = '\0';
	}
	if (!strftime(text, size, "%Y-%m-%dT%H:%M:%S", &tm))
		return -1;
	n = strlen(text);
	snprintf(text + n, size - n, "%sZ", fraction[0] && fraction[1] ? fraction : "");
	return 0;
}

static void sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- trust anchors ------------------------------------------------------ */

struct tsa_anchors {
	X509_STORE *store;
	STACK_OF(X509) *certs;
};

void tsa_anchors_free(struct tsa_anchors *a)
{
	if (!a)
		return;
	X509_STORE_free(a->store);
	sk_X509_pop_free(a->certs, X509_free);
	free(a);
}

int tsa_anchors_load(struct tsa_anchors **out, const char *pem, size_t len, const char *origin)
{
	struct tsa_anchors *a = xcalloc(1, sizeof(*a));
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x;

	*out = NULL;
	a->store = X509_STORE_new();
	a->certs = sk_X509_new_null();
	if (!b || !a->store || !a->certs || len > INT_MAX) {
		box_error_set("cannot read the TSA trust anchors in '%s'", origin);
		goto fail;
	}
	ERR_clear_error();
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (!sk_X509_push(a->certs, x) || !X509_STORE_add_cert(a->store, x)) {
			if (sk_X509_num(a->certs) == 0 || sk_X509_value(a->certs, sk_X509_num(a->certs) - 1) != x)
				X509_free(x);
			box_error_set("cannot use a certificate of '%s': %s", origin, ssl_reason());
			goto fail;
		}
	}
	/* The end of the file is the expected way out; anything else is an error. */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || !sk_X509_num(a->certs)) {
		if (!sk_X509_num(a->certs))
			box_error_set("'%s' holds no PEM certificate", origin);
		else
			box_error_set("cannot read '%s': %s", origin, ssl_reason());
		goto fail;
	}
	ERR_clear_error();
	BIO_free(b);
	*out = a;
	return 0;
fail:
	ERR_clear_error();
	BIO_free(b);
	tsa_anchors_free(a);
	return -1;
}

int tsa_anchors_load_file(struct tsa_anchors **out, const char *path)
{
	struct buf pem = BUF_INIT;
	int ret;

	*out = NULL;
	if (buf_read_file(&pem, path, TSA_MAX_ANCHORS_FILE) < 0)
		return -1;
	ret = tsa_anchors_load(out, pem.ptr ? pem.ptr : "", pem.len, path);
	buf_release(&pem);
	return ret;
}

/* ---- checking a token --------------------------------------------------- */

struct verifier {
	struct tsa_token *t;
	const struct tsa_expect *expect;
	const struct tsa_anchors *anchors;
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
	TS_TST_INFO *tst;
	STACK_OF(X509) *certs;   /* the token's own */
	STACK_OF(X509) *pool;    /* the token's, then the anchors': where the signer is looked for */
	X509 *signer;            /* in pool */
};

static void record(struct tsa_token *t, enum tsa_check_id id, enum tsa_outcome o,
		   const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT;

	free(t->checks[id].detail);
	t->checks[id].detail = NULL;
	t->checks[id].outcome = o;
	if (fmt) {
		buf_vaddf(&b, fmt, ap);
		t->checks[id].detail = buf_detach(&b);
	}
}

static int fail(struct verifier *v, enum tsa_check_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct verifier *v, enum tsa_check_id id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(v->t, id, TSA_FAILED, fmt, ap);
	va_end(ap);
	ERR_clear_error();
	return -1;
}

static void skip(struct verifier *v, enum tsa_check_id id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void skip(struct verifier *v, enum tsa_check_id id, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(v->t, id, TSA_SKIPPED, fmt, ap);
	va_end(ap);
}

static int pass(struct verifier *v, enum tsa_check_id id)
{
	v->t->checks[id].outcome = TSA_PASSED;
	free(v->t->checks[id].detail);
	v->t->checks[id].detail = NULL;
	return 0;
}

/* Mark every check from `from` to `to` skipped because `because` failed. */
static void skip_after(struct verifier *v, enum tsa_check_id from, enum tsa_check_id to,
		       enum tsa_check_id because)
{
	for (int id = from; id <= (int)to; id++)
		skip(v, id, "not made: the %s check failed", check_names[because]);
}

/* Find the elements of a TimeStampResp: SEQUENCE { status, token OPTIONAL }. */
static int split_response(struct verifier *v, const unsigned char **status, long *status_len,
			  const unsigned char **token, long *token_len,
			  const unsigned char *der, size_t len)
{
	const unsigned char *p = der, *end, *start;
	long n;
	int tag, cls, r;

	*token = NULL;
	*token_len = 0;
	if (len == 0 || len > LONG_MAX)
		return fail(v, TSA_CHECK_FORMAT, "the answer is empty, not a DER TimeStampResp");
	r = ASN1_get_object(&p, &n, &tag, &cls, (long)len);
	if ((r & 0x80) || (r & 0x01) || !(r & V_ASN1_CONSTRUCTED) || tag != V_ASN1_SEQUENCE ||
	    cls != V_ASN1_UNIVERSAL)
		return fail(v, TSA_CHECK_FORMAT, "the answer is not a DER TimeStampResp");
	end = p + n;
	if (end != der + len)
		return fail(v, TSA_CHECK_FORMAT, "%zu bytes follow the TimeStampResp",
			    (size_t)(der + len - end));
	for (int i = 0; p < end; i++) {
		start = p;
		r = ASN1_get_object(&p, &n, &tag, &cls, (long)(end - p));
		if ((r & 0x80) || (r & 0x01) || !(r & V_ASN1_CONSTRUCTED) || tag != V_ASN1_SEQUENCE ||
		    cls != V_ASN1_UNIVERSAL || i > 1)
			return fail(v, TSA_CHECK_FORMAT, "the answer is not a DER TimeStampResp");
		p += n;
		if (i == 0) {
			*status = start;
			*status_len = (long)(p - start);
		} else {
			*token = start;
			*token_len = (long)(p - start);
		}
	}
	if (!*status_len)
		return fail(v, TSA_CHECK_FORMAT, "the TimeStampResp has no status");
	return pass(v, TSA_CHECK_FORMAT);
}

static const char *status_name(long s)
{
	static const char *const names[] = {
		"granted", "grantedWithMods", "rejection", "waiting",
		"revocationWarning", "revocationNotification",
	};

	return s >= 0 && s < (long)ARRAY_SIZE(names) ? names[s] : "an unknown status";
}

static void failure_info_text(struct buf *out, const ASN1_BIT_STRING *bits)
{
	static const struct { int bit; const char *name; } infos[] = {
		{ 0, "badAlg" }, { 2, "badRequest" }, { 5, "badDataFormat" },
		{ 14, "timeNotAvailable" }, { 15, "unacceptedPolicy" },
		{ 16, "unacceptedExtension" }, { 17, "addInfoNotAvailable" },
		{ 25, "systemFailure" },
	};
	int first = 1;

	if (!bits)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(infos); i++) {
		if (ASN1_BIT_STRING_get_bit(bits, infos[i].bit)) {
			buf_addf(out, "%s%s", first ? " (" : ", ", infos[i].name);
			first = 0;
		}
	}
	if (!first)
		buf_addch(out, ')');
}

/* Returns 1 when a token must follow (granted), 0 when not, -1 when refused. */
static int check_status(struct verifier *v, const unsigned char *der, long len, int has_token)
{
	const unsigned char *p = der;
	TS_STATUS_INFO *si = d2i_TS_STATUS_INFO(NULL, &p, len);
	const STACK_OF(ASN1_UTF8STRING) *text;
	struct buf why = BUF_INIT;
	long status;
	int ret;

	if (!si || p != der + len) {
		TS_STATUS_INFO_free(si);
		return fail(v, TSA_CHECK_STATUS, "the PKIStatusInfo cannot be read: %s", ssl_reason());
	}
	status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
	if (status == 0 || status == 1) {
		if (!has_token)
			ret = fail(v, TSA_CHECK_STATUS, "the status is %s, but no token follows",
				   status_name(status));
		else
			ret = pass(v, TSA_CHECK_STATUS) + 1;
		TS_STATUS_INFO_free(si);
		return ret;
	}
	buf_addf(&why, "the TSA answered %s", status_name(status));
	text = TS_STATUS_INFO_get0_text(si);
	for (int i = 0; i < sk_ASN1_UTF8STRING_num(text); i++) {
		const ASN1_UTF8STRING *s = sk_ASN1_UTF8STRING_value(text, i);

		buf_addf(&why, "%s%.*s", i ? "; " : ": ", ASN1_STRING_length(s),
			 (const char *)ASN1_STRING_get0_data(s));
	}
	failure_info_text(&why, TS_STATUS_INFO_get0_failure_info(si));
	if (has_token)
		buf_adds(&why, ", and a token follows");
	ret = fail(v, TSA_CHECK_STATUS, "%s", why.ptr);
	buf_release(&why);
	TS_STATUS_INFO_free(si);
	return ret;
}

static void read_token_facts(struct verifier *v)
{
	struct tsa_token *t = v->t;
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(v->tst);
	const ASN1_OBJECT *alg;
	GENERAL_NAME *tsa = TS_TST_INFO_get_tsa(v->tst);

	if (gen_time_read(&t->gen_time, t->gen_time_text, sizeof(t->gen_time_text),
			  TS_TST_INFO_get_time(v->tst)) < 0) {
		t->gen_time = 0;
		snprintf(t->gen_time_text, sizeof(t->gen_time_text), "?");
	}
	t->serial = integer_hex(TS_TST_INFO_get_serial(v->tst));
	t->policy = oid_text(TS_TST_INFO_get_policy_id(v->tst));
	X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	t->hash = object_text(alg);
	if (tsa)
		t->tsa_name = general_name_text(tsa);
}

static int check_token_format(struct verifier *v, const unsigned char *der, long len)
{
	const unsigned char *p = der;
	ASN1_OCTET_STRING **content;
	const ASN1_GENERALIZEDTIME *gen;
	int n;

	v->cms = d2i_CMS_ContentInfo(NULL, &p, len);
	if (!v->cms)
		return fail(v, TSA_CHECK_TOKEN, "the token is not a CMS ContentInfo: %s", ssl_reason());
	if (p != der + len)
		return fail(v, TSA_CHECK_TOKEN, "%ld bytes follow the token", (long)(der + len - p));
	if (OBJ_obj2nid(CMS_get0_type(v->cms)) != NID_pkcs7_signed)
		return fail(v, TSA_CHECK_TOKEN, "the token is not a SignedData");
	if (OBJ_obj2nid(CMS_get0_eContentType(v->cms)) != NID_id_smime_ct_TSTInfo)
		return fail(v, TSA_CHECK_TOKEN, "the token's content type is not id-ct-TSTInfo");
	content = CMS_get0_content(v->cms);
	if (!content || !*content)
		return fail(v, TSA_CHECK_TOKEN, "the token carries no TSTInfo");
	p = ASN1_STRING_get0_data(*content);
	v->tst = d2i_TS_TST_INFO(NULL, &p, ASN1_STRING_length(*content));
	if (!v->tst || p != ASN1_STRING_get0_data(*content) + ASN1_STRING_length(*content))
		return fail(v, TSA_CHECK_TOKEN, "the TSTInfo cannot be read: %s", ssl_reason());
	if (TS_TST_INFO_get_version(v->tst) != 1)
		return fail(v, TSA_CHECK_TOKEN, "the TSTInfo is version %ld, not 1",
			    TS_TST_INFO_get_version(v->tst));
	gen = TS_TST_INFO_get_time(v->tst);
	if (!gen || !ASN1_TIME_check(gen))
		return fail(v, TSA_CHECK_TOKEN, "the TSTInfo's genTime cannot be read");
	n = sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(v->cms));
	if (n != 1)
		return fail(v, TSA_CHECK_TOKEN, "the token has %d signers, not one", n);
	v->si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(v->cms), 0);
	if (CMS_signed_get_attr_count(v->si) <= 0)
		return fail(v, TSA_CHECK_TOKEN, "the token's signer has no signed attributes");
	for (int i = 0; i < TS_TST_INFO_get_ext_count(v->tst); i++) {
		X509_EXTENSION *ext = TS_TST_INFO_get_ext(v->tst, i);

		if (X509_EXTENSION_get_critical(ext)) {
			char *oid = oid_text(X509_EXTENSION_get_object(ext));

			fail(v, TSA_CHECK_TOKEN, "the TSTInfo has an unknown critical extension %s", oid);
			free(oid);
			return -1;
		}
	}
	read_token_facts(v);
	return pass(v, TSA_CHECK_TOKEN);
}

static char *signer_id_text(CMS_SignerInfo *si)
{
	ASN1_OCTET_STRING *keyid = NULL;
	X509_NAME *issuer = NULL;
	ASN1_INTEGER *serial = NULL;
	char *text, *a, *b;

	if (!CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial))
		return xstrdup("an unreadable signer id");
	if (keyid) {
		struct buf hex = BUF_INIT;

		for (int i = 0; i < ASN1_STRING_length(keyid); i++)
			buf_addf(&hex, "%02x", ASN1_STRING_get0_data(keyid)[i]);
		text = xstrfmt("key id %s", hex.ptr ? hex.ptr : "");
		buf_release(&hex);
		return text;
	}
	a = name_text(issuer);
	b = integer_hex(serial);
	text = xstrfmt("serial %s of '%s'", b, a);
	free(a);
	free(b);
	return text;
}

static int check_signer(struct verifier *v)
{
	char *id;

	v->certs = CMS_get1_certs(v->cms);
	if (!v->certs)
		v->certs = sk_X509_new_null();
	v->pool = sk_X509_new_null();
	if (!v->certs || !v->pool)
		return fail(v, TSA_CHECK_SIGNER, "out of memory");
	for (int i = 0; i < sk_X509_num(v->certs); i++)
		sk_X509_push(v->pool, sk_X509_value(v->certs, i));
	for (int i = 0; i < sk_X509_num(v->anchors->certs); i++)
		sk_X509_push(v->pool, sk_X509_value(v->anchors->certs, i));
	for (int i = 0; i < sk_X509_num(v->pool); i++) {
		X509 *x = sk_X509_value(v->pool, i);

		if (!CMS_SignerInfo_cert_cmp(v->si, x)) {
			v->signer = x;
			v->t->signer = name_text(X509_get_subject_name(x));
			if (!v->t->tsa_name)
				v->t->tsa_name = xstrdup(v->t->signer);
			return pass(v, TSA_CHECK_SIGNER);
		}
	}
	id = signer_id_text(v->si);
	fail(v, TSA_CHECK_SIGNER, "the signer's certificate (%s) is neither in the token nor "
	     "among the trust anchors", id);
	free(id);
	return -1;
}

/*
 * The TSTInfo's tsa field is the TSA's claim of who it is; the token
 * is from whoever signed it. When the field is there it must name the
 * signer, as OpenSSL's TS_RESP_verify_token() requires ("tsa name
 * mismatch"): the signer's subject as a directoryName, or one of the
 * signer's subjectAltName entries.
 */
static int check_name(struct verifier *v)
{
	GENERAL_NAME *tsa = TS_TST_INFO_get_tsa(v->tst);
	STACK_OF(GENERAL_NAME) *alt;
	int idx = -1, found = 0;

	if (!tsa) {
		skip(v, TSA_CHECK_NAME, "the token names no TSA");
		return 0;
	}
	if (tsa->type == GEN_DIRNAME && !X509_NAME_cmp(tsa->d.dirn, X509_get_subject_name(v->signer)))
		return pass(v, TSA_CHECK_NAME);
	while (!found && (alt = X509_get_ext_d2i(v->signer, NID_subject_alt_name, NULL, &idx))) {
		for (int i = 0; !found && i < sk_GENERAL_NAME_num(alt); i++)
			found = !GENERAL_NAME_cmp(sk_GENERAL_NAME_value(alt, i), tsa);
		GENERAL_NAMES_free(alt);
	}
	ERR_clear_error();
	if (found)
		return pass(v, TSA_CHECK_NAME);
	return fail(v, TSA_CHECK_NAME, "tsa name mismatch: the token says it is from '%s', but "
		    "'%s' signed it", v->t->tsa_name, v->t->signer);
}

static int check_eku(struct verifier *v)
{
	X509 *x = v->signer;
	uint32_t flags = X509_get_extension_flags(x);
	uint32_t xku = X509_get_extended_key_usage(x);
	int at = X509_get_ext_by_NID(x, NID_ext_key_usage, -1);
	const char *who = v->t->signer;

	if (!(flags & EXFLAG_XKUSAGE) || at < 0)
		return fail(v, TSA_CHECK_EKU, "the signer '%s' has no extended key usage; "
			    "a TSA's must be timeStamping", who);
	if (!(xku & XKU_TIMESTAMP))
		return fail(v, TSA_CHECK_EKU, "the signer '%s' does not have the timeStamping "
			    "extended key usage", who);
	if (xku != XKU_TIMESTAMP)
		return fail(v, TSA_CHECK_EKU, "the signer '%s' has extended key usages besides "
			    "timeStamping", who);
	if (!X509_EXTENSION_get_critical(X509_get_ext(x, at)))
		return fail(v, TSA_CHECK_EKU, "the signer's timeStamping extended key usage is "
			    "not critical ('%s')", who);
	if (X509_check_purpose(x, X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1)
		return fail(v, TSA_CHECK_EKU, "the signer '%s' may not sign timestamps (its key "
			    "usage is not digitalSignature or nonRepudiation)", who);
	return pass(v, TSA_CHECK_EKU);
}

static int check_chain(struct verifier *v)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int ret;

	if (!ctx || !X509_STORE_CTX_init(ctx, v->anchors->store, v->signer, v->certs)) {
		X509_STORE_CTX_free(ctx);
		return fail(v, TSA_CHECK_CHAIN, "cannot check the chain: %s", ssl_reason());
	}
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_TIMESTAMP_SIGN);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
	X509_VERIFY_PARAM_set_time(param, v->t->gen_time);
	if (X509_verify_cert(ctx) == 1) {
		ret = pass(v, TSA_CHECK_CHAIN);
	} else {
		int err = X509_STORE_CTX_get_error(ctx);
		X509 *at = X509_STORE_CTX_get_current_cert(ctx);
		char *where = at && X509_cmp(at, v->signer)
			? name_text(X509_get_subject_name(at)) : NULL;

		ret = fail(v, TSA_CHECK_CHAIN, "the signer '%s' does not chain to a trust anchor "
			   "as of %s: %s%s%s%s", v->t->signer, v->t->gen_time_text,
			   X509_verify_cert_error_string(err), where ? " ('" : "",
			   where ? where : "", where ? "')" : "");
		free(where);
	}
	X509_STORE_CTX_free(ctx);
	return ret;
}

/* The one value of a signed attribute as a SEQUENCE, NULL when absent; -1 when malformed. */
static int signed_attribute(const unsigned char **der, int *len, CMS_SignerInfo *si, int nid)
{
	const ASN1_OBJECT *obj = OBJ_nid2obj(nid);
	ASN1_STRING *s;
	int at = CMS_signed_get_attr_by_NID(si, nid, -1);

	*der = NULL;
	*len = 0;
	if (at < 0)
		return 0;
	s = CMS_signed_get0_data_by_OBJ(si, obj, -3, V_ASN1_SEQUENCE);
	if (!s)
		return -1;
	*der = ASN1_STRING_get0_data(s);
	*len = ASN1_STRING_length(s);
	return 1;
}

static int check_ess(struct verifier *v)
{
	ESS_SIGNING_CERT *ss = NULL;
	ESS_SIGNING_CERT_V2 *ssv2 = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *der, *p;
	int len, r, ret = -1;

	r = signed_attribute(&der, &len, v->si, NID_id_smime_aa_signingCertificate);
	if (r < 0)
		goto malformed;
	if (r > 0) {
		p = der;
		ss = d2i_ESS_SIGNING_CERT(NULL, &p, len);
		if (!ss || p != der + len)
			goto malformed;
	}
	r = signed_attribute(&der, &len, v->si, NID_id_smime_aa_signingCertificateV2);
	if (r < 0)
		goto malformed;
	if (r > 0) {
		p = der;
		ssv2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, len);
		if (!ssv2 || p != der + len)
			goto malformed;
	}
	if (!ss && !ssv2) {
		ret = fail(v, TSA_CHECK_ESS, "the token has no signingCertificate or "
			   "signingCertificateV2 attribute to bind its signer");
		goto out;
	}
	/*
	 * The first reference must be the signer's; any others (the CAs a
	 * TSA may list too) must be certificates at hand.
	 */
	if (!chain || !sk_X509_push(chain, v->signer)) {
		ret = fail(v, TSA_CHECK_ESS, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(v->pool); i++) {
		X509 *x = sk_X509_value(v->pool, i);

		if (X509_cmp(x, v->signer) && !sk_X509_push(chain, x)) {
			ret = fail(v, TSA_CHECK_ESS, "out of memory");
			goto out;
		}
	}
	ERR_clear_error();
	if (OSSL_ESS_check_signing_certs(ss, ssv2, chain, 1) > 0)
		ret = pass(v, TSA_CHECK_ESS);
	else
		ret = fail(v, TSA_CHECK_ESS, "the ESSCertID%s does not bind the signer '%s': %s",
			   ssv2 ? "v2" : "", v->t->signer, ssl_reason());
	goto out;
malformed:
	ret = fail(v, TSA_CHECK_ESS, "the signing certificate attribute cannot be read");
out:
	sk_X509_free(chain);
	ESS_SIGNING_CERT_free(ss);
	ESS_SIGNING_CERT_V2_free(ssv2);
	return ret;
}

static int check_signature(struct verifier *v)
{
	ERR_clear_error();
	/*
	 * CMS rather than PKCS7: it checks RSASSA-PSS too. The chain is
	 * checked on its own as of genTime, so not here.
	 */
	if (CMS_verify(v->cms, v->pool, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) == 1)
		return pass(v, TSA_CHECK_SIGNATURE);
	return fail(v, TSA_CHECK_SIGNATURE, "the token's signature does not hold: %s", ssl_reason());
}

static const EVP_MD *imprint_md(const ASN1_OBJECT *alg)
{
	switch (OBJ_obj2nid(alg)) {
	case NID_sha256:
		return EVP_sha256();
	case NID_sha384:
		return EVP_sha384();
	case NID_sha512:
		return EVP_sha512();
	case NID_sha3_256:
		return EVP_sha3_256();
	case NID_sha3_384:
		return EVP_sha3_384();
	case NID_sha3_512:
		return EVP_sha3_512();
	}
	return NULL;
}

static int check_hash(struct verifier *v)
{
	X509_ALGOR *algor = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(v->tst));
	const ASN1_OBJECT *alg;
	int ptype;

	X509_ALGOR_get0(&alg, &ptype, NULL, algor);
	if (OBJ_obj2nid(alg) == NID_sha1)
		return fail(v, TSA_CHECK_HASH, "the imprint is SHA-1, which is refused: SHA-1 "
			    "collisions can be made");
	if (!imprint_md(alg))
		return fail(v, TSA_CHECK_HASH, "the imprint's algorithm %s is not SHA-256 or "
			    "stronger", v->t->hash);
	if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL)
		return fail(v, TSA_CHECK_HASH, "the imprint's %s has unexpected parameters",
			    v->t->hash);
	return pass(v, TSA_CHECK_HASH);
}

static int check_imprint(struct verifier *v)
{
	TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(v->tst);
	const ASN1_OCTET_STRING *msg = TS_MSG_IMPRINT_get_msg(mi);
	const ASN1_OBJECT *alg;
	const EVP_MD *md;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	X509_ALGOR_get0(&alg, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
	md = imprint_md(alg);
	if (ASN1_STRING_length(msg) != EVP_MD_get_size(md))
		return fail(v, TSA_CHECK_IMPRINT, "the imprint is %d bytes, not a %s digest",
			    ASN1_STRING_length(msg), v->t->hash);
	if (v->expect->data) {
		if (!EVP_Digest(v->expect->data, v->expect->len, digest, &n, md, NULL))
			return fail(v, TSA_CHECK_IMPRINT, "cannot hash the data: %s", ssl_reason());
	} else if (v->expect->digest) {
		if (v->expect->digest_hash && strcmp(v->expect->digest_hash, v->t->hash))
			return fail(v, TSA_CHECK_IMPRINT, "the imprint is %s, not %s as asked",
				    v->t->hash, v->expect->digest_hash);
		if (v->expect->digest_len > sizeof(digest))
			return fail(v, TSA_CHECK_IMPRINT, "the expected digest is too long");
		memcpy(digest, v->expect->digest, v->expect->digest_len);
		n = (unsigned int)v->expect->digest_len;
	} else {
		skip(v, TSA_CHECK_IMPRINT, "no data to compare with");
		return 0;
	}
	if ((int)n != ASN1_STRING_length(msg) || memcmp(digest, ASN1_STRING_get0_data(msg), n))
		return fail(v, TSA_CHECK_IMPRINT, "the token stamps another %s digest than the "
			    "data's", v->t->hash);
	return pass(v, TSA_CHECK_IMPRINT);
}

static int check_nonce(struct verifier *v)
{
	const ASN1_INTEGER *nonce = TS_TST_INFO_get_nonce(v->tst);
	uint64_t value;

	if (!v->expect->has_nonce) {
		skip(v, TSA_CHECK_NONCE, "a stored token has no request to compare with");
		return 0;
	}
	if (!nonce)
		return fail(v, TSA_CHECK_NONCE, "the response has no nonce; the request had one");
	if (!ASN1_INTEGER_get_uint64(&value, nonce) || value != v->expect->nonce) {
		ERR_clear_error();
		return fail(v, TSA_CHECK_NONCE, "the response's nonce is not the request's: it may "
			    "be replayed");
	}
	return pass(v, TSA_CHECK_NONCE);
}

static int check_time(struct verifier *v)
{
	time_t now = v->expect->now ? v->expect->now : time(NULL);
	time_t gen = v->t->gen_time;
	char clock[40];

	format_time(clock, sizeof(clock), now);
	if (v->expect->fresh && (gen > now + TSA_CLOCK_SKEW || gen < now - TSA_CLOCK_SKEW))
		return fail(v, TSA_CHECK_TIME, "genTime %s is %lld seconds from this machine's "
			    "clock (%s); more than %d is implausible", v->t->gen_time_text,
			    (long long)(gen > now ? gen - now : now - gen), clock, TSA_CLOCK_SKEW);
	if (gen > now + TSA_CLOCK_SKEW)
		return fail(v, TSA_CHECK_TIME, "genTime %s is later than now (%s)",
			    v->t->gen_time_text, clock);
	if (v->expect->not_before && gen < v->expect->not_before - TSA_CLOCK_SKEW) {
		char before[40];

		format_time(before, sizeof(before), v->expect->not_before);
		return fail(v, TSA_CHECK_TIME, "genTime %s is earlier than the event's commit (%s)",
			    v->t->gen_time_text, before);
	}
	return pass(v, TSA_CHECK_TIME);
}

/* Every check of a token; those that need a failed one are skipped. */
static void check_token_bytes(struct verifier *v, const unsigned char *der, long len)
{
	if (check_token_format(v, der, len) < 0) {
		skip_after(v, TSA_CHECK_SIGNER, TSA_CHECK_TIME, TSA_CHECK_TOKEN);
		return;
	}
	if (check_signer(v) < 0) {
		skip_after(v, TSA_CHECK_EKU, TSA_CHECK_NAME, TSA_CHECK_SIGNER);
	} else {
		check_eku(v);
		check_chain(v);
		check_ess(v);
		check_signature(v);
		check_name(v);
	}
	if (check_hash(v) < 0)
		skip_after(v, TSA_CHECK_IMPRINT, TSA_CHECK_IMPRINT, TSA_CHECK_HASH);
	else
		check_imprint(v);
	check_nonce(v);
	check_time(v);
}

static void verifier_release(struct verifier *v)
{
	CMS_ContentInfo_free(v->cms);
	TS_TST_INFO_free(v->tst);
	sk_X509_pop_free(v->certs, X509_free);
	sk_X509_free(v->pool);
}

/* The first failed check decides the result and the error. */
static int finish(struct tsa_token *t)
{
	t->failed = -1;
	for (int id = 0; id < TSA_CHECK_NR; id++) {
		if (t->checks[id].outcome == TSA_FAILED) {
			t->failed = id;
			box_error_set("%s: %s", check_names[id],
				      t->checks[id].detail ? t->checks[id].detail : "failed");
			return -1;
		}
	}
	return 0;
}

static void check_response_into(struct tsa_token *t, const unsigned char *der, size_t len,
				const struct tsa_expect *expect, const struct tsa_anchors *anchors)
{
	struct verifier v = { t, expect, anchors, NULL, NULL, NULL, NULL, NULL, NULL };
	const unsigned char *status = NULL, *token = NULL;
	long status_len = 0, token_len;
	int granted;

	ERR_clear_error();
	if (split_response(&v, &status, &status_len, &token, &token_len, der, len) < 0) {
		skip_after(&v, TSA_CHECK_STATUS, TSA_CHECK_TIME, TSA_CHECK_FORMAT);
		return;
	}
	granted = check_status(&v, status, status_len, token != NULL);
	if (granted <= 0) {
		skip_after(&v, TSA_CHECK_TOKEN, TSA_CHECK_TIME, TSA_CHECK_STATUS);
		return;
	}
	check_token_bytes(&v, token, token_len);
	verifier_release(&v);
}

int tsa_check_response(struct tsa_token *out, const unsigned char *der, size_t len,
		       const struct tsa_expect *expect, const struct tsa_anchors *anchors)
{
	tsa_token_release(out);
	check_response_into(out, der, len, expect, anchors);
	return finish(out);
}

int tsa_check_token(struct tsa_token *out, const unsigned char *der, size_t len,
		    const struct tsa_expect *expect, const struct tsa_anchors *anchors)
{
	struct verifier v = { out, expect, anchors, NULL, NULL, NULL, NULL, NULL, NULL };

	tsa_token_release(out);
	ERR_clear_error();
	skip(&v, TSA_CHECK_FORMAT, "a bare token");
	skip(&v, TSA_CHECK_STATUS, "a bare token has no status");
	if (len > LONG_MAX) {
		fail(&v, TSA_CHECK_TOKEN, "the token is too large");
		return finish(out);
	}
	check_token_bytes(&v, der, (long)len);
	verifier_release(&v);
	return finish(out);
}

/* ---- the request -------------------------------------------------------- */

void tsa_request_release(struct tsa_request *r)
{
	OPENSSL_free(r->der);
	memset(r, 0, sizeof(*r));
}

int tsa_request_make(struct tsa_request *out, const void *data, size_t len)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = ASN1_INTEGER_new();
	unsigned char random[8], *der = NULL;
	unsigned int n = 0;
	int der_len, ret = -1;

	memset(out, 0, sizeof(*out));
	if (!req || !mi || !alg || !nonce ||
	    !EVP_Digest(data, len, out->digest, &n, EVP_sha256(), NULL) ||
	    !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, out->digest, (int)n) ||
	    !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
	    !TS_REQ_set_cert_req(req, 1))
		goto out;
	/* A positive 63-bit nonce, never zero. */
	do {
		if (RAND_bytes(random, sizeof(random)) != 1)
			goto out;
		random[0] &= 0x7f;
		out->nonce = 0;
		for (size_t i = 0; i < sizeof(random); i++)
			out->nonce = out->nonce << 8 | random[i];
	} while (!out->nonce);
	if (!ASN1_INTEGER_set_uint64(nonce, out->nonce) || !TS_REQ_set_nonce(req, nonce))
		goto out;
	der_len = i2d_TS_REQ(req, &der);
	if (der_len <= 0)
		goto out;
	out->der = der;
	out->len = (size_t)der_len;
	ret = 0;
out:
	if (ret < 0)
		box_error_set("cannot make the timestamp request: %s", ssl_reason());
	ASN1_INTEGER_free(nonce);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return ret;
}

int tsa_ask(struct tsa_token *token, struct buf *response, const char *url,
	    const struct tsa_request *req, time_t not_before, const struct tsa_anchors *anchors,
	    const struct http_options *http)
{
	struct http_response r = HTTP_RESPONSE_INIT;
	struct tsa_expect expect = {
		.digest = req->digest, .digest_len = sizeof(req->digest), .digest_hash = "sha256",
		.has_nonce = 1, .nonce = req->nonce, .fresh = 1, .not_before = not_before,
	};
	int ret = TSA_UNANSWERED;

	if (http_post(&r, url, TSA_QUERY_TYPE, req->der, req->len, http) < 0)
		goto out;
	if (r.status >= 300 && r.status < 400) {
		struct buf shown = BUF_INIT;

		box_error_set("'%s' answered with a redirect (HTTP %ld%s%s); redirects are not followed",
			      url, r.status, r.location ? " to " : "",
			      r.location ? http_url_display(&shown, r.location) : "");
		buf_release(&shown);
		goto out;
	}
	if (r.status != 200) {
		box_error_set("'%s' answered HTTP %ld instead of a timestamp", url, r.status);
		goto out;
	}
	if (tsa_check_response(token, (const unsigned char *)r.body.ptr, r.body.len, &expect,
			       anchors) < 0) {
		box_error_wrap("'%s'", url);
		ret = token->failed == TSA_CHECK_STATUS ? TSA_UNANSWERED : TSA_INVALID;
		goto out;
	}
	buf_add(response, r.body.ptr, r.body.len);
	ret = TSA_OK;
out:
	http_response_release(&r);
	return ret;
}

/* ---- timestamp tags ----------------------------------------------------- */

int tsa_tag_message(struct buf *out, const char *event, const char *payload_sha256,
		    const char *url, const char *gen_time, const unsigned char *der, size_t len)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *b64 = xmalloc(EVP_ENCODE_LENGTH(len) + 1);
	int n = 0, total = 0, ret = -1;

	if (!ctx || len > INT_MAX / 2) {
		box_error_set("cannot encode the timestamp response");
		goto out;
	}
	EVP_EncodeInit(ctx);
	if (EVP_EncodeUpdate(ctx, b64, &n, der, (int)len) < 0) {
		box_error_set("cannot encode the timestamp response");
		goto out;
	}
	total = n;
	EVP_EncodeFinal(ctx, b64 + total, &n);
	total += n;
	buf_addf(out, "RFC 3161 timestamp of the %s event\n\n", event);
	buf_addf(out, "Event: %s\n", event);
	buf_addf(out, "Payload-SHA256: %s\n", payload_sha256);
	buf_addf(out, "TSA: %s\n", url);
	buf_addf(out, "Gen-Time: %s\n", gen_time);
	buf_adds(out, TSA_BEGIN "\n");
	buf_add(out, b64, (size_t)total);
	buf_adds(out, TSA_END "\n");
	ret = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(b64);
	return ret;
}

void tsa_tag_release(struct tsa_tag *t)
{
	free(t->event);
	free(t->url);
	free(t->gen_time);
	free(t->der);
	memset(t, 0, sizeof(*t));
}

static int is_lower_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
			return 0;
	return 1;
}

static int is_base64_line(const char *s, size_t len)
{
	if (!len || len > 76)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/' && s[i] != '=')
			return 0;
	return 1;
}

static int set_field(char **field, const char *key, const char *value, size_t len)
{
	if (*field) {
		box_error_set("the tag message has two '%s' lines", key);
		return -1;
	}
	*field = xstrndup(value, len);
	return 0;
}

static int decode_base64(struct tsa_tag *out, const struct buf *b64)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n = 0, total = 0, ret = -1;

	out->der = xmalloc(b64->len / 4 * 3 + 3);
	if (!ctx || b64->len > INT_MAX)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out->der, &n, (const unsigned char *)b64->ptr, (int)b64->len) < 0)
		goto out;
	total = n;
	if (EVP_DecodeFinal(ctx, out->der + total, &n) < 0)
		goto out;
	total += n;
	out->der_len = (size_t)total;
	ret = total > 0 ? 0 : -1;
out:
	if (ret < 0)
		box_error_set("the timestamp response in the tag is not valid base64");
	EVP_ENCODE_CTX_free(ctx);
	return ret;
}

int tsa_tag_parse(struct tsa_tag *out, const char *message, size_t len)
{
	const char *p = message, *end = message + len;
	enum { SUBJECT, BLANK, FIELDS, BLOCK, DONE } state = SUBJECT;
	struct buf subject = BUF_INIT, b64 = BUF_INIT, expected = BUF_INIT;
	char *payload = NULL;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *colon;

		if (!nl) {
			box_error_set("the tag message does not end with a newline");
			goto out;
		}
		if (memchr(p, '\r', n) || memchr(p, '\0', n)) {
			box_error_set("the tag message holds a carriage return or NUL");
			goto out;
		}
		switch (state) {
		case SUBJECT:
			buf_add(&subject, p, n);
			state = BLANK;
			break;
		case BLANK:
			if (n) {
				box_error_set("the tag message's second line is not blank");
				goto out;
			}
			state = FIELDS;
			break;
		case FIELDS:
			if (n == strlen(TSA_BEGIN) && !memcmp(p, TSA_BEGIN, n)) {
				state = BLOCK;
				break;
			}
			colon = memchr(p, ':', n);
			if (!colon || colon + 1 >= p + n || colon[1] != ' ') {
				box_error_set("the tag message has a line that is not 'Key: value': '%.*s'",
					      (int)(n > 60 ? 60 : n), p);
				goto out;
			}
#define FIELD(key, field) \
			else if ((size_t)(colon - p) == strlen(key) && !memcmp(p, key, strlen(key))) { \
				if (set_field(field, key, colon + 2, (size_t)(p + n - colon - 2)) < 0) \
					goto out; \
			}
			if (0) {
			}
			FIELD("Event", &out->event)
			FIELD("Payload-SHA256", &payload)
			FIELD("TSA", &out->url)
			FIELD("Gen-Time", &out->gen_time)
			else {
				box_error_set("the tag message has an unknown field '%.*s'",
					      (int)(colon - p > 40 ? 40 : colon - p), p);
				goto out;
			}
#undef FIELD
			break;
		case BLOCK:
			if (n == strlen(TSA_END) && !memcmp(p, TSA_END, n)) {
				state = DONE;
				break;
			}
			if (!is_base64_line(p, n)) {
				box_error_set("the timestamp response in the tag is not base64");
				goto out;
			}
			buf_add(&b64, p, n);
			break;
		case DONE:
			box_error_set("the tag message goes on after its END line");
			goto out;
		}
		p = nl + 1;
	}
	if (state != DONE) {
		box_error_set("the tag message has no complete '%s' block", TSA_BEGIN);
		goto out;
	}
	if (!out->event || !payload || !out->url || !out->gen_time) {
		box_error_set("the tag message lacks a%s line", !out->event ? "n 'Event:'" :
			      !payload ? " 'Payload-SHA256:'" : !out->url ? " 'TSA:'" : " 'Gen-Time:'");
		goto out;
	}
	if (!tsa_event_name_ok(out->event)) {
		box_error_set("the tag message names an unknown event '%s'", out->event);
		goto out;
	}
	buf_addf(&expected, "RFC 3161 timestamp of the %s event", out->event);
	if (strcmp(subject.ptr ? subject.ptr : "", expected.ptr)) {
		box_error_set("the tag message's first line is not '%s'", expected.ptr);
		goto out;
	}
	if (!is_lower_hex(payload, 64)) {
		box_error_set("the tag's Payload-SHA256 is not 64 lower-case hex digits");
		goto out;
	}
	memcpy(out->payload_sha256, payload, 65);
	if (!http_url_ok(out->url)) {
		box_error_set("the tag's TSA is not an http:// or https:// URL");
		goto out;
	}
	ret = decode_base64(out, &b64);
out:
	if (ret < 0)
		tsa_tag_release(out);
	free(payload);
	buf_release(&subject);
	buf_release(&b64);
	buf_release(&expected);
	return ret;
}

int tsa_tag_name_parse(char **event, unsigned long *n, const char *name)
{
	const char *p = name, *dash;
	char *end;
	char ev[32];

	*event = NULL;
	if (starts_with(p, "refs/tags/"))
		p += strlen("refs/tags/");
	if (!starts_with(p, "box/"))
		return -1;
	p += strlen("box/");
	dash = strrchr(p, '-');
	if (!dash || (size_t)(dash - p) >= sizeof(ev))
		return -1;
	memcpy(ev, p, (size_t)(dash - p));
	ev[dash - p] = '\0';
	if (!tsa_event_name_ok(ev) || !isdigit((unsigned char)dash[1]) || dash[1] == '0')
		return -1;
	errno = 0;
	*n = strtoul(dash + 1, &end, 10);
	if (errno || *end)
		return -1;
	*event = xstrdup(ev);
	return 0;
}

/* ---- events ------------------------------------------------------------- */

int tsa_event_name_ok(const char *name)
{
	for (size_t i = 0; event_names[i]; i++)
		if (!strcmp(name, event_names[i]))
			return 1;
	return 0;
}

int tsa_payload_event(char **event, const char *payload, size_t len, const git_oid *commit)
{
	char hex[GIT_OID_HEXSZ + 1];
	json_error_t err;
	json_t *root, *ev, *c;
	int ret = -1;

	*event = NULL;
	git_oid_tostr(hex, sizeof(hex), commit);
	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		box_error_set("the manifest on %.12s is not JSON: %s (line %d)", hex, err.text, err.line);
		return -1;
	}
	if (!json_is_object(root)) {
		box_error_set("the manifest on %.12s is not a JSON object", hex);
		goto out;
	}
	ev = json_object_get(root, "event");
	if (!json_is_string(ev)) {
		box_error_set("the manifest on %.12s has no \"event\" name", hex);
		goto out;
	}
	if (!tsa_event_name_ok(json_string_value(ev))) {
		struct buf q = BUF_INIT;

		box_error_set("the manifest on %.12s records an unknown event '%s'", hex,
			      quote_for_message(&q, json_string_value(ev)));
		buf_release(&q);
		goto out;
	}
	c = json_object_get(root, "commit");
	if (!json_is_string(c)) {
		box_error_set("the manifest on %.12s has no \"commit\"", hex);
		goto out;
	}
	if (strcmp(json_string_value(c), hex)) {
		struct buf q = BUF_INIT;

		box_error_set("the manifest on %.12s names another commit, '%s'", hex,
			      quote_for_message(&q, json_string_value(c)));
		buf_release(&q);
		goto out;
	}
	*event = xstrdup(json_string_value(ev));
	ret = 0;
out:
	json_decref(root);
	return ret;
}

int tsa_policy_wants(const struct policy *p, const char *event)
{
	switch (p->timestamp_when) {
	case TIMESTAMP_NONE:
		return 0;
	case TIMESTAMP_SEAL:
		return !strcmp(event, "seal");
	case TIMESTAMP_EVERY_EVENT:
		return 1;
	}
	return 0;
}

/* A commit and the timestamp tag that stamps it. */
struct stamp {
	git_oid commit;
	unsigned long n;
	char *tag;
};

struct stamps {
	struct stamp *items;
	size_t nr, alloc;
};

static void stamps_release(struct stamps *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->items[i].tag);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

static int stamp_cmp(const void *a, const void *b)
{
	const struct stamp *x = a, *y = b;
	int c = git_oid_cmp(&x->commit, &y->commit);

	return c ? c : x->n < y->n ? -1 : x->n > y->n;
}

/* Is `ref` an annotated timestamp tag? Then add what it stamps. */
static void stamps_consider(struct stamps *s, git_repository *repo, git_reference *ref)
{
	const char *name = git_reference_name(ref);
	struct tsa_tag parsed = TSA_TAG_INIT;
	git_tag *tag = NULL;
	char *event = NULL;
	unsigned long n;

	if (git_reference_type(ref) != GIT_REFERENCE_DIRECT || tsa_tag_name_parse(&event, &n, name) < 0)
		goto out;
	if (git_tag_lookup(&tag, repo, git_reference_target(ref)) < 0 ||
	    git_tag_target_type(tag) != GIT_OBJECT_COMMIT)
		goto out;
	if (tsa_tag_parse(&parsed, git_tag_message(tag), strlen(git_tag_message(tag))) < 0 ||
	    strcmp(parsed.event, event))
		goto out;
	if (s->nr == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 16;
		s->items = xrealloc(s->items, s->alloc * sizeof(*s->items));
	}
	git_oid_cpy(&s->items[s->nr].commit, git_tag_target_id(tag));
	s->items[s->nr].n = n;
	s->items[s->nr].tag = xstrdup(name + strlen("refs/tags/"));
	s->nr++;
out:
	git_error_clear();
	tsa_tag_release(&parsed);
	git_tag_free(tag);
	free(event);
}

static int stamps_load(struct stamps *s, git_repository *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int err;

	memset(s, 0, sizeof(*s));
	if (git_reference_iterator_glob_new(&it, repo, BOX_TAG_PREFIX "*") < 0) {
		box_error_from_git("cannot list the timestamp tags");
		return -1;
	}
	while (!(err = git_reference_next(&ref, it))) {
		stamps_consider(s, repo, ref);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the timestamp tags");
		stamps_release(s);
		return -1;
	}
	if (s->nr)
		qsort(s->items, s->nr, sizeof(*s->items), stamp_cmp);
	return 0;
}

/* The first tag (lowest n) that stamps `commit`, or NULL. */
static const char *stamps_find(const struct stamps *s, const git_oid *commit)
{
	size_t lo = 0, hi = s->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (git_oid_cmp(&s->items[mid].commit, commit) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nr && git_oid_equal(&s->items[lo].commit, commit) ? s->items[lo].tag : NULL;
}

int tsa_find_tag(char **tag, git_repository *repo, const git_oid *commit)
{
	struct stamps s;
	const char *found;

	*tag = NULL;
	if (stamps_load(&s, repo) < 0)
		return -1;
	found = stamps_find(&s, commit);
	if (found)
		*tag = xstrdup(found);
	stamps_release(&s);
	return 0;
}

struct oid_set {
	git_oid *items;
	size_t nr, alloc;
};

static int collect_note(const git_oid *blob_id, const git_oid *annotated_id, void *payload)
{
	struct oid_set *s = payload;

	if (s->nr == s->alloc) {
		s->alloc = s->alloc ? 2 * s->alloc : 64;
		s->items = xrealloc(s->items, s->alloc * sizeof(*s->items));
	}
	git_oid_cpy(&s->items[s->nr++], annotated_id);
	return 0;
}

static int oid_cmp(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

static int noted_commits(struct oid_set *s, git_repository *repo)
{
	int err;

	memset(s, 0, sizeof(*s));
	err = git_note_foreach(repo, BOX_NOTES_REF, collect_note, s);
	if (err == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (err < 0) {
		box_error_from_git("cannot list the notes in %s", BOX_NOTES_REF);
		free(s->items);
		s->items = NULL;
		return -1;
	}
	if (s->nr)
		qsort(s->items, s->nr, sizeof(*s->items), oid_cmp);
	return 0;
}

void tsa_events_free(struct tsa_event *events, size_t nr)
{
	for (size_t i = 0; i < nr; i++) {
		free(events[i].event);
		free(events[i].tag);
	}
	free(events);
}

static int events_walk(struct tsa_event **out, size_t *nr, const struct box *b, int pending_only)
{
	struct oid_set notes;
	struct stamps stamps;
	struct buf payload = BUF_INIT;
	git_commit *commit = NULL, *parent;
	struct tsa_event *events = NULL;
	size_t alloc = 0;
	int ret = -1;

	*out = NULL;
	*nr = 0;
	if (pending_only && b->policy.timestamp_when == TIMESTAMP_NONE)
		return 0;
	if (noted_commits(&notes, b->repo) < 0)
		return -1;
	if (!notes.nr)
		return 0;   /* no event at all: nothing to walk for */
	if (stamps_load(&stamps, b->repo) < 0) {
		free(notes.items);
		return -1;
	}
	if (git_commit_lookup(&commit, b->repo, &b->tip) < 0) {
		box_error_from_git("cannot read the box branch");
		goto out;
	}
	for (;;) {
		const git_oid *id = git_commit_id(commit);
		const char *tag;
		char *event = NULL;
		int wanted;

		if (bsearch(id, notes.items, notes.nr, sizeof(*notes.items), oid_cmp)) {
			buf_reset(&payload);
			if (box_note_read(&payload, NULL, b->repo, id) < 0)
				goto out;
			/* A note that is not a manifest is verify's to report, not ours. */
			if (tsa_payload_event(&event, payload.ptr ? payload.ptr : "", payload.len, id) < 0)
				box_error_clear();
		}
		if (event) {
			tag = stamps_find(&stamps, id);
			wanted = tsa_policy_wants(&b->policy, event);
			if (!pending_only || (wanted && !tag)) {
				if (*nr == alloc) {
					alloc = alloc ? 2 * alloc : 8;
					events = xrealloc(events, alloc * sizeof(*events));
				}
				git_oid_cpy(&events[*nr].commit, id);
				events[*nr].event = event;
				events[*nr].tag = tag ? xstrdup(tag) : NULL;
				events[*nr].wanted = wanted;
				(*nr)++;
				event = NULL;
			}
			free(event);
		}
		if (git_oid_equal(id, &b->id) || !git_commit_parentcount(commit))
			break;
		if (git_commit_parent(&parent, commit, 0) < 0) {
			box_error_from_git("cannot walk the box branch");
			goto out;
		}
		git_commit_free(commit);
		commit = parent;
	}
	*out = events;
	events = NULL;
	ret = 0;
out:
	if (ret < 0) {
		tsa_events_free(events, *nr);
		*nr = 0;
	}
	git_commit_free(commit);
	buf_release(&payload);
	stamps_release(&stamps);
	free(notes.items);
	return ret;
}

int tsa_events(struct tsa_event **out, size_t *nr, const struct box *b)
{
	return events_walk(out, nr, b, 0);
}

int tsa_pending(struct tsa_event **out, size_t *nr, const struct box *b)
{
	return events_walk(out, nr, b, 1);
}

/* ---- stamping an event -------------------------------------------------- */

void tsa_stamp_release(struct tsa_stamp *s)
{
	for (size_t i = 0; i < s->attempts_nr; i++) {
		free(s->attempts[i].url);
		free(s->attempts[i].error);
	}
	free(s->attempts);
	free(s->tag);
	free(s->url);
	tsa_token_release(&s->token);
	memset(s, 0, sizeof(*s));
	s->token.failed = -1;
}

static void add_attempt(struct tsa_stamp *s, const char *url, int result)
{
	struct tsa_attempt *a;

	s->attempts = xrealloc(s->attempts, (s->attempts_nr + 1) * sizeof(*s->attempts));
	a = &s->attempts[s->attempts_nr++];
	a->url = xstrdup(url);
	a->result = result;
	a->error = result == TSA_OK ? NULL : xstrdup(box_error_last());
}

int tsa_policy_anchors(struct tsa_anchors **out, git_repository *repo, const struct policy *p,
		       const git_oid *commit)
{
	struct buf pem = BUF_INIT;
	char *origin;
	int ret;

	if (!p->tsa_ca) {
		box_error_set("no TSA trust anchors: the policy's timestamp.ca is not set");
		return -1;
	}
	if (repo_read_blob_at(&pem, repo, commit, p->tsa_ca, TSA_MAX_ANCHORS_FILE) < 0) {
		box_error_wrap("cannot read the policy's TSA trust anchors");
		return -1;
	}
	origin = xstrfmt("%.12s:%s", git_oid_tostr_s(commit), p->tsa_ca);
	ret = tsa_anchors_load(out, pem.ptr ? pem.ptr : "", pem.len, origin);
	free(origin);
	buf_release(&pem);
	return ret;
}

/* The n of the next tag for `event`: one more than the highest name taken. */
static int next_tag_number(unsigned long *out, git_repository *repo, const char *event)
{
	git_reference_iterator *it = NULL;
	const char *name;
	char *glob = xstrfmt(BOX_TAG_PREFIX "%s-*", event), *ev;
	unsigned long n, max = 0;
	int err;

	if (git_reference_iterator_glob_new(&it, repo, glob) < 0) {
		box_error_from_git("cannot list the timestamp tags");
		free(glob);
		return -1;
	}
	while (!(err = git_reference_next_name(&name, it))) {
		if (tsa_tag_name_parse(&ev, &n, name) < 0)
			continue;
		if (!strcmp(ev, event) && n > max)
			max = n;
		free(ev);
	}
	git_reference_iterator_free(it);
	free(glob);
	if (err != GIT_ITEROVER) {
		box_error_from_git("cannot list the timestamp tags");
		return -1;
	}
	if (max == ULONG_MAX) {
		box_error_set("no tag number is left for the %s event", event);
		return -1;
	}
	*out = max + 1;
	return 0;
}

/*
 * Hold the lock of refs/tags/box/<event> (a name never used by a tag)
 * while the next number is chosen and the tag created, so that stampers
 * that race are served one after the other.
 */
static int lock_event_tags(git_transaction **out, git_repository *repo, const char *event)
{
	char *name = xstrfmt(BOX_TAG_PREFIX "%s", event);
	int err = 0;

	*out = NULL;
	if (git_transaction_new(out, repo) < 0) {
		box_error_from_git("cannot lock the timestamp tags");
		free(name);
		return -1;
	}
	for (int tries = 0; tries < TSA_LOCK_TRIES; tries++) {
		struct timespec pause = { 0, 50 * 1000 * 1000 };

		err = git_transaction_lock_ref(*out, name);
		if (err != GIT_ELOCKED)
			break;
		git_error_clear();
		nanosleep(&pause, NULL);
	}
	if (err < 0) {
		if (err == GIT_ELOCKED)
			box_error_set("cannot lock '%s': another stamper holds it, or a stale "
				      "'%s.lock' is left behind", name, name);
		else
			box_error_from_git("cannot lock '%s'", name);
		git_transaction_free(*out);
		*out = NULL;
	}
	free(name);
	return err < 0 ? -1 : 0;
}

static int store_tag(struct tsa_stamp *out, git_repository *repo, const git_oid *commit,
		     const char *event, const struct buf *response)
{
	git_object *target = NULL;
	git_signature *tagger = NULL;
	git_transaction *lock = NULL;
	struct buf message = BUF_INIT;
	unsigned long n;
	char *name = NULL;
	git_oid id;
	int ret = -1;

	if (git_object_lookup(&target, repo, commit, GIT_OBJECT_COMMIT) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		goto out;
	}
	if (repo_signature(&tagger, repo, 1) < 0)
		goto out;
	if (tsa_tag_message(&message, event, out->payload_sha256, out->url, out->token.gen_time_text,
			    (const unsigned char *)response->ptr, response->len) < 0 ||
	    lock_event_tags(&lock, repo, event) < 0)
		goto out;
	/* Another stamper's tag for this very event may have come while the TSA answered. */
	if (tsa_find_tag(&out->tag, repo, commit) < 0)
		goto out;
	if (out->tag) {
		ret = 0;
		goto out;
	}
	if (next_tag_number(&n, repo, event) < 0)
		goto out;
	name = xstrfmt("box/%s-%lu", event, n);
	if (git_tag_create(&id, repo, name, target, tagger, message.ptr, 0) < 0) {
		box_error_from_git("cannot create the tag '%s'", name);
		goto out;
	}
	out->tag = name;
	name = NULL;
	out->stored = 1;
	ret = 0;
out:
	git_transaction_free(lock);
	free(name);
	buf_release(&message);
	git_signature_free(tagger);
	git_object_free(target);
	return ret;
}

int tsa_stamp_event(struct tsa_stamp *out, git_repository *repo, const struct policy *policy,
		    const git_oid *commit, const char *event, const char *payload, size_t len,
		    const struct tsa_stamp_options *opts)
{
	const struct strlist *urls = opts && opts->tsa && opts->tsa->nr ? opts->tsa : &policy->tsa;
	struct http_options http = HTTP_OPTIONS_INIT;
	struct tsa_request req = TSA_REQUEST_INIT;
	struct tsa_anchors *anchors = NULL;
	struct buf response = BUF_INIT;
	git_commit *c = NULL;
	time_t commit_time;
	int invalid = 0, ret = TSA_ERROR;

	tsa_stamp_release(out);
	if (!tsa_event_name_ok(event)) {
		box_error_set("'%s' is not an event git box timestamps", event);
		return TSA_ERROR;
	}
	if (tsa_find_tag(&out->tag, repo, commit) < 0)
		return TSA_ERROR;
	if (out->tag)
		return TSA_OK;   /* stamped already; stored stays 0 */
	if (!urls->nr) {
		box_error_set("no TSA to ask: the policy's timestamp.tsa is empty");
		return TSA_ERROR;
	}
	for (size_t i = 0; i < urls->nr; i++)
		if (http_url_check(urls->items[i]) < 0)
			return TSA_ERROR;
	if (git_commit_lookup(&c, repo, commit) < 0) {
		box_error_from_git("cannot read commit %.12s", git_oid_tostr_s(commit));
		return TSA_ERROR;
	}
	/* A stamp older than its commit would not verify: refuse to store one. */
	commit_time = (time_t)git_commit_committer(c)->when.time;
	git_commit_free(c);
	if (opts && opts->tsa_ca ? tsa_anchors_load_file(&anchors, opts->tsa_ca) < 0
	    : tsa_policy_anchors(&anchors, repo, policy, commit) < 0)
		return TSA_ERROR;
	if (tsa_request_make(&req, payload, len) < 0)
		goto out;
	sha256_hex(out->payload_sha256, payload, len);
	if (opts && opts->timeout_ms > 0) {
		http.timeout_ms = opts->timeout_ms;
		if (http.connect_timeout_ms > opts->timeout_ms)
			http.connect_timeout_ms = opts->timeout_ms;
	}
	http.max_response = TSA_MAX_RESPONSE;

	for (size_t i = 0; i < urls->nr && !out->url; i++) {
		struct tsa_token token = TSA_TOKEN_INIT;
		int r = tsa_ask(&token, &response, urls->items[i], &req, commit_time, anchors, &http);

		add_attempt(out, urls->items[i], r);
		if (r == TSA_OK) {
			out->url = xstrdup(urls->items[i]);
			out->token = token;
			break;
		}
		invalid |= r == TSA_INVALID;
		tsa_token_release(&token);
		buf_reset(&response);
	}
	if (!out->url) {
		const char *last = out->attempts[out->attempts_nr - 1].error;

		ret = invalid ? TSA_INVALID : TSA_UNANSWERED;
		if (out->attempts_nr == 1)
			box_error_set("%s", last);
		else
			box_error_set("none of the %zu TSAs gave a valid timestamp; the last: %s",
				      out->attempts_nr, last);
		goto out;
	}
	ret = store_tag(out, repo, commit, event, &response) < 0 ? TSA_ERROR : TSA_OK;
out:
	buf_release(&response);
	tsa_request_release(&req);
	tsa_anchors_free(anchors);
	return ret;
}

/* ---- checking a stored timestamp --------------------------------------- */

static int tag_fail(struct tsa_token *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tag_fail(struct tsa_token *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(t, TSA_CHECK_TAG, TSA_FAILED, fmt, ap);
	va_end(ap);
	return -1;
}

/* Read the tag, its commit and the commit's manifest payload; check they agree. */
static int read_stored(struct tsa_token *t, struct tsa_tag *tag, struct buf *payload,
		       git_time_t *commit_time, git_repository *repo, const char *tag_name)
{
	git_tag *obj = NULL;
	git_commit *commit = NULL;
	git_oid id;
	char *name_event = NULL, *full = NULL, *event = NULL, sha[65];
	unsigned long n;
	int r, ret = -1;

	if (tsa_tag_name_parse(&name_event, &n, tag_name) < 0) {
		tag_fail(t, "'%s' is not a timestamp tag name (box/<event>-<n>)", tag_name);
		goto out;
	}
	full = starts_with(tag_name, "refs/") ? xstrdup(tag_name) : xstrfmt("refs/tags/%s", tag_name);
	if (git_reference_name_to_id(&id, repo, full) < 0) {
		tag_fail(t, "there is no tag '%s'", tag_name);
		goto out;
	}
	if (git_tag_lookup(&obj, repo, &id) < 0) {
		tag_fail(t, "'%s' is not an annotated tag", tag_name);
		goto out;
	}
	if (git_tag_target_type(obj) != GIT_OBJECT_COMMIT ||
	    git_commit_lookup(&commit, repo, git_tag_target_id(obj)) < 0) {
		tag_fail(t, "'%s' does not point at a commit", tag_name);
		goto out;
	}
	*commit_time = git_commit_committer(commit)->when.time;
	if (tsa_tag_parse(tag, git_tag_message(obj), strlen(git_tag_message(obj))) < 0) {
		tag_fail(t, "'%s': %s", tag_name, box_error_last());
		goto out;
	}
	if (strcmp(tag->event, name_event)) {
		tag_fail(t, "'%s' says it stamps the %s event", tag_name, tag->event);
		goto out;
	}
	r = box_note_read(payload, NULL, repo, git_commit_id(commit));
	if (r) {
		tag_fail(t, "'%s' points at %.12s, which has no manifest note%s%s", tag_name,
			 git_oid_tostr_s(git_commit_id(commit)), r < 0 ? ": " : "",
			 r < 0 ? box_error_last() : "");
		goto out;
	}
	if (tsa_payload_event(&event, payload->ptr ? payload->ptr : "", payload->len,
			      git_commit_id(commit)) < 0) {
		tag_fail(t, "%s", box_error_last());
		goto out;
	}
	if (strcmp(event, tag->event)) {
		tag_fail(t, "'%s' stamps the %s event, but the manifest on %.12s records %s", tag_name,
			 tag->event, git_oid_tostr_s(git_commit_id(commit)), event);
		goto out;
	}
	sha256_hex(sha, payload->ptr ? payload->ptr : "", payload->len);
	if (strcmp(sha, tag->payload_sha256)) {
		tag_fail(t, "'%s' names payload %.16s..., but the manifest's is %.16s...", tag_name,
			 tag->payload_sha256, sha);
		goto out;
	}
	ret = 0;
out:
	free(event);
	free(full);
	free(name_event);
	git_commit_free(commit);
	git_tag_free(obj);
	return ret;
}

int tsa_check_tag(struct tsa_token *out, struct tsa_tag *out_tag, git_repository *repo,
		  const char *tag_name, const struct tsa_anchors *anchors, time_t now)
{
	struct tsa_tag tag = TSA_TAG_INIT;
	struct buf payload = BUF_INIT;
	git_time_t commit_time = 0;
	struct verifier v = { out, NULL, anchors, NULL, NULL, NULL, NULL, NULL, NULL };
	int ret;

	tsa_token_release(out);
	if (read_stored(out, &tag, &payload, &commit_time, repo, tag_name) < 0) {
		skip_after(&v, TSA_CHECK_FORMAT, TSA_CHECK_TIME, TSA_CHECK_TAG);
	} else {
		struct tsa_expect expect = {
			.data = payload.ptr ? payload.ptr : "", .len = payload.len,
			.not_before = (time_t)commit_time, .now = now,
		};

		check_response_into(out, tag.der, tag.der_len, &expect, anchors);
		if (out->checks[TSA_CHECK_TOKEN].outcome == TSA_PASSED &&
		    strcmp(tag.gen_time, out->gen_time_text))
			tag_fail(out, "'%s' says Gen-Time %s, but its token says %s", tag_name,
				 tag.gen_time, out->gen_time_text);
		else
			pass(&v, TSA_CHECK_TAG);
	}
	ret = finish(out);
	if (out_tag)
		*out_tag = tag;
	else
		tsa_tag_release(&tag);
	buf_release(&payload);
	return ret;
}

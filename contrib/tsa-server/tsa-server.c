/*
 * git-box-tsa: a small RFC 3161 Time Stamping Authority over HTTP, for
 * sites that run their own (an air-gapped network, a test bench).
 *
 * It answers a POST of an application/timestamp-query with an
 * application/timestamp-reply made by OpenSSL's TS_RESP_CTX, signed with
 * the key and certificate given on the command line. It listens on
 * 127.0.0.1 unless told otherwise, and refuses other methods, other
 * content types, bodies over --max-request bytes and bodies that are not
 * a DER TimeStampReq. See contrib/tsa-server/README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "banned.h"

/*
 * The TSA policy this server names in its tokens when --policy is not
 * given: an OID of the UUID arc 2.25 (ITU-T X.667), which needs no
 * registration. A site that publishes a policy should give its own.
 */
#define DEFAULT_POLICY "2.25.178454329712350945096442137216011735812"
#define DEFAULT_PORT 3161
#define DEFAULT_MAX_REQUEST 8192
#define QUERY_TYPE "application/timestamp-query"
#define REPLY_TYPE "application/timestamp-reply"

static const char usage_text[] =
	"usage: git-box-tsa --key <file> --cert <file> [--chain <file>] [--listen <address>]\n"
	"                   [--port <n>] [--port-file <file>] [--policy <oid>]\n"
	"                   [--max-request <bytes>] [--quiet]\n";

struct server {
	TS_RESP_CTX *ctx;
	size_t max_request;
	int quiet;
};

struct upload {
	unsigned char *data;
	size_t len;
	int overflow;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("git-box-tsa: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : "unknown error";
}

static void log_request(const struct server *s, struct MHD_Connection *conn, const char *method,
			unsigned status, const char *what)
{
	const union MHD_ConnectionInfo *info;
	char addr[INET6_ADDRSTRLEN] = "?", when[32] = "?";
	time_t now = time(NULL);
	struct tm tm;

	if (s->quiet)
		return;
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info && info->client_addr) {
		const struct sockaddr *sa = info->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
	}
	if (gmtime_r(&now, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %s %s %u %s\n", when, addr, method, status, what);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type,
			      const void *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result refuse(const struct server *s, struct MHD_Connection *conn,
			      const char *method, unsigned status, const char *why)
{
	char text[256];

	snprintf(text, sizeof(text), "%s\n", why);
	log_request(s, conn, method, status, why);
	return answer(conn, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* "application/timestamp-query", in any case, with no parameters but blanks around it. */
static int is_query_type(const char *type)
{
	size_t n = strlen(QUERY_TYPE);

	if (!type)
		return 0;
	while (*type == ' ' || *type == '\t')
		type++;
	if (strncasecmp(type, QUERY_TYPE, n))
		return 0;
	for (type += n; *type == ' ' || *type == '\t'; type++)
		;
	return !*type;
}

static enum MHD_Result stamp(const struct server *s, struct MHD_Connection *conn,
			     const struct upload *u)
{
	const unsigned char *p = u->data;
	TS_REQ *req = u->len ? d2i_TS_REQ(NULL, &p, (long)u->len) : NULL;
	TS_RESP *resp = NULL;
	BIO *in = NULL;
	unsigned char *der = NULL;
	char what[160];
	int len;
	enum MHD_Result ret;

	if (!req || p != u->data + u->len) {
		TS_REQ_free(req);
		ERR_clear_error();
		return refuse(s, conn, "POST", MHD_HTTP_BAD_REQUEST, "the body is not a DER TimeStampReq");
	}
	TS_REQ_free(req);
	in = BIO_new_mem_buf(u->data, (int)u->len);
	resp = in ? TS_RESP_create_response(s->ctx, in) : NULL;
	len = resp ? i2d_TS_RESP(resp, &der) : -1;
	if (len <= 0) {
		snprintf(what, sizeof(what), "cannot make a response: %s", ssl_reason());
		ERR_clear_error();
		ret = refuse(s, conn, "POST", MHD_HTTP_INTERNAL_SERVER_ERROR, what);
	} else {
		const TS_STATUS_INFO *st = TS_RESP_get_status_info(resp);
		TS_TST_INFO *tst = TS_RESP_get_tst_info(resp);
		long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(st));
		char *serial = NULL;

		if (tst) {
			BIGNUM *bn = ASN1_INTEGER_to_BN(TS_TST_INFO_get_serial(tst), NULL);

			serial = bn ? BN_bn2hex(bn) : NULL;
			BN_free(bn);
		}
		snprintf(what, sizeof(what), "%s%s%s", status <= 1 ? "granted" : "rejection",
			 serial ? " serial 0x" : "", serial ? serial : "");
		OPENSSL_free(serial);
		log_request(s, conn, "POST", MHD_HTTP_OK, what);
		ret = answer(conn, MHD_HTTP_OK, REPLY_TYPE, der, (size_t)len);
	}
	OPENSSL_free(der);
	TS_RESP_free(resp);
	BIO_free(in);
	ERR_clear_error();
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	const struct server *s = cls;
	struct upload *u = *req_cls;

	(void)url;
	(void)version;
	if (!u) {
		const char *length;

		/* Headers are in: refuse what can be refused before reading a byte. */
		if (strcmp(method, MHD_HTTP_METHOD_POST))
			return refuse(s, conn, method, MHD_HTTP_METHOD_NOT_ALLOWED,
				      "only POST of an " QUERY_TYPE " is answered");
		if (!is_query_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_CONTENT_TYPE)))
			return refuse(s, conn, method, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
				      "the content type must be " QUERY_TYPE);
		length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length && strtoull(length, NULL, 10) > s->max_request)
			return refuse(s, conn, method, MHD_HTTP_CONTENT_TOO_LARGE,
				      "the request is too large");
		u = calloc(1, sizeof(*u));
		if (!u)
			return MHD_NO;
		*req_cls = u;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* A chunked body that grows past the limit: drop the connection. */
		if (u->len + *upload_data_size > s->max_request) {
			log_request(s, conn, method, 0, "a body past the limit; connection closed");
			return MHD_NO;
		}
		if (!u->data && !(u->data = malloc(s->max_request)))
			return MHD_NO;
		memcpy(u->data + u->len, upload_data, *upload_data_size);
		u->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	return stamp(s, conn, u);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct upload *u = *req_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (u) {
		free(u->data);
		free(u);
		*req_cls = NULL;
	}
}

/* A unique, positive 128-bit serial number for every token, with no state to keep. */
static ASN1_INTEGER *make_serial(TS_RESP_CTX *ctx, void *data)
{
	unsigned char random[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;

	(void)data;
	if (RAND_bytes(random, sizeof(random)) == 1) {
		random[0] = (unsigned char)((random[0] & 0x7f) | 0x40);
		bn = BN_bin2bn(random, sizeof(random), NULL);
		serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	}
	BN_free(bn);
	if (!serial) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "cannot make a serial number");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
	}
	return serial;
}

static BIO *open_file(const char *path)
{
	BIO *b = BIO_new_file(path, "r");

	if (!b)
		die("cannot open '%s': %s", path, strerror(errno));
	return b;
}

static X509 *read_cert(const char *path)
{
	BIO *b = open_file(path);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	if (!x)
		die("'%s' holds no PEM certificate: %s", path, ssl_reason());
	return x;
}

static STACK_OF(X509) *read_chain(const char *path)
{
	BIO *b = open_file(path);
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *x;

	while (chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		if (!sk_X509_push(chain, x))
			die("out of memory");
	BIO_free(b);
	if (!chain || !sk_X509_num(chain) ||
	    ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE)
		die("cannot read the chain in '%s': %s", path, ssl_reason());
	ERR_clear_error();
	return chain;
}

static EVP_PKEY *read_key(const char *path)
{
	BIO *b = open_file(path);
	/* An encrypted key asks for its passphrase on the terminal. */
	EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	if (!key)
		die("cannot read the private key in '%s': %s", path, ssl_reason());
	return key;
}

static TS_RESP_CTX *make_context(const char *key_path, const char *cert_path,
				 const char *chain_path, const char *policy)
{
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	X509 *cert = read_cert(cert_path);
	EVP_PKEY *key = read_key(key_path);
	ASN1_OBJECT *oid = OBJ_txt2obj(policy, 1);

	if (!ctx)
		die("out of memory");
	if (!oid)
		die("'%s' is not an OID for --policy", policy);
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
	    X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		die("the certificate in '%s' is not valid now", cert_path);
	/* OpenSSL refuses a signer without the critical timeStamping usage, as RFC 3161 asks. */
	if (!TS_RESP_CTX_set_signer_cert(ctx, cert))
		die("the certificate in '%s' may not sign timestamps: it needs the critical "
		    "extendedKeyUsage timeStamping, and no other", cert_path);
	if (!X509_check_private_key(cert, key))
		die("the key in '%s' is not the key of the certificate in '%s'", key_path, cert_path);
	if (!TS_RESP_CTX_set_signer_key(ctx, key) ||
	    !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_def_policy(ctx, oid) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha256()) || !TS_RESP_CTX_add_md(ctx, EVP_sha384()) ||
	    !TS_RESP_CTX_add_md(ctx, EVP_sha512()) ||
	    !TS_RESP_CTX_set_accuracy(ctx, 1, 0, 0))
		die("cannot set up the TSA: %s", ssl_reason());
	if (chain_path) {
		STACK_OF(X509) *chain = read_chain(chain_path);

		if (!TS_RESP_CTX_set_certs(ctx, chain))
			die("cannot use the chain in '%s': %s", chain_path, ssl_reason());
		sk_X509_pop_free(chain, X509_free);
	}
	TS_RESP_CTX_add_flags(ctx, TS_TSA_NAME);
	TS_RESP_CTX_set_serial_cb(ctx, make_serial, NULL);
	ASN1_OBJECT_free(oid);
	EVP_PKEY_free(key);
	X509_free(cert);
	return ctx;
}

static void write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		die("'%s' is too long a path", path);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f))
		die("cannot write '%s': %s", tmp, strerror(errno));
	if (rename(tmp, path))
		die("cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
}

static unsigned long parse_number(const char *text, const char *option, unsigned long max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (errno || end == text || *end || *text == '-' || n > max)
		die("%s needs a number up to %lu, not '%s'", option, max, text);
	return n;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'c' },
		{ "chain", required_argument, NULL, 'C' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "policy", required_argument, NULL, 'o' },
		{ "max-request", required_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *cert = NULL, *chain = NULL, *listen_on = "127.0.0.1";
	const char *port_file = NULL, *policy = DEFAULT_POLICY;
	struct server s = { NULL, DEFAULT_MAX_REQUEST, 0 };
	struct sockaddr_storage addr;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&addr;
	const union MHD_DaemonInfo *info;
	struct MHD_Daemon *d;
	unsigned long port = DEFAULT_PORT;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	sigset_t stop;
	int c, sig;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'c': cert = optarg; break;
		case 'C': chain = optarg; break;
		case 'l': listen_on = optarg; break;
		case 'p': port = parse_number(optarg, "--port", 65535); break;
		case 'P': port_file = optarg; break;
		case 'o': policy = optarg; break;
		case 'm': s.max_request = parse_number(optarg, "--max-request", 1024 * 1024); break;
		case 'q': s.quiet = 1; break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return 2;
		}
	}
	if (optind < argc || !key || !cert) {
		fputs(optind < argc ? "git-box-tsa: error: unexpected argument\n"
		      : "git-box-tsa: error: --key and --cert are required\n", stderr);
		fputs(usage_text, stderr);
		return 2;
	}
	if (s.max_request < 64)
		die("--max-request must be at least 64 bytes");

	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, listen_on, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((unsigned short)port);
	} else if (inet_pton(AF_INET6, listen_on, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		flags |= MHD_USE_IPv6;
	} else {
		die("'%s' is not an IPv4 or IPv6 address for --listen", listen_on);
	}

	s.ctx = make_context(key, cert, chain, policy);

	/* Only the main thread takes the stop signals: the server thread inherits this mask. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &s,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
			     MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_END);
	if (!d)
		die("cannot listen on %s port %lu", listen_on, port);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info)
		port = info->port;
	if (port_file)
		write_port_file(port_file, (unsigned)port);
	if (!s.quiet)
		fprintf(stderr, "git-box-tsa: listening on http://%s%s%s:%lu/\n",
			strchr(listen_on, ':') ? "[" : "", listen_on, strchr(listen_on, ':') ? "]" : "",
			port);

	while (sigwait(&stop, &sig))
		;
	if (!s.quiet)
		fprintf(stderr, "git-box-tsa: stopping on signal %d\n", sig);
	MHD_stop_daemon(d);
	TS_RESP_CTX_free(s.ctx);
	return 0;
}

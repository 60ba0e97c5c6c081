#include "sign.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "child.h"
#include "banned.h"

#define ARMOR_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define ARMOR_END "-----END PGP SIGNATURE-----"

struct sign_ctx {
	gpgme_ctx_t ctx;
};

/* "box.signingKey" from the repository's configuration, or NULL. */
static char *config_string(git_repository *repo, const char *key)
{
	git_config *cfg = NULL;
	git_buf value = GIT_BUF_INIT;
	char *out = NULL;

	if (repo ? git_repository_config_snapshot(&cfg, repo) : git_config_open_default(&cfg))
		return NULL;
	if (!git_config_get_string_buf(&value, cfg, key) && *value.ptr)
		out = xstrdup(value.ptr);
	git_buf_dispose(&value);
	git_config_free(cfg);
	git_error_clear();
	return out;
}

static int gpg_failed(gpgme_error_t err, const char *what)
{
	if (gpg_err_code(err) == GPG_ERR_NO_AGENT)
		box_error_set("%s: no gpg-agent is running (start it with 'gpgconf --launch gpg-agent')", what);
	else
		box_error_set("%s: %s", what, gpgme_strerror(err));
	return -1;
}

int sign_open(struct sign_ctx **out, git_repository *repo, const char *home)
{
	struct sign_ctx *s;
	char *program = config_string(repo, "gpg.openpgp.program"), *path = NULL;
	gpgme_error_t err;

	if (!program)
		program = config_string(repo, "gpg.program");
	if (program) {
		path = child_find_program(program);
		if (!path || access(path, X_OK)) {
			free(path);
			box_error_set("cannot find the gpg program '%s' (gpg.program)", program);
			free(program);
			return -1;
		}
	}
	gpgme_check_version(NULL);
	err = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
	s = xcalloc(1, sizeof(*s));
	if (!err)
		err = gpgme_new(&s->ctx);
	if (!err && (path || home))
		err = gpgme_ctx_set_engine_info(s->ctx, GPGME_PROTOCOL_OpenPGP, path, home);
	free(program);
	free(path);
	if (err) {
		gpg_failed(err, "cannot use gpg");
		sign_close(s);
		return -1;
	}
	gpgme_set_protocol(s->ctx, GPGME_PROTOCOL_OpenPGP);
	gpgme_set_keylist_mode(s->ctx, GPGME_KEYLIST_MODE_LOCAL);
	/* Never reach for a key server or dirmngr while signing or checking. */
	gpgme_set_offline(s->ctx, 1);
	*out = s;
	return 0;
}

void sign_close(struct sign_ctx *s)
{
	if (!s)
		return;
	if (s->ctx)
		gpgme_release(s->ctx);
	free(s);
}

void sign_key_release(struct sign_key *k)
{
	free(k->uid);
	free(k->spec);
	memset(k, 0, sizeof(*k));
}

static void upper_fpr(char *out, const char *fpr)
{
	size_t i;

	for (i = 0; fpr && fpr[i] && i < FPR_HEX_LEN; i++)
		out[i] = (char)toupper((unsigned char)fpr[i]);
	out[i] = '\0';
}

/* Why a key cannot sign, or NULL when it can. */
static const char *key_unusable(gpgme_key_t k)
{
	if (k->revoked)
		return "is revoked";
	if (k->expired)
		return "has expired";
	if (k->disabled)
		return "is disabled";
	if (k->invalid)
		return "is not valid";
	if (!k->can_sign)
		return "has no usable signing key";
	return NULL;
}

static void describe_key(struct buf *out, gpgme_key_t k)
{
	buf_addf(out, "%s", k->fpr ? k->fpr : "?");
	if (k->uids && k->uids->uid)
		buf_addf(out, " (%s)", k->uids->uid);
}

static int list_secret_keys(gpgme_key_t **out, size_t *nr, struct sign_ctx *s, const char *pattern)
{
	gpgme_key_t key, *keys = NULL;
	gpgme_error_t err;
	size_t n = 0;

	err = gpgme_op_keylist_start(s->ctx, pattern, 1);
	while (!err) {
		err = gpgme_op_keylist_next(s->ctx, &key);
		if (err)
			break;
		keys = xrealloc(keys, (n + 1) * sizeof(*keys));
		keys[n++] = key;
	}
	gpgme_op_keylist_end(s->ctx);
	if (gpg_err_code(err) != GPG_ERR_EOF) {
		for (size_t i = 0; i < n; i++)
			gpgme_key_unref(keys[i]);
		free(keys);
		return gpg_failed(err, "cannot list the secret keys");
	}
	*out = keys;
	*nr = n;
	return 0;
}

/*
 * Can gpg-agent be reached? Without it gpg lists no secret key at all,
 * which would read as "no signing key" when the keys are there.
 */
static int agent_reachable(void)
{
	const char *socket = gpgme_get_dirinfo("agent-socket");
	gpgme_ctx_t ctx = NULL;
	gpgme_error_t err, op_err = 0;

	if (!socket || gpgme_new(&ctx))
		return 1;   /* cannot tell: let gpg say what is wrong */
	err = gpgme_set_protocol(ctx, GPGME_PROTOCOL_ASSUAN);
	if (!err)
		err = gpgme_ctx_set_engine_info(ctx, GPGME_PROTOCOL_ASSUAN, socket, NULL);
	if (!err)
		err = gpgme_op_assuan_transact_ext(ctx, "GETINFO version", NULL, NULL, NULL, NULL,
						   NULL, NULL, &op_err);
	gpgme_release(ctx);
	return !err;
}

/* Does the public keyring hold a key matching `pattern` (any key when NULL)? */
static int has_public_key(struct sign_ctx *s, const char *pattern)
{
	gpgme_key_t key = NULL;
	int found = !gpgme_op_keylist_start(s->ctx, pattern, 0) && !gpgme_op_keylist_next(s->ctx, &key);

	if (key)
		gpgme_key_unref(key);
	gpgme_op_keylist_end(s->ctx);
	return found;
}

int sign_find_key(struct sign_key *out, struct sign_ctx *s, git_repository *repo)
{
	gpgme_key_t *keys = NULL, usable = NULL;
	struct buf what = BUF_INIT;
	size_t nr = 0, n_usable = 0;
	int ret = -1;

	out->source = "box.signingKey";
	out->spec = config_string(repo, "box.signingKey");
	if (!out->spec) {
		out->source = "user.signingKey";
		out->spec = config_string(repo, "user.signingKey");
	}
	if (!out->spec)
		out->source = NULL;
	if (list_secret_keys(&keys, &nr, s, out->spec) < 0)
		goto out;

	for (size_t i = 0; i < nr; i++) {
		if (key_unusable(keys[i]))
			continue;
		if (!usable || strcmp(usable->fpr, keys[i]->fpr))
			n_usable++;
		if (!usable)
			usable = keys[i];
	}
	if (!nr && has_public_key(s, out->spec) && !agent_reachable()) {
		box_error_set("no gpg-agent: gpg cannot use secret keys without its agent, and it "
			      "is not running (start it with 'gpgconf --launch gpg-agent')");
		goto out;
	}
	if (!nr) {
		if (out->spec)
			box_error_set("no secret key for '%s' (%s) in the keyring", out->spec, out->source);
		else
			box_error_set("no signing key: the keyring has no secret key, and neither "
				      "box.signingKey nor user.signingKey is set");
		goto out;
	}
	if (!usable) {
		describe_key(&what, keys[0]);
		box_error_set("the signing key %s %s", what.ptr, key_unusable(keys[0]));
		goto out;
	}
	if (n_usable > 1 && out->spec) {
		box_error_set("'%s' (%s) matches more than one secret key; set it to a full fingerprint",
			      out->spec, out->source);
		goto out;
	}
	if (n_usable == 1) {
		upper_fpr(out->fpr, usable->fpr);
		if (usable->uids && usable->uids->uid)
			out->uid = xstrdup(usable->uids->uid);
	}
	ret = 0;
out:
	for (size_t i = 0; i < nr; i++)
		gpgme_key_unref(keys[i]);
	free(keys);
	buf_release(&what);
	return ret;
}

int sign_meaning_valid(const char *role, const char *reason)
{
	size_t len = strlen(role);
	json_t *probe;

	if (!len || len > SIGN_ROLE_MAX || !islower((unsigned char)role[0]) ||
	    strspn(role, "abcdefghijklmnopqrstuvwxyz0123456789-") != len) {
		box_error_set("the role '%s' is not a lower-case word (author, reviewer, approver, ...) "
			      "of at most %d characters", role, SIGN_ROLE_MAX);
		return -1;
	}
	len = strlen(reason);
	if (!len || len > SIGN_REASON_MAX) {
		box_error_set("the reason must be 1 to %d bytes long", SIGN_REASON_MAX);
		return -1;
	}
	for (const unsigned char *p = (const unsigned char *)reason; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			box_error_set("the reason must be one line of printable text");
			return -1;
		}
	}
	probe = json_string(reason);
	if (!probe) {
		box_error_set("the reason is not valid UTF-8");
		return -1;
	}
	json_decref(probe);
	return 0;
}

/* The primary key of a (sub)key fingerprint, or NULL. */
static gpgme_key_t key_of(struct sign_ctx *s, const char *fpr)
{
	gpgme_key_t key = NULL;

	if (!fpr || !*fpr || gpgme_get_key(s->ctx, fpr, &key, 0))
		return NULL;
	return key;
}

/* SHA-256, SHA-384 and SHA-512 only: SHA-224 is short of 128-bit strength, SHA-1 is broken. */
static int weak_hash(gpgme_hash_algo_t h)
{
	return h != GPGME_MD_SHA256 && h != GPGME_MD_SHA384 && h != GPGME_MD_SHA512;
}

#define KEY_BITS_MIN 2048

/* Why a (sub)key's algorithm or size may not make a signature we count, or NULL. */
static const char *weak_key(gpgme_subkey_t sub)
{
	switch (sub->pubkey_algo) {
	case GPGME_PK_RSA:
	case GPGME_PK_RSA_S:
	case GPGME_PK_DSA:
		return sub->length < KEY_BITS_MIN ? "is shorter than 2048 bits" : NULL;
	case GPGME_PK_ECC:
	case GPGME_PK_ECDSA:
	case GPGME_PK_EDDSA:
		return NULL;
	default:
		return "has an algorithm that does not sign";
	}
}

static char *take_data(gpgme_data_t d, size_t *len)
{
	char *mem = gpgme_data_release_and_get_mem(d, len);
	char *copy = xstrndup(mem ? mem : "", mem ? *len : 0);

	gpgme_free(mem);
	return copy;
}

/* Count the armored blocks of a signature (0 when it is not armored as one block). */
static size_t armor_blocks(const char *armor, size_t len)
{
	struct strlist blocks = STRLIST_INIT;
	size_t n = sign_split(&blocks, armor, len) < 0 ? 0 : blocks.nr;

	strlist_release(&blocks);
	return n;
}

int sign_payload(struct buf *armor, struct sign_key *key, struct sign_ctx *s,
		 const char *payload, size_t len, const char *role, const char *reason)
{
	gpgme_data_t in = NULL, out = NULL;
	gpgme_key_t signer = NULL, made_by = NULL;
	gpgme_sign_result_t result;
	struct sign_check check = SIGN_CHECK_INIT;
	gpgme_error_t err;
	char *sig = NULL, fpr[FPR_HEX_LEN + 1];
	size_t sig_len = 0;
	int ret = -1;

	if (sign_meaning_valid(role, reason) < 0)
		return -1;
	gpgme_set_armor(s->ctx, 1);
	gpgme_set_textmode(s->ctx, 0);
	gpgme_signers_clear(s->ctx);
	gpgme_sig_notation_clear(s->ctx);
	if (*key->fpr) {
		if ((err = gpgme_get_key(s->ctx, key->fpr, &signer, 1)) ||
		    (err = gpgme_signers_add(s->ctx, signer))) {
			gpg_failed(err, "cannot use the signing key");
			goto out;
		}
	}
	if ((err = gpgme_sig_notation_add(s->ctx, SIGN_NOTATION_ROLE, role,
					  GPGME_SIG_NOTATION_HUMAN_READABLE)) ||
	    (err = gpgme_sig_notation_add(s->ctx, SIGN_NOTATION_REASON, reason,
					  GPGME_SIG_NOTATION_HUMAN_READABLE)) ||
	    (err = gpgme_data_new_from_mem(&in, payload, len, 0)) ||
	    (err = gpgme_data_new(&out))) {
		gpg_failed(err, "cannot prepare the signature");
		goto out;
	}
	err = gpgme_op_sign(s->ctx, in, out, GPGME_SIG_MODE_DETACH);
	result = gpgme_op_sign_result(s->ctx);
	if (err) {
		if (result && result->invalid_signers)
			box_error_set("gpg cannot sign with %s: %s", *key->fpr ? key->fpr : "the default key",
				      gpgme_strerror(result->invalid_signers->reason));
		else
			gpg_failed(err, "gpg cannot sign");
		goto out;
	}
	if (!result || !result->signatures || result->signatures->next || result->invalid_signers ||
	    result->signatures->type != GPGME_SIG_MODE_DETACH) {
		box_error_set("gpg did not make exactly one detached signature");
		goto out;
	}
	if (weak_hash(result->signatures->hash_algo)) {
		box_error_set("gpg signed with the weak hash %s; set 'personal-digest-preferences SHA256' "
			      "in gpg.conf", gpgme_hash_algo_name(result->signatures->hash_algo));
		goto out;
	}
	made_by = key_of(s, result->signatures->fpr);
	if (!made_by) {
		box_error_set("gpg signed with %s, which is not in the keyring", result->signatures->fpr);
		goto out;
	}
	upper_fpr(fpr, made_by->fpr);
	if (*key->fpr && strcmp(fpr, key->fpr)) {
		box_error_set("gpg signed with %s, not with %s", fpr, key->fpr);
		goto out;
	}
	if (!*key->fpr) {
		memcpy(key->fpr, fpr, sizeof(fpr));
		free(key->uid);
		key->uid = made_by->uids && made_by->uids->uid ? xstrdup(made_by->uids->uid) : NULL;
	}
	sig = take_data(out, &sig_len);
	out = NULL;
	if (armor_blocks(sig, sig_len) != 1) {
		box_error_set("gpg's signature is not one ASCII-armored block");
		goto out;
	}
	/* Check what was made, as anyone will: never store a signature that does not hold. */
	if (sign_check_one(&check, s, payload, len, sig, sig_len) < 0)
		goto out;
	if (!check.good || strcmp(check.fpr, key->fpr)) {
		box_error_set("the new signature does not hold: %s",
			      check.problem ? check.problem : "made by another key");
		goto out;
	}
	buf_add(armor, sig, sig_len);
	ret = 0;
out:
	sign_check_release(&check);
	free(sig);
	gpgme_sig_notation_clear(s->ctx);
	gpgme_signers_clear(s->ctx);
	gpgme_data_release(in);
	gpgme_data_release(out);
	if (signer)
		gpgme_key_unref(signer);
	if (made_by)
		gpgme_key_unref(made_by);
	return ret;
}

/* Lines as they come: `line` and its length without the LF. */
static const char *next_line(const char *p, const char *end, size_t *len)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*len = (size_t)((nl ? nl : end) - p);
	return nl ? nl + 1 : end;
}

int sign_split(struct strlist *out, const char *signatures, size_t len)
{
	const char *p = signatures, *end = signatures + len;

	while (p < end) {
		const char *start = p, *line = p;
		size_t n;

		p = next_line(p, end, &n);
		if (n != strlen(ARMOR_BEGIN) || memcmp(line, ARMOR_BEGIN, n)) {
			box_error_set("the signatures hold something that is not an ASCII-armored "
				      "OpenPGP signature");
			return -1;
		}
		for (;;) {
			if (p >= end) {
				box_error_set("an ASCII-armored signature has no end line");
				return -1;
			}
			line = p;
			p = next_line(p, end, &n);
			if (n == strlen(ARMOR_END) && !memcmp(line, ARMOR_END, n))
				break;
		}
		if (p[-1] != '\n') {
			box_error_set("the last signature does not end with a newline");
			return -1;
		}
		strlist_add_nodup(out, xstrndup(start, (size_t)(p - start)));
	}
	return 0;
}

static void set_problem(struct sign_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_problem(struct sign_check *c, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (c->problem)
		return;   /* the first reason is the one to tell */
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	c->problem = buf_detach(&b);
}

static void take_notations(struct sign_check *c, gpgme_sig_notation_t n)
{
	for (; n; n = n->next) {
		char **slot;

		if (!n->name)
			continue;
		slot = !strcmp(n->name, SIGN_NOTATION_ROLE) ? &c->role
			: !strcmp(n->name, SIGN_NOTATION_REASON) ? &c->reason : NULL;
		if (!slot)
			continue;
		if (*slot) {
			set_problem(c, "the notation %s is given twice", n->name);
			continue;
		}
		*slot = xstrndup(n->value ? n->value : "", n->value ? (size_t)n->value_len : 0);
	}
}

static void format_time(char *out, size_t len, long seconds)
{
	time_t t = (time_t)seconds;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * gpg judges expiry at the clock's time; git box judges it at the time
 * the evidence proves (check_time, check_key), so gpg's word on expiry
 * is set aside here and every other word is weighed.
 */
static void check_status(struct sign_check *c, gpgme_signature_t sig)
{
	gpgme_sigsum_t sum = sig->summary;

	switch (gpg_err_code(sig->status)) {
	case GPG_ERR_NO_ERROR:
	case GPG_ERR_KEY_EXPIRED:
	case GPG_ERR_SIG_EXPIRED:
		break;
	case GPG_ERR_BAD_SIGNATURE:
		set_problem(c, "BAD signature: the payload is not what was signed");
		break;
	case GPG_ERR_NO_PUBKEY:
		set_problem(c, "no public key %s in the keyring", sig->fpr ? sig->fpr : "");
		break;
	case GPG_ERR_CERT_REVOKED:
		set_problem(c, "the key is revoked");
		break;
	default:
		set_problem(c, "gpg: %s", gpgme_strerror(sig->status));
		break;
	}
	if (sum & GPGME_SIGSUM_RED)
		set_problem(c, "gpg says the signature is bad");
	if (sum & GPGME_SIGSUM_KEY_REVOKED)
		set_problem(c, "the key is revoked");
	if (sum & GPGME_SIGSUM_KEY_MISSING)
		set_problem(c, "no public key %s in the keyring", sig->fpr ? sig->fpr : "");
	if (sum & (GPGME_SIGSUM_CRL_MISSING | GPGME_SIGSUM_CRL_TOO_OLD))
		set_problem(c, "the key's revocation status is unknown");
	if (sum & GPGME_SIGSUM_BAD_POLICY)
		set_problem(c, "the signature breaks a policy of gpg's");
	if (sum & GPGME_SIGSUM_SYS_ERROR)
		set_problem(c, "gpg had a system error while checking");
	if (sum & GPGME_SIGSUM_TOFU_CONFLICT)
		set_problem(c, "gpg reports a TOFU conflict for the key");
	if (sig->wrong_key_usage)
		set_problem(c, "the key that made it may not sign");
	if (sig->pka_trust == 1)
		set_problem(c, "the key's PKA record does not match");
	if (sig->validity == GPGME_VALIDITY_NEVER)
		set_problem(c, "the key is marked as never valid");
	if (sig->chain_model)
		set_problem(c, "its key was judged by the chain model, which is X.509's, not OpenPGP's");
	if (weak_hash(sig->hash_algo))
		set_problem(c, "made with the hash %s; only SHA256, SHA384 and SHA512 are accepted",
			    gpgme_hash_algo_name(sig->hash_algo) ? gpgme_hash_algo_name(sig->hash_algo) : "?");
}

/*
 * When the signature says it was made, against the window; and the
 * time its key is judged at (sign.h, struct sign_window).
 */
static void check_time(struct sign_check *c, gpgme_signature_t sig, const struct sign_window *w)
{
	time_t now = w && w->now ? w->now : time(NULL);
	long created = (long)sig->timestamp;
	char when[32], bound[32];

	c->judged = (long)now;
	c->judged_proven = 0;
	for (size_t i = 0; w && i < w->proven_nr; i++) {
		if (created <= (long)w->proven[i] + SIGN_CLOCK_SKEW) {
			c->judged = (long)w->proven[i];
			c->judged_proven = 1;
			break;
		}
	}
	format_time(when, sizeof(when), created);
	if (!created) {
		set_problem(c, "the signature carries no creation time");
		return;
	}
	if (w && w->not_before && created < (long)w->not_before - SIGN_CLOCK_SKEW) {
		format_time(bound, sizeof(bound), (long)w->not_before);
		set_problem(c, "dated %s, before the payload it signs was made (%s)", when, bound);
	}
	if (created > (long)now + SIGN_CLOCK_SKEW)
		set_problem(c, "dated %s, later than the time of this check", when);
	if (sig->exp_timestamp && (long)sig->exp_timestamp <= c->judged) {
		format_time(bound, sizeof(bound), (long)sig->exp_timestamp);
		set_problem(c, "the signature expired on %s", bound);
	}
}

/* "the timestamp's genTime 2026-...Z" or "the time of this check". */
static void judged_text(char *out, size_t len, const struct sign_check *c)
{
	char when[32];

	format_time(when, sizeof(when), c->judged);
	if (c->judged_proven)
		snprintf(out, len, "the timestamp's genTime %s", when);
	else
		snprintf(out, len, "the time of this check (no timestamp proves an earlier one)");
}

/* The key as it was when the signature was made, and at the time it is judged at. */
static void check_key(struct sign_check *c, struct sign_ctx *s, gpgme_signature_t sig)
{
	gpgme_key_t key = key_of(s, sig->fpr);
	gpgme_subkey_t sub, primary;
	size_t flen = sig->fpr ? strlen(sig->fpr) : 0;
	unsigned long expires = 0;
	const char *weak;
	char at[96], when[32];

	if (!key) {
		set_problem(c, "no public key %s in the keyring", sig->fpr ? sig->fpr : "");
		return;
	}
	primary = key->subkeys;
	if (!primary || !key->fpr || strlen(key->fpr) != FPR_HEX_LEN) {
		set_problem(c, "the key has no full fingerprint");
		goto out;
	}
	upper_fpr(c->fpr, key->fpr);
	if (key->uids && key->uids->uid)
		c->uid = xstrdup(key->uids->uid);
	for (sub = key->subkeys; sub; sub = sub->next) {
		size_t slen = sub->fpr ? strlen(sub->fpr) : 0;

		/* An old signature may name only the 16-digit key id: match its tail. */
		if (flen && slen >= flen && !strcasecmp(sub->fpr + slen - flen, sig->fpr))
			break;
	}
	if (!sub) {
		set_problem(c, "the key %s has no subkey %s", c->fpr, sig->fpr);
		goto out;
	}
	if (key->revoked || sub->revoked || primary->revoked)
		set_problem(c, "the key %s is revoked", c->fpr);
	if (key->disabled)
		set_problem(c, "the key %s is disabled in this keyring", c->fpr);
	if (key->invalid || sub->invalid)
		set_problem(c, "the key %s is not valid", c->fpr);
	if (!sub->can_sign)
		set_problem(c, "the key %s may not sign", sub->fpr);
	if ((weak = weak_key(sub)))
		set_problem(c, "the key %s %s", sub->fpr, weak);
	if (sig->pubkey_algo != sub->pubkey_algo)
		set_problem(c, "the signature's algorithm is not that of the key %s", sub->fpr);
	if (sub->timestamp > 0 && (unsigned long)sub->timestamp > sig->timestamp)
		set_problem(c, "made before its key existed");
	if (sub->expires > 0)
		expires = (unsigned long)sub->expires;
	if (primary->expires > 0 && (!expires || (unsigned long)primary->expires < expires))
		expires = (unsigned long)primary->expires;
	if (expires && expires <= sig->timestamp) {
		set_problem(c, "made after the key %s expired", c->fpr);
	} else if (expires && (long)expires <= c->judged) {
		format_time(when, sizeof(when), (long)expires);
		judged_text(at, sizeof(at), c);
		set_problem(c, "the key %s expired on %s, before %s", c->fpr, when, at);
	}
out:
	gpgme_key_unref(key);
}

int sign_check_one_within(struct sign_check *out, struct sign_ctx *s, const char *payload, size_t len,
			  const char *armor, size_t armor_len, const struct sign_window *w)
{
	gpgme_data_t sig = NULL, text = NULL;
	gpgme_verify_result_t result;
	gpgme_signature_t one;
	gpgme_error_t err;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if ((err = gpgme_data_new_from_mem(&sig, armor, armor_len, 0)) ||
	    (err = gpgme_data_new_from_mem(&text, payload, len, 0))) {
		gpg_failed(err, "cannot check a signature");
		goto out;
	}
	err = gpgme_op_verify(s->ctx, sig, text, NULL);
	result = gpgme_op_verify_result(s->ctx);
	if (err && gpg_err_code(err) != GPG_ERR_NO_DATA && gpg_err_code(err) != GPG_ERR_BAD_DATA) {
		gpg_failed(err, "gpg cannot check signatures");
		goto out;
	}
	ret = 0;
	if (err || !result || !result->signatures) {
		set_problem(out, "not an OpenPGP signature%s%s", err ? ": " : "", err ? gpgme_strerror(err) : "");
		goto out;
	}
	one = result->signatures;
	if (one->next) {
		set_problem(out, "one armored block holds several signatures");
		goto out;
	}
	upper_fpr(out->signing_fpr, one->fpr);
	out->created = (long)one->timestamp;
	out->validity = one->validity;
	out->summary = one->summary;
	out->hash = gpgme_hash_algo_name(one->hash_algo);
	take_notations(out, one->notations);
	check_status(out, one);
	check_time(out, one, w);
	check_key(out, s, one);
	out->good = !out->problem;
	out->trusted = out->good && (one->validity == GPGME_VALIDITY_FULL ||
				     one->validity == GPGME_VALIDITY_ULTIMATE);
out:
	gpgme_data_release(sig);
	gpgme_data_release(text);
	return ret;
}

int sign_check_one(struct sign_check *out, struct sign_ctx *s, const char *payload, size_t len,
		   const char *armor, size_t armor_len)
{
	return sign_check_one_within(out, s, payload, len, armor, armor_len, NULL);
}

int sign_check_all_within(struct sign_checks *out, struct sign_ctx *s, const char *payload, size_t len,
			  const char *signatures, size_t signatures_len, const struct sign_window *w)
{
	struct strlist blocks = STRLIST_INIT;
	int ret = -1;

	out->items = NULL;
	out->nr = 0;
	if (sign_split(&blocks, signatures, signatures_len) < 0)
		goto out;
	out->items = xcalloc(blocks.nr ? blocks.nr : 1, sizeof(*out->items));
	for (size_t i = 0; i < blocks.nr; i++) {
		if (sign_check_one_within(&out->items[i], s, payload, len, blocks.items[i],
					  strlen(blocks.items[i]), w) < 0)
			goto out;
		out->nr++;
	}
	ret = 0;
out:
	if (ret < 0)
		sign_checks_release(out);
	strlist_release(&blocks);
	return ret;
}

int sign_check_all(struct sign_checks *out, struct sign_ctx *s, const char *payload, size_t len,
		   const char *signatures, size_t signatures_len)
{
	return sign_check_all_within(out, s, payload, len, signatures, signatures_len, NULL);
}

void sign_check_release(struct sign_check *c)
{
	free(c->uid);
	free(c->role);
	free(c->reason);
	free(c->problem);
	memset(c, 0, sizeof(*c));
}

void sign_checks_release(struct sign_checks *c)
{
	for (size_t i = 0; i < c->nr; i++)
		sign_check_release(&c->items[i]);
	free(c->items);
	c->items = NULL;
	c->nr = 0;
}

int sign_key_allowed(const struct strlist *signers, const char *fpr)
{
	return !signers->nr || strlist_has(signers, fpr);
}

size_t sign_quorum(const struct sign_checks *checks, const struct strlist *signers, struct strlist *missing)
{
	struct strlist seen = STRLIST_INIT;
	size_t n;

	for (size_t i = 0; i < checks->nr; i++) {
		const struct sign_check *c = &checks->items[i];

		if (c->good && *c->fpr && sign_key_allowed(signers, c->fpr) && !strlist_has(&seen, c->fpr))
			strlist_add(&seen, c->fpr);
	}
	for (size_t i = 0; missing && i < signers->nr; i++)
		if (!strlist_has(&seen, signers->items[i]))
			strlist_add(missing, signers->items[i]);
	n = seen.nr;
	strlist_release(&seen);
	return n;
}

static const char *verdict(const struct sign_check *c)
{
	if (!c->good)
		return "bad";
	return c->trusted ? "good" : "good, key not certified";
}

void sign_check_describe(struct buf *out, const struct sign_check *c)
{
	char when[32];

	format_time(when, sizeof(when), c->created);
	buf_addf(out, "%s %s", c->uid ? c->uid : "(unknown key)",
		 *c->fpr ? c->fpr : *c->signing_fpr ? c->signing_fpr : "?");
	buf_addf(out, " as %s", c->role ? c->role : "(no role)");
	if (c->reason)
		buf_addf(out, ", \"%s\"", c->reason);
	if (c->created)
		buf_addf(out, ", %s", when);
	if (c->good)
		buf_addf(out, ": %s", verdict(c));
	else
		buf_addf(out, ": BAD: %s", c->problem ? c->problem : "unknown");
}

json_t *sign_check_json(const struct sign_check *c)
{
	char when[32];

	format_time(when, sizeof(when), c->created);
	return json_pack("{s:s?, s:s?, s:o?, s:o?, s:o?, s:s?, s:o?, s:b, s:b, s:o?}",
			 "fingerprint", *c->fpr ? c->fpr : NULL,
			 "signing_key", *c->signing_fpr ? c->signing_fpr : NULL,
			 "uid", json_text(c->uid), "role", json_text(c->role), "reason", json_text(c->reason),
			 "time", c->created ? when : NULL, "hash", json_text(c->hash),
			 "good", c->good, "trusted", c->trusted, "problem", json_text(c->problem));
}

int sign_key_owns(struct sign_ctx *s, const char *primary, const char *fpr)
{
	gpgme_key_t key;
	size_t flen = strlen(fpr);
	int owns = 0;

	if (!flen)
		return 0;
	if (!strcasecmp(primary, fpr))
		return 1;
	key = key_of(s, primary);
	for (gpgme_subkey_t sub = key ? key->subkeys : NULL; sub && !owns; sub = sub->next) {
		size_t slen = sub->fpr ? strlen(sub->fpr) : 0;

		owns = slen >= flen && !strcasecmp(sub->fpr + slen - flen, fpr);
	}
	if (key)
		gpgme_key_unref(key);
	return owns;
}

int sign_key_primary(char *primary, struct sign_ctx *s, const char *fpr)
{
	gpgme_key_t key = key_of(s, fpr);
	int found = key && key->fpr && strlen(key->fpr) == FPR_HEX_LEN;

	if (found)
		upper_fpr(primary, key->fpr);
	if (key)
		gpgme_key_unref(key);
	return found;
}

char *sign_key_uid(struct sign_ctx *s, const char *fpr)
{
	gpgme_key_t key = key_of(s, fpr);
	char *uid = key && key->uids && key->uids->uid ? xstrdup(key->uids->uid) : NULL;

	if (key)
		gpgme_key_unref(key);
	return uid;
}

int sign_import_keys(struct sign_ctx *s, const char *data, size_t len, struct strlist *fprs)
{
	gpgme_data_t keys = NULL;
	gpgme_import_result_t result;
	gpgme_error_t err;
	size_t found = 0;

	if ((err = gpgme_data_new_from_mem(&keys, data, len, 0)))
		return gpg_failed(err, "cannot import keys");
	err = gpgme_op_import(s->ctx, keys);
	gpgme_data_release(keys);
	if (err)
		return gpg_failed(err, "cannot import keys");
	result = gpgme_op_import_result(s->ctx);
	for (gpgme_import_status_t imp = result ? result->imports : NULL; imp; imp = imp->next) {
		char fpr[FPR_HEX_LEN + 1];

		if (imp->result || !imp->fpr || !sign_fpr_parse(fpr, imp->fpr))
			continue;
		found++;
		if (fprs && !strlist_has(fprs, fpr))
			strlist_add(fprs, fpr);
	}
	if (!found) {
		box_error_set("no OpenPGP public key could be read");
		return -1;
	}
	return 0;
}

int sign_export_key(struct buf *out, struct sign_ctx *s, const char *fpr)
{
	gpgme_data_t keys = NULL;
	gpgme_error_t err;
	char *mem;
	size_t len = 0;

	if ((err = gpgme_data_new(&keys)))
		return gpg_failed(err, "cannot export a key");
	err = gpgme_op_export(s->ctx, fpr, 0, keys);
	if (err) {
		gpgme_data_release(keys);
		return gpg_failed(err, "cannot export a key");
	}
	mem = gpgme_data_release_and_get_mem(keys, &len);
	if (mem && len)
		buf_add(out, mem, len);
	gpgme_free(mem);
	return len ? 1 : 0;
}

int sign_fpr_parse(char *out, const char *text)
{
	size_t i;

	for (i = 0; text[i]; i++)
		if (i >= FPR_HEX_LEN || !isxdigit((unsigned char)text[i]))
			return 0;
	if (i != FPR_HEX_LEN)
		return 0;
	upper_fpr(out, text);
	return 1;
}

#ifndef SIGN_H
#define SIGN_H

#include <git2.h>
#include <gpgme.h>
#include <jansson.h>
#include <time.h>

#include "util.h"

/*
 * OpenPGP signatures of manifest payloads, through GPGME.
 *
 * A signature is detached, ASCII-armored, over the payload's bytes
 * (binary mode), and carries its meaning as two human-readable
 * signature notations that stock `gpg --verify-options show-notations`
 * prints: SIGN_NOTATION_ROLE (author, reviewer, approver, ...) and
 * SIGN_NOTATION_REASON (free text).
 *
 * The keyring is the user's (GNUPGHOME or ~/.gnupg) unless a caller
 * names another home folder: verify builds a private one from the
 * auditor's trust roots. gpg is found as git finds it: gpg.openpgp.program,
 * else gpg.program, else GPGME's default. Passphrases stay between
 * gpg-agent and pinentry: git box never sees or holds one.
 */

#define SIGN_NOTATION_ROLE "role@git-box"
#define SIGN_NOTATION_REASON "reason@git-box"
#define SIGN_ROLE_MAX 32
#define SIGN_REASON_MAX 200
#define FPR_HEX_LEN 40

struct sign_ctx;

/* `repo` (may be NULL) gives gpg.program; `home` NULL is the user's keyring. */
int sign_open(struct sign_ctx **out, git_repository *repo, const char *home);
void sign_close(struct sign_ctx *s);

struct sign_key {
	char fpr[FPR_HEX_LEN + 1];  /* primary key; "" until signing when gpg picks the key */
	char *uid;                  /* its first user id, or NULL */
	char *spec;                 /* what the configuration asked for, or NULL */
	const char *source;         /* "box.signingKey", "user.signingKey" or NULL (gpg's default) */
};

#define SIGN_KEY_INIT { { 0 }, NULL, NULL, NULL }

/*
 * The key to sign with: box.signingKey, else user.signingKey, else
 * gpg's default (the only usable secret key, or the one gpg picks when
 * there are several). Refuses a key that is missing, ambiguous, expired,
 * revoked, disabled or cannot sign.
 */
int sign_find_key(struct sign_key *out, struct sign_ctx *s, git_repository *repo);
void sign_key_release(struct sign_key *k);

/* Is this a role and a reason a signature may carry? */
int sign_meaning_valid(const char *role, const char *reason);

/*
 * Sign `payload`: `armor` gets one ASCII-armored detached signature
 * ending in a newline, made by `key` (whose fpr and uid are filled in
 * when gpg picked it), and checked with sign_check_one() before it is
 * returned.
 */
int sign_payload(struct buf *armor, struct sign_key *key, struct sign_ctx *s,
		 const char *payload, size_t len, const char *role, const char *reason);

/* Split the signature part of a note into its armored blocks; refuses anything else. */
int sign_split(struct strlist *out, const char *signatures, size_t len);

/*
 * How far a signer's clock may be from the times a signature is held
 * to (the payload's time, a TSA's genTime, the verifier's clock).
 */
#define SIGN_CLOCK_SKEW 300

/*
 * The times a signature is held to (git-box-verify(1), SIGNATURE TIME).
 * It may not be dated before `not_before` (the payload's `time`) nor
 * after the verification time, each less or plus SIGN_CLOCK_SKEW. Its
 * key is judged at the time the evidence proves: the earliest of the
 * `proven` times (the genTimes of valid timestamps over the payload or
 * over a later payload of its chain) that the signature's date does not
 * follow by more than the skew, else the verification time. The key
 * must then be valid, unexpired and unrevoked at that time, and at the
 * signature's date.
 */
struct sign_window {
	time_t not_before;          /* 0: no lower bound */
	const time_t *proven;       /* ascending; may be NULL */
	size_t proven_nr;
	time_t now;                 /* the verification time; 0: the clock's */
};

#define SIGN_WINDOW_INIT { 0, NULL, 0, 0 }

/* What one signature is worth, every field of gpgme_signature_t weighed. */
struct sign_check {
	int good;                   /* cryptographically good and every check passed */
	int trusted;                /* and its key is fully or ultimately valid in this keyring */
	char fpr[FPR_HEX_LEN + 1];  /* primary key fingerprint, "" when the key is unknown */
	char signing_fpr[FPR_HEX_LEN + 1];   /* the (sub)key that made it, as the signature says */
	char *uid;                  /* the key's first user id */
	char *role, *reason;        /* its notations, or NULL */
	long created;               /* seconds since the epoch */
	long judged;                /* when its key was judged valid: a genTime, or the verification time */
	int judged_proven;          /* `judged` is a timestamp's genTime */
	const char *hash;           /* "SHA256", ... */
	gpgme_validity_t validity;
	gpgme_sigsum_t summary;
	char *problem;              /* why it is not good; NULL when good */
};

#define SIGN_CHECK_INIT { 0 }

struct sign_checks {
	struct sign_check *items;
	size_t nr;
};

#define SIGN_CHECKS_INIT { NULL, 0 }

/*
 * Check one armored signature over `payload` in `s`'s keyring, held to
 * the times of `w` (NULL: no lower bound, judged at the verification
 * time). Returns 0 with the verdict in `out` (a bad signature is a
 * verdict, not an error), or -1 when gpg itself cannot be used.
 */
int sign_check_one_within(struct sign_check *out, struct sign_ctx *s, const char *payload, size_t len,
			  const char *armor, size_t armor_len, const struct sign_window *w);
int sign_check_one(struct sign_check *out, struct sign_ctx *s, const char *payload, size_t len,
		   const char *armor, size_t armor_len);

/* Check every signature of a note's signature part, one at a time. */
int sign_check_all_within(struct sign_checks *out, struct sign_ctx *s, const char *payload, size_t len,
			  const char *signatures, size_t signatures_len, const struct sign_window *w);
int sign_check_all(struct sign_checks *out, struct sign_ctx *s, const char *payload, size_t len,
		   const char *signatures, size_t signatures_len);

void sign_check_release(struct sign_check *c);
void sign_checks_release(struct sign_checks *c);

/*
 * The quorum: how many distinct primary keys listed in `signers` made a
 * good signature (two subkeys of one key count once). `missing`, if not
 * NULL, gets the listed fingerprints that have not signed. An empty
 * `signers` list counts every good signature's key.
 */
size_t sign_quorum(const struct sign_checks *checks, const struct strlist *signers, struct strlist *missing);

/* Is this primary key fingerprint in the list (an empty list allows every key)? */
int sign_key_allowed(const struct strlist *signers, const char *fpr);

/*
 * One line about a signature, for people: who, fingerprint, role and
 * reason, when, and the verdict ("good", "good, key not certified",
 * or "BAD: <problem>").
 */
void sign_check_describe(struct buf *out, const struct sign_check *c);
/* The same facts as JSON. */
json_t *sign_check_json(const struct sign_check *c);

/* Is `fpr` (a fingerprint or key id) the primary key `primary` or one of its subkeys? */
int sign_key_owns(struct sign_ctx *s, const char *primary, const char *fpr);

/*
 * The primary key that `fpr` (a full fingerprint, primary or subkey)
 * belongs to in `s`'s keyring: 1 with its fingerprint in `primary` (41
 * bytes), 0 when the keyring has no such key.
 */
int sign_key_primary(char *primary, struct sign_ctx *s, const char *fpr);

/* The first user id of the key with this fingerprint in `s`'s keyring, or NULL. */
char *sign_key_uid(struct sign_ctx *s, const char *fpr);

/*
 * Import the OpenPGP keys in `data` (armored or binary, as `gpg --export`
 * writes them) into `s`'s keyring. `fprs`, if not NULL, gets the full
 * primary fingerprint (upper case) of every key the data held. Fails
 * when the data holds no key at all.
 */
int sign_import_keys(struct sign_ctx *s, const char *data, size_t len, struct strlist *fprs);

/*
 * Export the public key `fpr` (a full primary fingerprint) from `s`'s
 * keyring into `out`: 1 when exported, 0 when the keyring has no such
 * key, -1 when gpg failed.
 */
int sign_export_key(struct buf *out, struct sign_ctx *s, const char *fpr);

/* Is `text` a full primary fingerprint (40 hex digits)? Upper-cased into `out` (41 bytes) when so. */
int sign_fpr_parse(char *out, const char *text);

#endif

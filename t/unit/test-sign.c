/*
 * The parts of signing that need no keyring: splitting a note's
 * signatures into armored blocks, the meaning a signature may carry,
 * and the quorum of distinct primary keys.
 */
#include <string.h>

#include "unit.h"
#include "sign.h"
#include "banned.h"

#define BLOCK "-----BEGIN PGP SIGNATURE-----\n\niHUEABYIAB0WIQ\n=abcd\n-----END PGP SIGNATURE-----\n"
#define ALICE "460016E617EE2D2D693B138638558CE55AAEAA26"
#define BOB "FD04A2D91BC02A9DBF62C4E99EF14E29A0AE0180"
#define CAROL "8D9FB38CCD358EC68FF00A7D87534AE7477DF31F"

START_TEST(test_split_two_blocks)
{
	struct strlist out = STRLIST_INIT;

	ck_assert_int_eq(sign_split(&out, BLOCK BLOCK, strlen(BLOCK BLOCK)), 0);
	ck_assert_uint_eq(out.nr, 2);
	ck_assert_str_eq(out.items[0], BLOCK);
	ck_assert_str_eq(out.items[1], BLOCK);
	strlist_release(&out);
}
END_TEST

START_TEST(test_split_nothing_is_no_signature)
{
	struct strlist out = STRLIST_INIT;

	ck_assert_int_eq(sign_split(&out, "", 0), 0);
	ck_assert_uint_eq(out.nr, 0);
}
END_TEST

START_TEST(test_split_refuses_anything_else)
{
	struct strlist out = STRLIST_INIT;
	static const char *const bad[] = {
		BLOCK "junk\n",
		"junk\n" BLOCK,
		"-----BEGIN PGP SIGNATURE-----\nabc\n",
		"-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----",
		BLOCK "\n",
		NULL,
	};

	for (size_t i = 0; bad[i]; i++) {
		ck_assert_msg(sign_split(&out, bad[i], strlen(bad[i])) < 0, "accepted case %zu", i);
		strlist_release(&out);
	}
}
END_TEST

START_TEST(test_meaning_is_a_word_and_a_line)
{
	ck_assert_int_eq(sign_meaning_valid("author", "seal: the analysis is complete"), 0);
	ck_assert_int_eq(sign_meaning_valid("data-manager", "Prüfung abgeschlossen"), 0);
	ck_assert_int_lt(sign_meaning_valid("Author", "x"), 0);
	ck_assert_int_lt(sign_meaning_valid("", "x"), 0);
	ck_assert_int_lt(sign_meaning_valid("a b", "x"), 0);
	ck_assert_int_lt(sign_meaning_valid("author", ""), 0);
	ck_assert_int_lt(sign_meaning_valid("author", "two\nlines"), 0);
	ck_assert_int_lt(sign_meaning_valid("author", "bad \377 utf-8"), 0);
}
END_TEST

static void add(struct sign_checks *c, const char *fpr, const char *signing, int good)
{
	struct sign_check *s;

	c->items = xrealloc(c->items, (c->nr + 1) * sizeof(*c->items));
	s = &c->items[c->nr++];
	memset(s, 0, sizeof(*s));
	memcpy(s->fpr, fpr, strlen(fpr) + 1);
	memcpy(s->signing_fpr, signing, strlen(signing) + 1);
	s->good = good;
}

START_TEST(test_quorum_counts_primary_keys_once)
{
	struct sign_checks c = SIGN_CHECKS_INIT;
	struct strlist signers = STRLIST_INIT, missing = STRLIST_INIT;

	strlist_add(&signers, ALICE);
	strlist_add(&signers, BOB);
	/* Two signatures by two subkeys of Alice's key are one signer. */
	add(&c, ALICE, "1111111111111111111111111111111111111111", 1);
	add(&c, ALICE, "2222222222222222222222222222222222222222", 1);
	ck_assert_uint_eq(sign_quorum(&c, &signers, &missing), 1);
	ck_assert_uint_eq(missing.nr, 1);
	ck_assert_str_eq(missing.items[0], BOB);
	strlist_release(&missing);

	/* A bad signature and a key not listed do not count. */
	add(&c, BOB, BOB, 0);
	add(&c, CAROL, CAROL, 1);
	ck_assert_uint_eq(sign_quorum(&c, &signers, NULL), 1);
	add(&c, BOB, BOB, 1);
	ck_assert_uint_eq(sign_quorum(&c, &signers, &missing), 2);
	ck_assert_uint_eq(missing.nr, 0);

	free(c.items);
	strlist_release(&signers);
}
END_TEST

START_TEST(test_an_empty_signer_list_allows_every_key)
{
	struct strlist none = STRLIST_INIT, one = STRLIST_INIT;

	strlist_add(&one, ALICE);
	ck_assert(sign_key_allowed(&none, CAROL));
	ck_assert(sign_key_allowed(&one, ALICE));
	ck_assert(!sign_key_allowed(&one, CAROL));
	strlist_release(&one);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("sign");
	TCase *tc = tcase_create("offline");

	tcase_add_test(tc, test_split_two_blocks);
	tcase_add_test(tc, test_split_nothing_is_no_signature);
	tcase_add_test(tc, test_split_refuses_anything_else);
	tcase_add_test(tc, test_meaning_is_a_word_and_a_line);
	tcase_add_test(tc, test_quorum_counts_primary_keys_once);
	tcase_add_test(tc, test_an_empty_signer_list_allows_every_key);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

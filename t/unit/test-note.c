/*
 * The note layout of gitbox-manifest(5): the payload is every byte
 * before the first line that is exactly the OpenPGP signature header.
 */
#include <string.h>

#include "unit.h"
#include "repo.h"
#include "banned.h"

#define SIG "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n"

static size_t split(const char *note)
{
	return box_note_payload_len(note, strlen(note));
}

START_TEST(test_note_without_signature_is_all_payload)
{
	ck_assert_uint_eq(split("{\"a\": 1}\n"), 9);
}
END_TEST

START_TEST(test_payload_ends_where_the_first_signature_starts)
{
	ck_assert_uint_eq(split("{\"a\": 1}\n" SIG), 9);
}
END_TEST

START_TEST(test_two_signatures_split_at_the_first)
{
	ck_assert_uint_eq(split("{}\n" SIG SIG), 3);
}
END_TEST

START_TEST(test_header_inside_a_line_is_payload)
{
	const char *note = "{\"x\": \"-----BEGIN PGP SIGNATURE-----\"}\n";

	ck_assert_uint_eq(split(note), strlen(note));
}
END_TEST

START_TEST(test_header_with_trailing_blank_is_not_a_header)
{
	const char *note = "{}\n-----BEGIN PGP SIGNATURE----- \n";

	ck_assert_uint_eq(split(note), strlen(note));
}
END_TEST

START_TEST(test_note_that_is_only_a_signature_has_an_empty_payload)
{
	ck_assert_uint_eq(split(SIG), 0);
}
END_TEST

START_TEST(test_header_as_last_line_without_newline_splits)
{
	ck_assert_uint_eq(split("{}\n-----BEGIN PGP SIGNATURE-----"), 3);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("note");
	TCase *tc = tcase_create("split");

	tcase_add_test(tc, test_note_without_signature_is_all_payload);
	tcase_add_test(tc, test_payload_ends_where_the_first_signature_starts);
	tcase_add_test(tc, test_two_signatures_split_at_the_first);
	tcase_add_test(tc, test_header_inside_a_line_is_payload);
	tcase_add_test(tc, test_header_with_trailing_blank_is_not_a_header);
	tcase_add_test(tc, test_note_that_is_only_a_signature_has_an_empty_payload);
	tcase_add_test(tc, test_header_as_last_line_without_newline_splits);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

/*
 * hash.h's struct hash_known: digests this process computed, by blob id.
 */
#include <string.h>

#include "unit.h"
#include "hash.h"
#include "banned.h"

static git_oid oid(unsigned char fill)
{
	unsigned char raw[GIT_OID_RAWSZ];
	git_oid id;

	memset(raw, fill, sizeof(raw));
	ck_assert_int_eq(git_oid_fromraw(&id, raw), 0);
	return id;
}

static void digest(unsigned char *out, unsigned char fill)
{
	memset(out, fill, SHA256_LEN);
}

START_TEST(a_record_is_found_by_blob_id_once_sorted)
{
	struct hash_known k = HASH_KNOWN_INIT;
	unsigned char d[SHA256_LEN];
	const struct hash_known_blob *b;
	git_oid a = oid(0xaa), m = oid(0x11), z = oid(0xff), none = oid(0x55);

	digest(d, 1);
	hash_known_add(&k, &a, 10, d);
	digest(d, 2);
	hash_known_add(&k, &z, 20, d);
	digest(d, 3);
	hash_known_add(&k, &m, 30, d);
	/* Not sorted yet: nothing is found, so that a caller reads the blob itself. */
	ck_assert_ptr_null(hash_known_find(&k, &a));
	hash_known_sort(&k);
	ck_assert_uint_eq(k.nr, 3);
	b = hash_known_find(&k, &z);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->size, 20);
	digest(d, 2);
	ck_assert_mem_eq(b->sha256, d, SHA256_LEN);
	b = hash_known_find(&k, &m);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(b->size, 30);
	ck_assert_ptr_null(hash_known_find(&k, &none));
	ck_assert_ptr_null(hash_known_find(NULL, &a));
	hash_known_release(&k);
	ck_assert_ptr_null(hash_known_find(&k, &a));
}
END_TEST

START_TEST(a_blob_is_kept_once_and_dropped_when_its_answers_differ)
{
	struct hash_known k = HASH_KNOWN_INIT;
	unsigned char d[SHA256_LEN];
	git_oid same = oid(0x22), torn = oid(0x33), other = oid(0x44);

	/* The same blob at three paths, with one answer: kept once. */
	digest(d, 7);
	hash_known_add(&k, &same, 5, d);
	hash_known_add(&k, &same, 5, d);
	hash_known_add(&k, &other, 1, d);
	hash_known_add(&k, &same, 5, d);
	/* Two answers for one blob: neither is trusted. */
	hash_known_add(&k, &torn, 9, d);
	digest(d, 8);
	hash_known_add(&k, &torn, 9, d);
	hash_known_sort(&k);
	ck_assert_uint_eq(k.nr, 2);
	ck_assert_ptr_nonnull(hash_known_find(&k, &same));
	ck_assert_ptr_nonnull(hash_known_find(&k, &other));
	ck_assert_ptr_null(hash_known_find(&k, &torn));
	hash_known_release(&k);

	/* A size that disagrees drops it too. */
	digest(d, 7);
	hash_known_add(&k, &torn, 9, d);
	hash_known_add(&k, &torn, 10, d);
	hash_known_sort(&k);
	ck_assert_uint_eq(k.nr, 0);
	ck_assert_ptr_null(hash_known_find(&k, &torn));
	hash_known_release(&k);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("hash_known");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_record_is_found_by_blob_id_once_sorted);
	tcase_add_test(tc, a_blob_is_kept_once_and_dropped_when_its_answers_differ);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

/*
 * The manifest payload of gitbox-manifest(5): its canonical form, and a
 * parser that accepts that form and nothing else.
 */
#include <string.h>

#include "unit.h"
#include "manifest.h"
#include "banned.h"

#define ID_A "1111111111111111111111111111111111111111"
#define ID_B "2222222222222222222222222222222222222222"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void add_file(struct manifest_files *f, const char *path, const char *sha, uint64_t size,
		     unsigned int mode)
{
	f->items = xrealloc(f->items, (f->nr + 1) * sizeof(*f->items));
	f->items[f->nr].path = xstrdup(path);
	ck_assert_int_eq(sha256_from_hex(f->items[f->nr].sha256, sha), 0);
	f->items[f->nr].size = size;
	f->items[f->nr].mode = mode;
	f->nr++;
	f->alloc = f->nr;
}

/* A checkpoint with one file of each class. */
static void sample(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->event = xstrdup("checkpoint");
	m->name = xstrdup("study");
	git_oid_fromstr(&m->box, ID_A);
	git_oid_fromstr(&m->commit, ID_B);
	git_oid_fromstr(&m->tree, ID_B);
	m->has_previous = 1;
	sha256_from_hex(m->previous, SHA_A);
	memcpy(m->time, "2023-11-14T22:13:20Z", MANIFEST_TIME_LEN + 1);
	m->message = xstrdup("first results");
	sha256_from_hex(m->policy, SHA_B);
	add_file(&m->inputs, "input/data.csv", SHA_A, 19, 0100644);
	add_file(&m->outputs, "output/r.csv", SHA_B, 4, 0100644);
	add_file(&m->code, "run.sh", SHA_A, 12, 0100755);
	add_file(&m->code, "link", SHA_B, 6, 0120000);
	m->environment = json_pack("{s:s, s:[]}", "git-box", "0.1.0", "captures");
}

static void sample_payload(struct buf *out)
{
	struct manifest m;

	sample(&m);
	ck_assert_int_eq(manifest_payload(out, &m), 0);
	manifest_release(&m);
}

/* Parse `payload` with `from` replaced by `to`; returns the parser's answer. */
static int parse_edited(const char *from, const char *to)
{
	struct buf p = BUF_INIT, edited = BUF_INIT;
	struct manifest m;
	char *at;
	int ret;

	sample_payload(&p);
	at = strstr(p.ptr, from);
	ck_assert_msg(at != NULL, "'%s' is not in the sample", from);
	buf_add(&edited, p.ptr, (size_t)(at - p.ptr));
	buf_adds(&edited, to);
	buf_adds(&edited, at + strlen(from));
	ret = manifest_parse(&m, edited.ptr, edited.len);
	if (!ret)
		manifest_release(&m);
	buf_release(&p);
	buf_release(&edited);
	return ret;
}

START_TEST(test_payload_round_trips)
{
	struct buf p = BUF_INIT, again = BUF_INIT;
	struct manifest m;

	sample_payload(&p);
	ck_assert_int_eq(manifest_parse(&m, p.ptr, p.len), 0);
	ck_assert_str_eq(m.event, "checkpoint");
	ck_assert_uint_eq(m.code.nr, 2);
	ck_assert_str_eq(m.code.items[0].path, "link");
	ck_assert_uint_eq(m.code.items[0].mode, 0120000);
	ck_assert_int_eq(manifest_payload(&again, &m), 0);
	ck_assert_uint_eq(again.len, p.len);
	ck_assert(!memcmp(again.ptr, p.ptr, p.len));
	manifest_release(&m);
	buf_release(&p);
	buf_release(&again);
}
END_TEST

START_TEST(test_payload_is_sorted_indented_and_ends_in_one_newline)
{
	struct buf p = BUF_INIT;

	sample_payload(&p);
	ck_assert(!strncmp(p.ptr, "{\n  \"box\": \"" ID_A "\",\n  \"code\": {\n    \"link\": {\n", 50));
	ck_assert_int_eq(p.ptr[p.len - 1], '\n');
	ck_assert_int_ne(p.ptr[p.len - 2], '\n');
	ck_assert(strstr(p.ptr, "\n  \"schema\": \"git-box/manifest/v1\",\n") != NULL);
	ck_assert(strstr(p.ptr, "\r") == NULL);
	buf_release(&p);
}
END_TEST

START_TEST(test_duplicate_keys_are_refused)
{
	ck_assert_int_lt(parse_edited("  \"name\": \"study\",\n", "  \"name\": \"study\",\n  \"name\": \"x\",\n"), 0);
	ck_assert(strstr(box_error_last(), "duplicate") != NULL);
}
END_TEST

START_TEST(test_unknown_schema_is_refused)
{
	ck_assert_int_lt(parse_edited("git-box/manifest/v1", "git-box/manifest/v2"), 0);
	ck_assert(strstr(box_error_last(), "unknown schema 'git-box/manifest/v2'") != NULL);
}
END_TEST

START_TEST(test_unknown_and_missing_keys_are_refused)
{
	ck_assert_int_lt(parse_edited("  \"name\": \"study\",\n", "  \"name\": \"study\",\n  \"nickname\": \"s\",\n"), 0);
	ck_assert(strstr(box_error_last(), "unknown key 'nickname'") != NULL);
	ck_assert_int_lt(parse_edited("  \"name\": \"study\",\n", ""), 0);
	ck_assert(strstr(box_error_last(), "has no 'name'") != NULL);
}
END_TEST

START_TEST(test_unsafe_paths_are_refused)
{
	static const char *const bad[] = {
		"/etc/passwd", "../up", "input/../../up", "input/./x", "input//x", "input/x/",
		".git/config", "input/.GIT/x", "", NULL,
	};

	for (size_t i = 0; bad[i]; i++) {
		char to[64];

		snprintf(to, sizeof(to), "\"%s\": {", bad[i]);
		ck_assert_msg(parse_edited("\"input/data.csv\": {", to) < 0, "'%s' was accepted", bad[i]);
	}
	ck_assert(manifest_path_valid("input/a..b/.hidden"));
}
END_TEST

START_TEST(test_digests_must_be_64_lower_case_hex)
{
	ck_assert_int_lt(parse_edited("\"sha256\": \"" SHA_A "\",\n      \"size\": 19",
				      "\"sha256\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\n      \"size\": 19"), 0);
	ck_assert_int_lt(parse_edited("\"sha256\": \"" SHA_A "\",\n      \"size\": 19",
				      "\"sha256\": \"aaaa\",\n      \"size\": 19"), 0);
	ck_assert_int_lt(parse_edited("\"policy\": \"" SHA_B "\"",
				      "\"policy\": \"gbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\""), 0);
	ck_assert_int_lt(parse_edited("\"commit\": \"" ID_B "\"", "\"commit\": \"2222\""), 0);
	ck_assert_int_lt(parse_edited("\"commit\": \"" ID_B "\"",
				      "\"commit\": \"ABCDEF2222222222222222222222222222222222\""), 0);
}
END_TEST

START_TEST(test_modes_and_sizes_are_checked)
{
	ck_assert_int_lt(parse_edited("\"mode\": \"100755\"", "\"mode\": \"100777\""), 0);
	ck_assert_int_lt(parse_edited("\"size\": 19", "\"size\": -19"), 0);
	ck_assert_int_lt(parse_edited("\"size\": 19", "\"size\": \"19\""), 0);
}
END_TEST

START_TEST(test_only_the_canonical_bytes_are_accepted)
{
	struct buf p = BUF_INIT;
	struct manifest m;

	sample_payload(&p);
	ck_assert_int_lt(manifest_parse(&m, p.ptr, p.len - 1), 0);   /* no final newline */
	ck_assert(strstr(box_error_last(), "canonical") != NULL);
	buf_addch(&p, '\n');
	ck_assert_int_lt(manifest_parse(&m, p.ptr, p.len), 0);       /* two */
	buf_release(&p);
	ck_assert_int_lt(parse_edited("\"name\": \"study\"", "\"name\":  \"study\""), 0);
	ck_assert_int_lt(parse_edited("{\n  \"box\"", "{\r\n  \"box\""), 0);
}
END_TEST

START_TEST(test_time_is_utc_rfc3339)
{
	ck_assert_int_lt(parse_edited("2023-11-14T22:13:20Z", "2023-11-14T22:13:20+01:00"), 0);
	ck_assert_int_lt(parse_edited("2023-11-14T22:13:20Z", "2023-02-30T22:13:20Z"), 0);
}
END_TEST

START_TEST(test_previous_is_null_for_init_only)
{
	ck_assert_int_lt(parse_edited("\"previous\": \"" SHA_A "\"", "\"previous\": null"), 0);
	ck_assert_int_lt(parse_edited("\"event\": \"checkpoint\"", "\"event\": \"init\""), 0);
	ck_assert_int_lt(parse_edited("\"event\": \"checkpoint\"", "\"event\": \"run\""), 0);
}
END_TEST

START_TEST(test_a_path_in_two_classes_is_refused)
{
	ck_assert_int_lt(parse_edited("\"output/r.csv\": {", "\"input/data.csv\": {"), 0);
	ck_assert(strstr(box_error_last(), "listed twice") != NULL);
}
END_TEST

START_TEST(test_trailing_data_and_nul_are_refused)
{
	struct buf p = BUF_INIT;
	struct manifest m;

	sample_payload(&p);
	buf_adds(&p, "{}\n");
	ck_assert_int_lt(manifest_parse(&m, p.ptr, p.len), 0);
	buf_release(&p);
	ck_assert_int_lt(parse_edited("first results", "first\\u0000results"), 0);
}
END_TEST

START_TEST(test_header_parse_reads_the_chain_fields_only)
{
	struct buf p = BUF_INIT, loose = BUF_INIT;
	struct manifest m;
	char *at;

	sample_payload(&p);
	ck_assert_int_eq(manifest_parse_header(&m, p.ptr, p.len), 0);
	ck_assert_str_eq(m.event, "checkpoint");
	ck_assert(m.has_previous);
	ck_assert_uint_eq(m.code.nr, 0);
	manifest_release(&m);

	/* A bad file entry or a non-canonical layout is left to manifest_parse(). */
	at = strstr(p.ptr, "\"size\": 19");
	buf_add(&loose, p.ptr, (size_t)(at - p.ptr));
	buf_adds(&loose, "\"size\":   -19");
	buf_adds(&loose, at + strlen("\"size\": 19"));
	ck_assert_int_eq(manifest_parse_header(&m, loose.ptr, loose.len), 0);
	manifest_release(&m);
	ck_assert_int_lt(manifest_parse(&m, loose.ptr, loose.len), 0);
	buf_release(&loose);
	buf_release(&p);

	/* The top-level fields are read as strictly as ever. */
	ck_assert_int_lt(parse_edited("git-box/manifest/v1", "git-box/manifest/v9"), 0);
}
END_TEST

START_TEST(test_set_files_sorts_by_policy_and_refuses_bad_names)
{
	struct policy policy = POLICY_INIT;
	struct hash_files files = HASH_FILES_INIT;
	struct manifest m = MANIFEST_INIT;
	const char *text = "version: 1\nname: s\nbranch: main\ninputs: [input/]\noutputs: [output/]\n"
			   "signing:\n  when: none\n";
	const char *paths[] = { ".box/policy.yaml", "input/b", "input/a", "output/r", "z.R", NULL };

	ck_assert_int_eq(policy_parse(&policy, "test", text, strlen(text)), 0);
	files.items = xcalloc(6, sizeof(*files.items));
	for (size_t i = 0; paths[i]; i++) {
		files.items[i].path = xstrdup(paths[i]);
		files.items[i].mode = 0100644;
		files.items[i].sha256[0] = (unsigned char)i;
	}
	files.nr = files.alloc = 5;
	ck_assert_int_eq(manifest_set_files(&m, &files, &policy), 0);
	ck_assert_uint_eq(m.inputs.nr, 2);
	ck_assert_str_eq(m.inputs.items[0].path, "input/a");
	ck_assert_uint_eq(m.outputs.nr, 1);
	ck_assert_uint_eq(m.code.nr, 2);
	ck_assert_int_eq(m.policy[0], 0);
	manifest_release(&m);

	free(files.items[4].path);
	files.items[4].path = xstrdup("bad\377name");
	ck_assert_int_eq(manifest_set_files(&m, &files, &policy), BOX_EREFUSED);
	ck_assert(strstr(box_error_last(), "bad\\xffname") != NULL);
	manifest_release(&m);
	hash_files_release(&files);
	policy_release(&policy);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("manifest");
	TCase *tc = tcase_create("payload");

	tcase_add_test(tc, test_payload_round_trips);
	tcase_add_test(tc, test_payload_is_sorted_indented_and_ends_in_one_newline);
	tcase_add_test(tc, test_duplicate_keys_are_refused);
	tcase_add_test(tc, test_unknown_schema_is_refused);
	tcase_add_test(tc, test_unknown_and_missing_keys_are_refused);
	tcase_add_test(tc, test_unsafe_paths_are_refused);
	tcase_add_test(tc, test_digests_must_be_64_lower_case_hex);
	tcase_add_test(tc, test_modes_and_sizes_are_checked);
	tcase_add_test(tc, test_only_the_canonical_bytes_are_accepted);
	tcase_add_test(tc, test_time_is_utc_rfc3339);
	tcase_add_test(tc, test_previous_is_null_for_init_only);
	tcase_add_test(tc, test_a_path_in_two_classes_is_refused);
	tcase_add_test(tc, test_trailing_data_and_nul_are_refused);
	tcase_add_test(tc, test_header_parse_reads_the_chain_fields_only);
	tcase_add_test(tc, test_set_files_sorts_by_policy_and_refuses_bad_names);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

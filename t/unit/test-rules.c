/*
 * The policy's commit rules (rules.h): the forbid_paths glob matcher as
 * gitbox-policy(5) documents it, and each rule judged on changes and
 * messages in a scratch repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "rules.h"
#include "banned.h"

/* ---- the glob matcher ------------------------------------------------------ */

#define MATCH(pattern, path) ck_assert_msg(rules_glob_match(pattern, path), \
	"'%s' should match '%s'", pattern, path)
#define NO_MATCH(pattern, path) ck_assert_msg(!rules_glob_match(pattern, path), \
	"'%s' should not match '%s'", pattern, path)

START_TEST(star_stays_within_one_folder_name)
{
	MATCH("*.pem", "key.pem");
	NO_MATCH("*.pem", "a/key.pem");
	NO_MATCH("*.pem", "key.pem.txt");
	MATCH("a/*/c", "a/b/c");
	NO_MATCH("a/*/c", "a/b/x/c");
}
END_TEST

START_TEST(double_star_folder_matches_any_number_of_folders)
{
	MATCH("**/*.pem", "key.pem");
	MATCH("**/*.pem", "a/key.pem");
	MATCH("**/*.pem", "a/b/c/key.pem");
	NO_MATCH("**/*.pem", "a/key.pem/readme");
	MATCH("**/.env", ".env");
	MATCH("**/.env", "deploy/.env");
	NO_MATCH("**/.env", "deploy/.envrc");
	MATCH("a/**/b", "a/b");
	MATCH("a/**/b", "a/x/b");
	MATCH("a/**/b", "a/x/y/b");
	NO_MATCH("a/**/b", "a/xb");
	NO_MATCH("a/**/b", "b");
}
END_TEST

START_TEST(double_star_at_the_end_is_everything_inside)
{
	MATCH("secrets/**", "secrets/a");
	MATCH("secrets/**", "secrets/a/b");
	NO_MATCH("secrets/**", "secrets");
	NO_MATCH("secrets/**", "secretsx/a");
	MATCH("**", "anything");
	MATCH("**", "any/thing");
}
END_TEST

START_TEST(trailing_slash_covers_the_folder)
{
	MATCH("secrets/", "secrets/a");
	MATCH("secrets/", "secrets/a/b");
	NO_MATCH("secrets/", "secrets");
	MATCH("**/cache/", "x/cache/f");
}
END_TEST

START_TEST(question_mark_and_sets_match_one_character)
{
	MATCH("data?.csv", "data1.csv");
	NO_MATCH("data?.csv", "data10.csv");
	NO_MATCH("a?b", "a/b");
	MATCH("[0-9]*.log", "7days.log");
	NO_MATCH("[0-9]*.log", "days.log");
	MATCH("[!a]*", "b");
	NO_MATCH("[!a]*", "a");
}
END_TEST

START_TEST(backslash_quotes_the_next_character)
{
	MATCH("a\\*b", "a*b");
	NO_MATCH("a\\*b", "axb");
	MATCH("what\\?", "what?");
	NO_MATCH("what\\?", "whatx");
}
END_TEST

START_TEST(the_whole_path_must_match_and_case_counts)
{
	NO_MATCH("key", "key.pem");
	NO_MATCH("pem", "key.pem");
	NO_MATCH("*.PEM", "key.pem");
	MATCH("*", ".hidden");
	MATCH("/top.txt", "top.txt");
	NO_MATCH("", "a");
	MATCH("a**b", "axyb");
	NO_MATCH("a**b", "a/b");
}
END_TEST

START_TEST(names_with_spaces_and_non_ascii_letters)
{
	MATCH("**/caf\xc3\xa9 *.csv", "d/caf\xc3\xa9 menu.csv");
	MATCH("my file.txt", "my file.txt");
	MATCH("**/*.txt", "a\nb/c.txt");
}
END_TEST

/* ---- a scratch repository -------------------------------------------------- */

static char dir[64];
static git_repository *repo;
static struct policy policy;

static const char policy_text[] =
	"version: 1\n"
	"name: box\n"
	"branch: main\n"
	"inputs: [input/]\n"
	"signing: {when: none}\n"
	"rules:\n"
	"  max_file_size: 10B\n"
	"  forbid_paths: ['**/*.pem', 'secrets/']\n"
	"  forbid_content:\n"
	"    - {name: us-ssn, regex: '\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b'}\n"
	"    - {name: todo, regex: 'TODO'}\n"
	"  require_trailers: [Ticket, Reviewed-by]\n";

static void setup(void)
{
	git_libgit2_init();
	snprintf(dir, sizeof(dir), "/tmp/test-rules-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(git_repository_init(&repo, dir, 1), 0);
	ck_assert_int_eq(policy_parse(&policy, "policy", policy_text, strlen(policy_text)), 0);
}

static void teardown(void)
{
	policy_release(&policy);
	git_repository_free(repo);
	ck_assert_int_eq(remove_tree(dir), 0);
	git_libgit2_shutdown();
}

static git_oid blob(const char *content, size_t len)
{
	git_oid id;

	ck_assert_int_eq(git_blob_create_from_buffer(&id, repo, content, len), 0);
	return id;
}

/* A change from `old` (NULL: added) to `new` (NULL: deleted). */
static void change(struct changes *c, const char *path, const char *old, const char *new,
		   uint32_t mode)
{
	struct change *x;

	c->items = xrealloc(c->items, (c->nr + 1) * sizeof(*c->items));
	x = &c->items[c->nr++];
	memset(x, 0, sizeof(*x));
	x->path = xstrdup(path);
	if (old) {
		x->old_id = blob(old, strlen(old));
		x->old_mode = 0100644;
	}
	if (new) {
		x->new_id = blob(new, strlen(new));
		x->new_mode = mode;
	}
}

static void judge(struct violations *v, struct changes *c)
{
	ck_assert_int_eq(rules_check_changes(v, repo, &policy, c, NULL), 0);
}

START_TEST(a_file_over_max_file_size_is_named)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;

	change(&c, "big.csv", NULL, "12345678901", 0100644);
	change(&c, "fits.csv", NULL, "1234567890", 0100644);
	judge(&v, &c);
	ck_assert_uint_eq(v.nr, 1);
	ck_assert_str_eq(v.items[0].rule, "max_file_size");
	ck_assert_str_eq(v.items[0].path, "big.csv");
	ck_assert_ptr_nonnull(strstr(v.items[0].detail, "11 bytes"));
	violations_release(&v);
	changes_release(&c);
}
END_TEST

START_TEST(a_forbidden_path_is_named_with_its_pattern)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;

	change(&c, "deploy/server.pem", NULL, "k", 0100644);
	change(&c, "secrets/a/b", NULL, "s", 0100644);
	change(&c, "secrets.txt", NULL, "ok", 0100644);
	change(&c, "link.pem", NULL, "target", 0120000);
	judge(&v, &c);
	ck_assert_uint_eq(v.nr, 3);
	ck_assert_str_eq(v.items[0].path, "deploy/server.pem");
	ck_assert_str_eq(v.items[0].rule, "forbid_paths");
	ck_assert_ptr_nonnull(strstr(v.items[0].detail, "**/*.pem"));
	ck_assert_str_eq(v.items[1].path, "secrets/a/b");
	ck_assert_str_eq(v.items[2].path, "link.pem");
	violations_release(&v);
	changes_release(&c);
}
END_TEST

START_TEST(deleting_a_forbidden_file_is_allowed)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;

	change(&c, "old.pem", "k", NULL, 0);
	judge(&v, &c);
	ck_assert_uint_eq(v.nr, 0);
	violations_release(&v);
	changes_release(&c);
}
END_TEST

START_TEST(protected_paths_are_left_to_the_read_only_rules)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;

	change(&c, "input/huge-key.pem", NULL, "123-45-6789 is longer than ten", 0100644);
	judge(&v, &c);
	ck_assert_uint_eq(v.nr, 0);
	violations_release(&v);
	changes_release(&c);
}
END_TEST

START_TEST(forbidden_content_names_path_line_and_rule_but_not_the_text)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;
	struct policy big = POLICY_INIT;
	char *text = xstrdup(policy_text);

	/* the same rules without the size limit */
	memcpy(strstr(text, "10B"), "0  ", 3);
	ck_assert_int_eq(policy_parse(&big, "policy", text, strlen(text)), 0);
	change(&c, "notes.txt", "a\nb\n", "a\nb\nid 123-45-6789\nc TODO\n", 0100644);
	ck_assert_int_eq(rules_check_changes(&v, repo, &big, &c, NULL), 0);
	ck_assert_uint_eq(v.nr, 2);
	ck_assert_str_eq(v.items[0].path, "notes.txt");
	ck_assert_uint_eq(v.items[0].line, 3);
	ck_assert_str_eq(v.items[0].rule, "forbid_content");
	ck_assert_ptr_nonnull(strstr(v.items[0].detail, "us-ssn"));
	ck_assert_ptr_null(strstr(v.items[0].detail, "6789"));
	ck_assert_uint_eq(v.items[1].line, 4);
	ck_assert_ptr_nonnull(strstr(v.items[1].detail, "todo"));
	violations_release(&v);
	changes_release(&c);
	policy_release(&big);
	free(text);
}
END_TEST

START_TEST(only_added_lines_of_text_files_are_read)
{
	struct changes c = CHANGES_INIT;
	struct violations v = VIOLATIONS_INIT;
	struct policy big = POLICY_INIT;
	char *text = xstrdup(policy_text);
	static const char binary[] = "123-45-6789\n\0\1\2";

	memcpy(strstr(text, "10B"), "0  ", 3);
	ck_assert_int_eq(policy_parse(&big, "policy", text, strlen(text)), 0);
	/* the match was there before: the commit only adds a clean line */
	change(&c, "old.txt", "TODO\n", "TODO\nfine\n", 0100644);
	change(&c, "gone.txt", "TODO\n", NULL, 0);
	c.items = xrealloc(c.items, (c.nr + 1) * sizeof(*c.items));
	memset(&c.items[c.nr], 0, sizeof(c.items[c.nr]));
	c.items[c.nr].path = xstrdup("data.bin");
	c.items[c.nr].new_id = blob(binary, sizeof(binary));
	c.items[c.nr++].new_mode = 0100644;
	ck_assert_int_eq(rules_check_changes(&v, repo, &big, &c, NULL), 0);
	ck_assert_uint_eq(v.nr, 0);
	violations_release(&v);
	changes_release(&c);
	policy_release(&big);
	free(text);
}
END_TEST

START_TEST(required_trailers_are_found_in_the_last_paragraph)
{
	struct violations v = VIOLATIONS_INIT;

	rules_check_message(&v, &policy, "Fit the model\n\nTicket: ABC-1\nReviewed-by: Bob\n", NULL);
	ck_assert_uint_eq(v.nr, 0);
	rules_check_message(&v, &policy, "Fit\n\nticket: ABC-1\nreviewed-by: Bob\n", NULL);
	ck_assert_uint_eq(v.nr, 0);
	rules_check_message(&v, &policy, "Fit the model\n\nTicket: ABC-1\n", NULL);
	ck_assert_uint_eq(v.nr, 1);
	ck_assert_str_eq(v.items[0].rule, "require_trailers");
	ck_assert_ptr_nonnull(strstr(v.items[0].detail, "'Reviewed-by:'"));
	violations_release(&v);
}
END_TEST

START_TEST(a_trailer_outside_the_last_paragraph_does_not_count)
{
	struct violations v = VIOLATIONS_INIT;

	rules_check_message(&v, &policy, "Fit\n\nTicket: A\nReviewed-by: B\n\nMore text.\n", NULL);
	ck_assert_uint_eq(v.nr, 2);
	violations_release(&v);
	rules_check_message(&v, &policy, "Ticket: A\n", NULL);
	ck_assert_uint_eq(v.nr, 2);
	violations_release(&v);
}
END_TEST

START_TEST(violations_keep_commit_ref_and_path)
{
	struct violations v = VIOLATIONS_INIT;
	git_oid id;

	git_oid_fromstr(&id, "0123456789abcdef0123456789abcdef01234567");
	violations_add(&v, &id, "refs/heads/main", "a b", 7, "forbid_content", "x %d", 1);
	ck_assert_uint_eq(v.nr, 1);
	ck_assert(git_oid_equal(&v.items[0].commit, &id));
	ck_assert_str_eq(v.items[0].ref, "refs/heads/main");
	ck_assert_str_eq(v.items[0].path, "a b");
	ck_assert_uint_eq(v.items[0].line, 7);
	ck_assert_str_eq(v.items[0].detail, "x 1");
	ck_assert_str_eq(rules_protected_name(".box/policy.yaml"), RULE_READ_ONLY_POLICY);
	ck_assert_str_eq(rules_protected_name("input/a"), RULE_READ_ONLY_INPUT);
	violations_release(&v);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("rules");
	TCase *glob = tcase_create("forbid_paths globs");
	TCase *rules = tcase_create("rules on changes and messages");

	tcase_add_test(glob, star_stays_within_one_folder_name);
	tcase_add_test(glob, double_star_folder_matches_any_number_of_folders);
	tcase_add_test(glob, double_star_at_the_end_is_everything_inside);
	tcase_add_test(glob, trailing_slash_covers_the_folder);
	tcase_add_test(glob, question_mark_and_sets_match_one_character);
	tcase_add_test(glob, backslash_quotes_the_next_character);
	tcase_add_test(glob, the_whole_path_must_match_and_case_counts);
	tcase_add_test(glob, names_with_spaces_and_non_ascii_letters);
	suite_add_tcase(s, glob);

	tcase_add_checked_fixture(rules, setup, teardown);
	tcase_add_test(rules, a_file_over_max_file_size_is_named);
	tcase_add_test(rules, a_forbidden_path_is_named_with_its_pattern);
	tcase_add_test(rules, deleting_a_forbidden_file_is_allowed);
	tcase_add_test(rules, protected_paths_are_left_to_the_read_only_rules);
	tcase_add_test(rules, forbidden_content_names_path_line_and_rule_but_not_the_text);
	tcase_add_test(rules, only_added_lines_of_text_files_are_read);
	tcase_add_test(rules, required_trailers_are_found_in_the_last_paragraph);
	tcase_add_test(rules, a_trailer_outside_the_last_paragraph_does_not_count);
	tcase_add_test(rules, violations_keep_commit_ref_and_path);
	suite_add_tcase(s, rules);
	return s;
}

UNIT_MAIN(make_suite)

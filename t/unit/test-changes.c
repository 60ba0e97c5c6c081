/*
 * changes.h: what differs between two trees, read only where it differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "changes.h"
#include "banned.h"

static char dir[64];
static git_repository *repo;

static void setup(void)
{
	git_libgit2_init();
	snprintf(dir, sizeof(dir), "/tmp/test-changes-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(git_repository_init(&repo, dir, 1), 0);
}

static void teardown(void)
{
	git_repository_free(repo);
	ck_assert_int_eq(remove_tree(dir), 0);
	git_libgit2_shutdown();
}

/*
 * A tree from "path=content" strings; "path@content" makes it executable,
 * "path>target" a symbolic link.
 */
static git_tree *tree(const char *const *files)
{
	git_index *index = NULL;
	git_tree *t = NULL;
	git_oid id;

	ck_assert_int_eq(git_index_new(&index), 0);
	for (; *files; files++) {
		const char *sep = strpbrk(*files, "=@>");
		git_index_entry e;
		char *path = xstrndup(*files, (size_t)(sep - *files));

		memset(&e, 0, sizeof(e));
		e.path = path;
		e.mode = *sep == '=' ? 0100644 : *sep == '@' ? 0100755 : 0120000;
		ck_assert_int_eq(git_blob_create_from_buffer(&e.id, repo, sep + 1, strlen(sep + 1)), 0);
		ck_assert_int_eq(git_index_add(index, &e), 0);
		free(path);
	}
	ck_assert_int_eq(git_index_write_tree_to(&id, index, repo), 0);
	ck_assert_int_eq(git_tree_lookup(&t, repo, &id), 0);
	git_index_free(index);
	return t;
}

static void diff(struct changes *c, git_tree *a, git_tree *b)
{
	ck_assert_int_eq(changes_between_trees(c, repo, a, b), 0);
}

START_TEST(the_same_tree_has_no_changes)
{
	const char *files[] = { "a=1", "d/b=2", "d/e/c=3", NULL };
	git_tree *a = tree(files), *b = tree(files);
	struct changes c = CHANGES_INIT;

	diff(&c, a, b);
	ck_assert_uint_eq(c.nr, 0);
	git_tree_free(a);
	git_tree_free(b);
}
END_TEST

START_TEST(a_deep_change_is_found_with_its_path_and_ids)
{
	const char *old[] = { "a=1", "d/b=2", "d/e/c=3", "z=4", NULL };
	const char *new[] = { "a=1", "d/b=2", "d/e/c=changed", "z=4", NULL };
	git_tree *a = tree(old), *b = tree(new);
	struct changes c = CHANGES_INIT;
	git_oid three;

	diff(&c, a, b);
	ck_assert_uint_eq(c.nr, 1);
	ck_assert_str_eq(c.items[0].path, "d/e/c");
	ck_assert_str_eq(change_kind(&c.items[0]), "modified");
	git_blob_create_from_buffer(&three, repo, "3", 1);
	ck_assert(git_oid_equal(&c.items[0].old_id, &three));
	ck_assert_uint_eq(c.items[0].old_mode, 0100644);
	ck_assert_uint_eq(c.items[0].new_mode, 0100644);
	changes_release(&c);
	git_tree_free(a);
	git_tree_free(b);
}
END_TEST

START_TEST(added_deleted_mode_and_type_changes_are_told_apart)
{
	const char *old[] = { "gone=1", "keep=2", "run=3", "link=4", NULL };
	const char *new[] = { "keep=2", "new=5", "run@3", "link>4", NULL };
	git_tree *a = tree(old), *b = tree(new);
	struct changes c = CHANGES_INIT;
	struct buf what = BUF_INIT;

	diff(&c, a, b);
	ck_assert_uint_eq(c.nr, 4);
	ck_assert_str_eq(c.items[0].path, "gone");
	ck_assert_str_eq(change_kind(&c.items[0]), "deleted");
	ck_assert_str_eq(c.items[1].path, "link");
	ck_assert_str_eq(change_kind(&c.items[1]), "type changed");
	change_describe(&what, &c.items[1]);
	ck_assert_str_eq(what.ptr, "type changed (100644 to 120000, a symbolic link)");
	ck_assert_str_eq(c.items[2].path, "new");
	ck_assert_str_eq(change_kind(&c.items[2]), "added");
	ck_assert_str_eq(c.items[3].path, "run");
	ck_assert_str_eq(change_kind(&c.items[3]), "mode changed");
	ck_assert(!change_is_file(&c.items[1]));
	ck_assert(change_is_file(&c.items[3]));
	buf_release(&what);
	changes_release(&c);
	git_tree_free(a);
	git_tree_free(b);
}
END_TEST

START_TEST(a_folder_replaced_by_a_file_is_every_file_on_each_side)
{
	const char *old[] = { "x/a=1", "x/b=2", "x.txt=3", NULL };
	const char *new[] = { "x=file", "x.txt=3", NULL };
	git_tree *a = tree(old), *b = tree(new);
	struct changes c = CHANGES_INIT;

	diff(&c, a, b);
	ck_assert_uint_eq(c.nr, 3);
	ck_assert_str_eq(c.items[0].path, "x");
	ck_assert_str_eq(change_kind(&c.items[0]), "added");
	ck_assert_str_eq(c.items[1].path, "x/a");
	ck_assert_str_eq(change_kind(&c.items[1]), "deleted");
	ck_assert_str_eq(c.items[2].path, "x/b");
	changes_release(&c);
	git_tree_free(a);
	git_tree_free(b);
}
END_TEST

START_TEST(no_old_tree_adds_everything)
{
	const char *files[] = { "a=1", "d/b=2", NULL };
	git_tree *b = tree(files);
	struct changes c = CHANGES_INIT;

	diff(&c, NULL, b);
	ck_assert_uint_eq(c.nr, 2);
	ck_assert_str_eq(c.items[1].path, "d/b");
	ck_assert_uint_eq(c.items[1].old_mode, 0);
	changes_release(&c);
	diff(&c, b, NULL);
	ck_assert_uint_eq(c.nr, 2);
	ck_assert_str_eq(change_kind(&c.items[0]), "deleted");
	changes_release(&c);
	git_tree_free(b);
}
END_TEST

START_TEST(an_unchanged_subtree_is_never_read)
{
	const char *old[] = { "big/a=1", "big/b=2", "small/c=3", NULL };
	const char *new[] = { "big/a=1", "big/b=2", "small/c=4", NULL };
	git_tree *a = tree(old), *b = tree(new), *fa = NULL, *fb = NULL;
	const git_tree_entry *big = git_tree_entry_byname(a, "big");
	git_repository *fresh = NULL;
	struct changes c = CHANGES_INIT;
	char hex[GIT_OID_HEXSZ + 1], *path;

	/* Take the shared subtree away: reading it would fail. */
	git_oid_tostr(hex, sizeof(hex), git_tree_entry_id(big));
	path = xstrfmt("%s/objects/%.2s/%s", dir, hex, hex + 2);
	ck_assert_int_eq(unlink(path), 0);
	free(path);
	/* and compare in a repository opened afresh, with nothing cached */
	ck_assert_int_eq(git_repository_open(&fresh, dir), 0);
	ck_assert_int_eq(git_tree_lookup(&fa, fresh, git_tree_id(a)), 0);
	ck_assert_int_eq(git_tree_lookup(&fb, fresh, git_tree_id(b)), 0);
	ck_assert_int_eq(changes_between_trees(&c, fresh, fa, fb), 0);
	ck_assert_uint_eq(c.nr, 1);
	ck_assert_str_eq(c.items[0].path, "small/c");
	changes_release(&c);
	git_tree_free(fa);
	git_tree_free(fb);
	git_repository_free(fresh);
	git_tree_free(a);
	git_tree_free(b);
}
END_TEST

static Suite *make_suite(void)
{
	Suite *s = suite_create("changes");
	TCase *tc = tcase_create("tree to tree");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, the_same_tree_has_no_changes);
	tcase_add_test(tc, a_deep_change_is_found_with_its_path_and_ids);
	tcase_add_test(tc, added_deleted_mode_and_type_changes_are_told_apart);
	tcase_add_test(tc, a_folder_replaced_by_a_file_is_every_file_on_each_side);
	tcase_add_test(tc, no_old_tree_adds_everything);
	tcase_add_test(tc, an_unchanged_subtree_is_never_read);
	suite_add_tcase(s, tc);
	return s;
}

UNIT_MAIN(make_suite)

#!/bin/sh

test_description='read-only inputs on disk stop the commands that write the work tree first

git reset --hard, a fast-forward merge and cherry-pick write the work
tree before they move a ref, so reference-transaction can only refuse
the ref. The first layer is the file modes: an input file is 0444 in a
0555 folder, and git cannot replace it, so the command stops with the
work tree, the index and the refs as they were. Root ignores modes, so
these tests run as an unprivileged user (as nobody through setpriv when
the suite runs as root).'

. ./lib-box.sh

if test "$(id -u)" = 0 && command -v setpriv >/dev/null 2>&1 &&
   getent passwd 65534 >/dev/null 2>&1
then
	test_set_prereq UNPRIVILEGED
	RUN_AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif test "$(id -u)" != 0
then
	test_set_prereq UNPRIVILEGED
	RUN_AS=
fi

USERLAND="$SHARNESS_TRASH_DIRECTORY/userland"

# Run a command as the unprivileged user, in the userland folder.
as_user () {
	(
		cd "$USERLAND" &&
		$RUN_AS env HOME="$USERLAND/home" TMPDIR="$USERLAND/tmp" "$@"
	)
}

# box_snapshot of the user's box, taken by us: git is told to trust a
# repository another user owns.
user_snapshot () {
	(
		cd "$USERLAND/box" &&
		GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0="*" &&
		export GIT_CONFIG_COUNT GIT_CONFIG_KEY_0 GIT_CONFIG_VALUE_0 &&
		box_snapshot
	) >"$1"
}

test_expect_success UNPRIVILEGED 'setup: a box owned by an unprivileged user, and a commit that rewrites an input' '
	mkdir -p userland/home userland/tmp &&
	cp "$HOME/.gitconfig" userland/home/ &&
	box_sample_data userland/src &&
	if test -n "$RUN_AS"; then chown -R 65534:65534 userland; fi &&
	as_user git box init box --from src/data.csv --from src/sub >/dev/null &&
	as_user sh -c "
		cd box &&
		echo x >a.R && git add a.R && git commit -q -m code &&
		blob=\$(echo rewritten | git hash-object -w --stdin) &&
		git read-tree --index-output=../bad.index HEAD &&
		GIT_INDEX_FILE=../bad.index git update-index --cacheinfo 100644,\$blob,input/data.csv &&
		tree=\$(GIT_INDEX_FILE=../bad.index git write-tree) &&
		c=\$(git commit-tree -p HEAD -m bad \$tree) &&
		git -c core.hooksPath=/dev/null branch plumbed \$c
	"
'

test_expect_success UNPRIVILEGED 'an input cannot be written, removed or renamed in place' '
	as_user sh -c "cd box && ! echo x >>input/data.csv" 2>/dev/null &&
	as_user sh -c "cd box && ! rm -f input/data.csv" 2>/dev/null &&
	as_user sh -c "cd box && ! mv input/data.csv input/moved.csv" 2>/dev/null &&
	as_user sh -c "cd box && test -f input/data.csv"
'

test_expect_success UNPRIVILEGED 'git reset --hard onto the rewrite stops, and nothing changed' '
	user_snapshot before &&
	as_user sh -c "cd box && git reset -q --hard plumbed" 2>err;
	test $? != 0 &&
	user_snapshot after &&
	test_cmp before after &&
	grep "unable to unlink old .input/data.csv.: Permission denied" err
'

test_expect_success UNPRIVILEGED 'a fast-forward merge of it stops, and nothing changed' '
	user_snapshot before &&
	as_user sh -c "cd box && git merge -q --ff-only plumbed" 2>err;
	test $? != 0 &&
	user_snapshot after &&
	test_cmp before after
'

test_expect_success UNPRIVILEGED 'a cherry-pick of it stops, and nothing changed' '
	user_snapshot before &&
	as_user sh -c "cd box && git cherry-pick plumbed" >/dev/null 2>err;
	test $? != 0 &&
	user_snapshot after &&
	test_cmp before after
'

test_expect_success UNPRIVILEGED 'a checkout of the input from the rewrite cannot write it; restore mends the index' '
	user_snapshot before &&
	as_user sh -c "cd box && git checkout plumbed -- input/data.csv" 2>err;
	test $? != 0 &&
	grep "unable to unlink old .input/data.csv.: Permission denied" err &&
	user_snapshot middle &&
	! cmp -s before middle &&
	grep "  ./input/data.csv$" before >file-before &&
	grep "  ./input/data.csv$" middle >file-middle &&
	test_cmp file-before file-middle &&
	as_user sh -c "cd box && git box restore input/data.csv >/dev/null" &&
	user_snapshot after &&
	test_cmp before after
'

test_expect_success UNPRIVILEGED 'the user can still put an input back after loosening it' '
	as_user sh -c "cd box && chmod u+w input input/data.csv && echo x >>input/data.csv &&
		git box restore input/data.csv >/dev/null" &&
	user_snapshot after &&
	test_cmp before after
'

test_done

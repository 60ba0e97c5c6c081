#!/bin/sh

test_description='make install puts git-box, its templates and manuals under DESTDIR, and make uninstall takes them away'

. ./lib-box.sh

# Under 'make test-valgrind' the build folder holds a valgrind wrapper, not
# a build: installing from it would build a real binary over the wrapper.
if test_have_prereq VALGRIND; then
	skip_all='make install copies a build; nothing of it runs under valgrind'
	test_done
fi

# The install rules only copy what 'make' built into $BOX_BUILD_DIR.
make_in_source () {
	make --no-print-directory -C "$BOX_SOURCE_DIR" BUILD="$BOX_BUILD_DIR" "$@"
}

test_expect_success 'make install DESTDIR= prefix= installs the binary, the templates and the manuals' '
	make_in_source install DESTDIR="$PWD/stage" prefix=/opt/box >out 2>&1 &&
	test -x stage/opt/box/bin/git-box &&
	test_cmp "$BOX_BUILD_DIR/git-box" stage/opt/box/bin/git-box &&
	for hook in pre-commit commit-msg post-checkout reference-transaction
	do
		test -x stage/opt/box/share/git-box/templates/hooks/$hook || return 1
	done &&
	test_cmp "$BOX_SOURCE_DIR/templates/policy.yaml" stage/opt/box/share/git-box/templates/policy.yaml &&
	test -x stage/opt/box/share/git-box/server/setup-box-server.sh &&
	test -x stage/opt/box/share/git-box/server/pre-receive &&
	test_cmp "$BOX_SOURCE_DIR/contrib/completion/git-box.bash" \
		stage/opt/box/share/bash-completion/completions/git-box
'

test_expect_success MAN 'the manuals are installed by section' '
	test -f stage/opt/box/share/man/man1/git-box.1 &&
	test -f stage/opt/box/share/man/man1/git-box-init.1 &&
	test -f stage/opt/box/share/man/man5/gitbox-policy.5
'

test_expect_success 'the installed binary runs as git box from PATH' '
	PATH="$PWD/stage/opt/box/bin:$PATH" git box --version >out &&
	grep "^git box version " out
'

test_expect_success 'make uninstall removes everything install put there' '
	make_in_source uninstall DESTDIR="$PWD/stage" prefix=/opt/box >out 2>&1 &&
	test_path_is_missing stage/opt/box/bin/git-box &&
	test_path_is_missing stage/opt/box/share/git-box &&
	find stage -type f >left &&
	test_must_be_empty left
'

test_done

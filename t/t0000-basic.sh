#!/bin/sh

test_description='git box dispatch: usage, version, help and unknown input'

. ./lib-box.sh

test_expect_success 'git box -h prints usage and the commands on stdout' '
	git box -h >out 2>err &&
	grep "^usage: git box" out &&
	grep "^   init " out &&
	grep "^   status " out &&
	test_must_be_empty err
'

test_expect_success 'git box with no command exits 2 with usage on stderr' '
	test_expect_code 2 git box >out 2>err &&
	test_must_be_empty out &&
	grep "^usage: git box" err
'

test_expect_success 'an unknown command exits 2 and lists the commands' '
	test_expect_code 2 git box frobnicate 2>err &&
	grep "error: .frobnicate. is not a git box command" err &&
	grep "^   install " err
'

test_expect_success 'an unknown global option exits 2' '
	test_expect_code 2 git box --frobnicate 2>err &&
	grep "unknown option .--frobnicate." err
'

test_expect_success '--version names git box and every linked library' '
	git box --version >out &&
	grep "^git box version [0-9]" out &&
	grep "^libgit2 [0-9]" out &&
	grep "^OpenSSL [0-9]" out &&
	grep "^gpgme [0-9]" out &&
	grep "^libyaml [0-9]" out &&
	grep "^libarchive [0-9]" out &&
	grep "^libcurl [0-9]" out &&
	grep "^jansson [0-9]" out
'

for cmd in init status install uninstall import checkpoint seal sign log show timestamp export restore verify
do
	test_expect_success "git box $cmd -h prints its usage on stdout and exits 0" "
		git box $cmd -h >out &&
		grep '^usage: git box $cmd' out
	"

	test_expect_success "git box $cmd with an unknown option exits 2 with its usage" "
		test_expect_code 2 git box $cmd --no-such-option >out 2>err &&
		test_must_be_empty out &&
		grep 'unknown option .--no-such-option.' err &&
		grep '^usage: git box $cmd' err
	"

	test_expect_success "the synopsis of git-box-$cmd(1) matches git box $cmd -h" "
		sed -n '/^== SYNOPSIS/,/^== /p' \"\$BOX_SOURCE_DIR/Documentation/git-box-$cmd.adoc\" |
			grep \"^'git box\" | sed -e \"s/^'git box $cmd'/git box $cmd/\" >expect &&
		git box $cmd -h | sed -e 's/^usage: //' -e 's/^   or: //' >actual &&
		test_cmp expect actual
	"
done

test_expect_success MAN 'git box help init opens the git-box-init manual' '
	MANPAGER=cat MANWIDTH=80 git box help init >out &&
	grep "git-box-init" out &&
	grep "SYNOPSIS" out
'

test_expect_success MAN 'git box init --help opens the same manual' '
	MANPAGER=cat MANWIDTH=80 git box init --help >out &&
	grep "git-box-init" out
'

test_expect_success MAN 'git box help gitbox-policy opens the policy format page' '
	MANPAGER=cat MANWIDTH=80 git box help gitbox-policy >out &&
	grep "gitbox-policy" out
'

test_expect_success 'git box help of an unknown command exits 2' '
	test_expect_code 2 git box help frobnicate 2>err &&
	grep "is not a git box command" err
'

test_expect_success 'git box hook of an unknown hook exits 2 and lists the hooks' '
	test_expect_code 2 git box hook pre-frobnicate 2>err &&
	grep "is not a hook git box handles" err &&
	grep "reference-transaction" err
'

test_expect_success '-C runs git box in another folder' '
	mkdir elsewhere &&
	test_expect_code 2 git box -C elsewhere status 2>err &&
	grep "not a git" err
'

test_expect_success STRACE 'no command makes libgit2 parse the system CA bundle' '
	git box init ca-box >/dev/null &&
	# LeakSanitizer cannot work under ptrace: leave leak checks to the other tests
	ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=open,openat -o trace git -C ca-box box status >/dev/null &&
	grep "openat.*\.git/config" trace &&
	! grep "ca-certificates" trace
'

test_done

#!/bin/sh

test_description='bash completion of git box commands, options and revisions'

. ./lib-box.sh

GIT_COMPLETION=${GIT_COMPLETION:-/usr/share/bash-completion/completions/git}
if command -v bash >/dev/null 2>&1 && test -r "$GIT_COMPLETION"; then
	test_set_prereq COMPLETION
fi

# complete "<command line>": what bash would offer, one per line, sorted.
complete () {
	bash -c '
		. "$1" && . "$2" || exit 2
		COMP_LINE=$3
		read -ra COMP_WORDS <<<"$3"
		case "$3" in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		__git_wrap__git_main
		printf "%s\n" "${COMPREPLY[@]}"
	' complete "$GIT_COMPLETION" "$BOX_SOURCE_DIR/contrib/completion/git-box.bash" "$1" |
		sed "s/ *$//" | sort
}

test_expect_success COMPLETION 'setup: a box with a commit' '
	box_init box &&
	(cd box && box_commit "Add the code" code.sh "echo hi")
'

test_expect_success COMPLETION 'the commands are those git box -h lists, and no hidden one' '
	git box -h | sed -n "s/^   \([a-z-]*\)  .*/\1/p" | sort >expect &&
	test $(wc -l <expect) -gt 10 &&
	(cd box && complete "git box ") >actual &&
	test_cmp expect actual &&
	! grep -x -e hook -e filter-process actual
'

test_expect_success COMPLETION 'a prefix completes to its commands' '
	(cd box && complete "git box s") >actual &&
	printf "%s\n" seal show sign status >expect &&
	test_cmp expect actual
'

test_expect_success COMPLETION 'options come from the command usage' '
	(cd box && complete "git box seal --") >actual &&
	printf "%s\n" --json --reason --role >expect &&
	test_cmp expect actual &&
	(cd box && complete "git box init --ts") >actual &&
	printf "%s\n" --tsa --tsa-ca >expect &&
	test_cmp expect actual
'

test_expect_success COMPLETION 'a revision argument completes to refs' '
	(cd box && complete "git box show ma") >actual &&
	echo main >expect &&
	test_cmp expect actual
'

test_expect_success COMPLETION 'a file option completes to files' '
	(cd box && complete "git box init --policy .box/pol") >actual &&
	echo .box/policy.yaml >expect &&
	test_cmp expect actual
'

test_done

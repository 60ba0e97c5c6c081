#!/bin/sh

test_description='git box install sets up a clone; uninstall removes exactly that'

. ./lib-box.sh

HOOKS="pre-commit pre-merge-commit commit-msg post-commit post-checkout post-merge post-index-change reference-transaction"

test_expect_success 'setup: a box and a clone of it' '
	box_init box &&
	git clone -q box clone
'

test_expect_success 'a fresh clone has no hooks, no filter and writable inputs' '
	for h in $HOOKS; do ! test -e clone/.git/hooks/$h || return 1; done &&
	test_must_fail git -C clone config filter.box.process &&
	test "$(box_mode clone/input/data.csv)" = 644
'

test_expect_success 'install writes every hook shim, the filter and the refspecs' '
	(cd clone && git box install >../out) &&
	for h in $HOOKS
	do
		cmp "$BOX_SOURCE_DIR/templates/hooks/$h" clone/.git/hooks/$h &&
		test -x clone/.git/hooks/$h &&
		grep "hook .*/hooks/$h$" out || return 1
	done &&
	test "$(git -C clone config filter.box.process)" = "git box filter-process" &&
	test "$(git -C clone config filter.box.required)" = true &&
	test "$(git -C clone config core.trustctime)" = false &&
	git -C clone config --get-all remote.origin.fetch >fetch &&
	grep "^refs/notes/box\*:refs/notes/box\*$" fetch &&
	grep "^refs/tags/box/\*:refs/tags/box/\*$" fetch &&
	git -C clone config --get-all remote.origin.push >push &&
	printf "%s\n" HEAD "refs/notes/box*:refs/notes/box*" "refs/tags/box/*:refs/tags/box/*" >expect &&
	test_cmp expect push
'

test_expect_success 'install makes the inputs of the clone read-only' '
	test "$(box_mode clone/input/data.csv)" = 444 &&
	test "$(box_mode clone/input/sub)" = 555 &&
	test "$(box_mode clone/.box/policy.yaml)" = 444 &&
	grep "made .* input paths* read-only" out
'

test_expect_success 'install again changes nothing and says so' '
	(cd clone && git box install >../out2) &&
	grep "everything was already in place" out2 &&
	test "$(git -C clone config --get-all remote.origin.push | wc -l)" = 3
'

test_expect_success 'the fetch refspec brings refs/notes/box and box tags from the remote' '
	git -C box -c core.hooksPath=/dev/null tag -a -m t box/test-1 HEAD &&
	git -C clone -c core.hooksPath=/dev/null fetch -q &&
	git -C clone notes --ref=box show HEAD >note &&
	git -C box notes --ref=box show HEAD >expect &&
	grep "\"event\": \"init\"" expect &&
	test_cmp expect note &&
	git -C clone rev-parse --verify refs/tags/box/test-1
'

test_expect_success 'a plain git push carries the branch, the notes and the box tags' '
	git init -q --bare server.git &&
	git -C clone remote add server ../server.git &&
	(cd clone && git box install >/dev/null) &&
	git -C clone notes --ref=box append -m "from the clone" HEAD &&
	git -C clone push -q server &&
	git -C server.git rev-parse --verify refs/heads/main &&
	git -C server.git notes --ref=box show main >note &&
	git -C clone notes --ref=box show HEAD >expect &&
	test_cmp expect note &&
	tail -n 1 note >last &&
	echo "from the clone" >expect &&
	test_cmp expect last &&
	git -C server.git rev-parse --verify refs/tags/box/test-1
'

test_expect_success 'install --json lists what it added' '
	git clone -q box clone-json &&
	(cd clone-json && git box install --json >../out.json) &&
	grep "\"filter.box.process git box filter-process\"" out.json &&
	grep "\"made_readonly\": [1-9]" out.json
'

test_expect_success 'a hook of someone else stops install, and nothing is written' '
	git clone -q box foreign &&
	printf "#!/bin/sh\necho mine\n" >foreign/.git/hooks/commit-msg &&
	chmod +x foreign/.git/hooks/commit-msg &&
	git -C foreign config --list --local >config-before &&
	test_expect_code 2 git -C foreign box install 2>err &&
	grep "error: hook .*commit-msg. is not git box.s" err &&
	grep "hint: .*git box hook <name>" err &&
	printf "#!/bin/sh\necho mine\n" >expect &&
	test_cmp expect foreign/.git/hooks/commit-msg &&
	! test -e foreign/.git/hooks/pre-commit &&
	git -C foreign config --list --local >config-after &&
	test_cmp config-before config-after
'

test_expect_success 'a filter.box.process of someone else stops install' '
	git clone -q box otherfilter &&
	git -C otherfilter config filter.box.process "cat" &&
	test_expect_code 2 git -C otherfilter box install 2>err &&
	grep "filter.box.process is set to .cat." err &&
	! test -e otherfilter/.git/hooks/pre-commit
'

test_expect_success 'an older shim of ours is upgraded' '
	git clone -q box old &&
	printf "#!/bin/sh\n# git-box hook shim v0\nexec git-box hook pre-commit\n" >old/.git/hooks/pre-commit &&
	(cd old && git box install >../out) &&
	grep "hook .*pre-commit$" out &&
	cmp "$BOX_SOURCE_DIR/templates/hooks/pre-commit" old/.git/hooks/pre-commit
'

test_expect_success 'install honours core.hooksPath, relative to the work tree' '
	git clone -q box hookspath &&
	git -C hookspath config core.hooksPath my-hooks &&
	(cd hookspath && git box install >/dev/null) &&
	cmp "$BOX_SOURCE_DIR/templates/hooks/pre-commit" hookspath/my-hooks/pre-commit &&
	! test -e hookspath/.git/hooks/pre-commit
'

test_expect_success 'git runs the installed hooks through git box' '
	(cd clone && box_commit "code" analysis.R) &&
	git -C clone log -1 --format=%s >subject &&
	echo code >expect &&
	test_cmp expect subject
'

test_expect_success 'a hook shim explains itself when git-box is not on PATH' '
	(
		PATH=/usr/bin:/bin &&
		cd clone &&
		test_expect_code 2 ./.git/hooks/pre-commit 2>../err
	) &&
	grep "fatal: this repository is a git box, but .git-box. is not on PATH (hook .pre-commit.)" err &&
	grep "hint: install git box" err
'

test_expect_success 'uninstall removes exactly what install added' '
	git clone -q box un &&
	git -C un config --add remote.origin.push refs/heads/mine:refs/heads/mine &&
	git -C un config --list --local >config-before &&
	printf "#!/bin/sh\n" >un/.git/hooks/pre-push && chmod +x un/.git/hooks/pre-push &&
	(cd un && git box install >/dev/null && git box uninstall >../out) &&
	grep "removed hook .*reference-transaction" out &&
	grep "removed config  filter.box.process git box filter-process" out &&
	for h in $HOOKS; do ! test -e un/.git/hooks/$h || return 1; done &&
	test -x un/.git/hooks/pre-push &&
	git -C un config --list --local >config-after &&
	test_cmp config-before config-after
'

test_expect_success 'uninstall keeps values a person had set before install' '
	git clone -q box keepers &&
	git -C keepers config filter.box.process "git box filter-process" &&
	(cd keepers && git box install >/dev/null && git box uninstall >/dev/null) &&
	test "$(git -C keepers config filter.box.process)" = "git box filter-process"
'

test_expect_success 'uninstall where nothing was installed says so' '
	git clone -q box nothing &&
	(cd nothing && git box uninstall >../out) &&
	grep "nothing of git box.s was installed here" out
'

test_expect_success 'install outside a box exits 2 with a hint' '
	git init -q notbox &&
	test_expect_code 2 git -C notbox box install 2>err &&
	grep "is not a git box" err &&
	grep "hint: .*git box init" err
'

test_expect_success 'install in a bare repository exits 2' '
	git clone -q --bare box bare.git &&
	test_expect_code 2 git -C bare.git box install 2>err &&
	grep "bare repository" err
'

test_expect_success 'post-checkout makes inputs read-only again after git writes them' '
	(cd clone && chmod u+w input/data.csv input && rm input/data.csv && git checkout -- input/data.csv) &&
	test "$(box_mode clone/input/data.csv)" = 444 &&
	test "$(box_mode clone/input)" = 555
'

test_done

#!/bin/sh

test_description='every way of making a commit keeps the inputs as they were frozen

pre-commit judges the index git is about to commit (GIT_INDEX_FILE for
commit -a, commit PATH and --only), pre-merge-commit a merge, and
reference-transaction what skips them (--no-verify). Each refusal names
the path and the rule and leaves refs, index and work tree as they were.
Code and outputs commit freely.'

. ./lib-box.sh

ODD_NAME=$(printf 'r\303\251sum\303\251 de caf\303\251.csv')
NL_NAME=$(printf 'two\nlines.csv')

# Undo what a test staged or wrote, back to the frozen inputs.
back_to_frozen () {
	git reset -q &&
	chmod -R u+w input &&
	git clean -fdq input &&
	git box restore input .box/policy.yaml >/dev/null
}

# The filter off, as in a clone where 'git box install' did not run: the
# hooks must hold on their own.
filter_off () {
	git config filter.box.required false &&
	git config --unset filter.box.process
}

filter_on () {
	git config filter.box.process "git box filter-process" &&
	git config filter.box.required true
}

test_expect_success 'setup: a box at work, an input editable on disk' '
	box_init box &&
	(
		cd box &&
		box_commit "analysis" analysis.R "mean(x)" &&
		chmod u+w input input/data.csv
	)
'

test_expect_success 'commit -a of a changed input is refused by the filter, nothing lost' '
	(
		cd box &&
		echo "3,30" >>input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 128 git commit -a -m change 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input" err
'

test_expect_success 'setup: the filter off, as in a clone that was not set up' '
	(cd box && filter_off)
'

test_expect_success 'commit -a is refused by pre-commit, which names the path and the rule' '
	(
		cd box &&
		echo "3,30" >>input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -a -m change 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "^error: .input/data.csv.: read-only input: modified$" err &&
	grep "^hint: the inputs and the policy are read-only since commit $(git -C box rev-parse --short=12 HEAD^) froze them" err &&
	grep "^hint: run .git box restore input/data.csv." err &&
	grep "^hint: nothing was committed" err
'

test_expect_success 'commit PATH is judged on the temporary index git builds' '
	(
		cd box &&
		echo "3,30" >>input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m change input/data.csv 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified" err
'

test_expect_success 'commit --only PATH is refused too' '
	(
		cd box &&
		echo "x" >>analysis.R &&
		git add analysis.R &&
		echo "3,30" >>input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit --only -m change input/data.csv 2>../err &&
		box_snapshot >../after &&
		back_to_frozen &&
		git checkout -q analysis.R
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified" err
'

test_expect_success 'commit --amend that would add an input change is refused' '
	(
		cd box &&
		echo "3,30" >>input/data.csv &&
		git add input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit --amend -m amended 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified" err
'

test_expect_success 'commit --no-verify is refused by reference-transaction' '
	(
		cd box &&
		echo "3,30" >>input/data.csv &&
		git add input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 128 git commit --no-verify -m change 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit [0-9a-f]* on .refs/heads/main." err &&
	grep "^hint: no ref was changed" err
'

test_expect_success 'deleting an input is refused' '
	(
		cd box &&
		git rm -q input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m delete 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: deleted$" err
'

test_expect_success 'renaming an input is refused, naming both paths' '
	(
		cd box &&
		git mv input/data.csv input/moved.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m rename 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: deleted$" err &&
	grep "input/moved.csv.: read-only input: added$" err &&
	grep "^hint: run .git box restore input/data.csv. to put them back" err &&
	grep "^hint: run .git rm --cached input/moved.csv. to unstage" err
'

test_expect_success 'a case-only rename is refused, naming both paths' '
	(
		cd box &&
		git mv input/data.csv input/Data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m rename 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: deleted$" err &&
	grep "input/Data.csv.: read-only input: added$" err
'

test_expect_success 'making an input executable is refused as a mode change' '
	(
		cd box &&
		chmod +x input/data.csv &&
		git add input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m mode 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: mode changed (100644 to 100755)$" err
'

test_expect_success 'replacing an input with a symbolic link is refused' '
	(
		cd box &&
		rm input/data.csv &&
		ln -s ../analysis.R input/data.csv &&
		git add input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m link 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: type changed (100644 to 120000, a symbolic link)$" err
'

test_expect_success 'a new file among the inputs is refused' '
	(
		cd box &&
		echo new >input/new.csv &&
		git add input/new.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -m new 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep "input/new.csv.: read-only input: added$" err
'

test_expect_success 'a change to the policy is refused as read-only policy' '
	(
		cd box &&
		chmod u+w .box/policy.yaml &&
		echo "# more" >>.box/policy.yaml &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -a -m policy 2>../err &&
		box_snapshot >../after &&
		back_to_frozen
	) &&
	test_cmp before after &&
	grep ".box/policy.yaml.: read-only policy: modified$" err
'

test_expect_success 'a commit on another branch may not change an input either' '
	(
		cd box &&
		git switch -q -c side &&
		echo "3,30" >>input/data.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -a -m change 2>../err &&
		box_snapshot >../after &&
		back_to_frozen &&
		git switch -q main
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified" err
'

test_expect_success 'setup: a branch whose commit changes an input, made with hooks bypassed' '
	(
		cd box &&
		git switch -q -c plumbed &&
		echo "3,30" >>input/data.csv &&
		git -c core.hooksPath=/dev/null commit -q -a -m "plumbed change" &&
		git switch -q main &&
		git box restore input >/dev/null
	)
'

test_expect_success 'a merge of it is refused by pre-merge-commit, and merge --abort goes back' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 1 git merge --no-ff -m merge plumbed >../out 2>../err &&
		git rev-parse HEAD >../head &&
		git merge --abort &&
		back_to_frozen &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified" err &&
	git -C box rev-parse main >expect &&
	test_cmp expect head
'

test_expect_success 'setup: the filter back on' '
	(cd box && filter_on)
'

test_expect_success 'code and outputs commit freely, whatever their names' '
	(
		cd box &&
		mkdir -p output "code dir" &&
		echo "1,2" >output/result.csv &&
		echo r >"output/$ODD_NAME" &&
		echo n >"output/$NL_NAME" &&
		echo "f <- 1" >"code dir/$ODD_NAME" &&
		echo "plot(x)" >>analysis.R &&
		git add -A &&
		git commit -q -m "results" &&
		git ls-files -z output "code dir" | tr "\0" "\n" >../out
	) &&
	grep "result.csv" out &&
	grep "^output/$ODD_NAME$" out &&
	grep "^code dir/$ODD_NAME$" out &&
	grep "^lines.csv$" out
'

test_expect_success 'commit -a leaves unchanged inputs alone and commits the rest' '
	(
		cd box &&
		touch input/data.csv &&
		echo "summary(x)" >>analysis.R &&
		git commit -q -a -m more &&
		git diff --name-only HEAD^ HEAD >../out
	) &&
	echo analysis.R >expect &&
	test_cmp expect out
'

test_expect_success 'setup: a seal at the tip of the box branch, as git box seal makes it' '
	(
		cd box &&
		seal=$(git commit-tree -p HEAD -m "Seal the box" -m "Box-Event: seal" HEAD^{tree}) &&
		git -c core.hooksPath=/dev/null update-ref refs/heads/main $seal
	)
'

test_expect_success 'nothing may be committed on a sealed box branch' '
	(
		cd box &&
		echo "late" >>analysis.R &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -a -m late 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: sealed box: .main. was sealed at" err
'

test_expect_success 'not even with --no-verify: the sealed branch never moves' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git commit -q -a --no-verify -m late 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: sealed box: the box was sealed at" err
'

test_expect_success 'work goes on on another branch' '
	(
		cd box &&
		git switch -q -c erratum &&
		git commit -q -a -m late &&
		git switch -q main 2>/dev/null
	)
'

test_done

#!/bin/sh

test_description='reference-transaction guards every ref update of a box

Commands that skip the commit hooks (update-ref, merge, cherry-pick,
revert, rebase, am, reset) cannot move a branch to commits that change
an input; refs/notes/box only grows; box tags never move; the box
branch keeps the commits that froze its inputs, never moves once
sealed, and is never deleted. No refused command moves a ref.'

. ./lib-box.sh

# bad_commit PARENT: a commit on PARENT that rewrites input/data.csv, made
# with plumbing, as someone who skips every hook would make it.
bad_commit () {
	blob=$(printf "id,value\n1,999\n" | git hash-object -w --stdin) &&
	git read-tree --index-output=../bad.index "$1" &&
	GIT_INDEX_FILE=../bad.index git update-index --cacheinfo 100644,$blob,input/data.csv &&
	tree=$(GIT_INDEX_FILE=../bad.index git write-tree) &&
	rm -f ../bad.index &&
	git commit-tree -p "$1" -m "Rewrite an input" $tree
}

# Back to the branch as it is, the inputs as they were frozen.
tidy () {
	git reset -q --hard 2>/dev/null &&
	git box restore input >/dev/null
}

test_expect_success 'setup: a box at work, and a commit that rewrites an input' '
	box_init box &&
	(
		cd box &&
		box_commit "analysis" analysis.R "mean(x)" &&
		box_commit "plot" plot.R "plot(x)" &&
		bad_commit HEAD~1 >../bad
	)
'

test_expect_success 'update-ref of the box branch to it is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref refs/heads/main $(cat ../bad) 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: .input/data.csv.: read-only input: modified in commit $(cut -c1-12 bad) on .refs/heads/main.$" err &&
	grep "^hint: no ref was changed" err
'

test_expect_success 'so is making any branch point at it' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git branch side $(cat ../bad) 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit .* on .refs/heads/side.$" err
'

test_expect_success 'setup: the branch made with hooks bypassed' '
	git -C box -c core.hooksPath=/dev/null branch plumbed $(cat bad)
'

test_expect_success 'a fast-forward merge of it is refused and leaves the branch' '
	(
		cd box &&
		git switch -q -c ff HEAD~1 &&
		git rev-parse HEAD >../head-before &&
		test_expect_code 128 git merge -q --ff-only plumbed 2>../err &&
		git rev-parse HEAD >../head-after &&
		tidy &&
		git switch -q main
	) &&
	test_cmp head-before head-after &&
	grep "input/data.csv.: read-only input: modified in commit .* on .refs/heads/ff.$" err
'

test_expect_success 'a merge made with --no-verify is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git merge -q --no-ff --no-verify -m merge plumbed 2>../err &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit $(cut -c1-12 bad) on .refs/heads/main.$" err
'

test_expect_success 'a cherry-pick of it is refused; cherry-pick --abort goes back' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git cherry-pick plumbed >/dev/null 2>../err &&
		git cherry-pick --abort &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit" err
'

test_expect_success 'a revert of the init commit is refused, naming every input and the policy' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git revert --no-edit $(git rev-list --max-parents=0 HEAD) >/dev/null 2>../err &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: deleted in commit" err &&
	grep "input/sub/patients.csv.: read-only input: deleted in commit" err &&
	grep ".box/policy.yaml.: read-only policy: deleted in commit" err
'

test_expect_success 'a rebase onto it is refused; rebase --abort goes back' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git rebase -q plumbed >/dev/null 2>../err &&
		git rebase --abort &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit $(cut -c1-12 bad) on .refs/heads/main.$" err
'

test_expect_success 'git am of it as a patch is refused; am --abort goes back' '
	(
		cd box &&
		git format-patch -q -1 --stdout plumbed >../bad.patch &&
		box_snapshot >../before &&
		test_expect_code 128 git am -q ../bad.patch >/dev/null 2>../err &&
		git am --abort &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit" err
'

test_expect_success 'git reset --hard onto it leaves the branch; restore puts the input back' '
	(
		cd box &&
		git rev-parse HEAD >../head-before &&
		box_snapshot >../before &&
		test_expect_code 128 git reset -q --hard plumbed 2>../err &&
		git rev-parse HEAD >../head-after &&
		git box status >../status &&
		git box restore input >/dev/null &&
		git checkout -q HEAD -- . &&
		box_snapshot >../after
	) &&
	test_cmp head-before head-after &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit" err &&
	grep "^changed   input/data.csv (modified)$" status
'

test_expect_success 'the commit hooks are not needed for a branch that only adds code' '
	(
		cd box &&
		git -c core.hooksPath=/dev/null switch -q -c code &&
		echo "x <- 1" >more.R &&
		git add more.R &&
		git commit -q --no-verify -m "more code" &&
		git switch -q main &&
		git merge -q --ff-only code
	)
'

test_expect_success 'history after the freeze may be rewritten: amend, reset' '
	(
		cd box &&
		echo "y <- 2" >>more.R &&
		git commit -q -a --amend -m "more code, amended" &&
		git reset -q --hard HEAD~1
	)
'

test_expect_success 'setup: a timestamp tag on the init commit, whose note init wrote' '
	(
		cd box &&
		init=$(git rev-list --max-parents=0 HEAD) &&
		git notes --ref=box show $init >../init-note &&
		grep "\"event\": \"init\"" ../init-note &&
		box_nohooks tag -a -m "timestamp" box/init-1 $init &&
		git tag v1 HEAD
	)
'

test_expect_success 'a note may be added to another commit' '
	git -C box notes --ref=box add -m "{\"event\": \"checkpoint\"}" HEAD
'

test_expect_success 'a signature may be appended to a note' '
	(
		cd box &&
		init=$(git rev-list --max-parents=0 HEAD) &&
		git notes --ref=box append -m "-----BEGIN PGP SIGNATURE-----" $init &&
		git notes --ref=box show $init >../note
	) &&
	head -n $(wc -l <init-note) note >before &&
	test_cmp init-note before &&
	grep "^-----BEGIN PGP SIGNATURE-----$" note
'

test_expect_success 'overwriting a note is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git notes --ref=box add -f -m "{}" $(git rev-list --max-parents=0 HEAD) 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: manifest notes: the note on commit [0-9a-f]* would be changed" err
'

test_expect_success 'git notes remove is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git notes --ref=box remove HEAD 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: manifest notes: the note on commit $(git -C box rev-parse --short=12 HEAD) would be removed$" err
'

test_expect_success 'rewinding refs/notes/box is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref refs/notes/box refs/notes/box~1 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: manifest notes: .refs/notes/box. would move from" err
'

test_expect_success 'deleting refs/notes/box is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref -d refs/notes/box 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: manifest notes: .refs/notes/box. would be deleted$" err
'

test_expect_success 'deleting a box tag is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git tag -d box/init-1 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: timestamp tags: .refs/tags/box/init-1. would be deleted$" err
'

test_expect_success 'moving a box tag is refused' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git tag -f -a -m moved box/init-1 HEAD 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: timestamp tags: .refs/tags/box/init-1. would move from" err &&
	grep "^hint: timestamp tags are never moved or deleted" err
'

test_expect_success 'other tags come and go freely' '
	git -C box tag -d v1 >/dev/null &&
	git -C box tag v1 HEAD
'

test_expect_success 'git pack-refs and git gc keep every ref' '
	(
		cd box &&
		git for-each-ref >../before &&
		git pack-refs --all &&
		git gc -q &&
		git for-each-ref >../after
	) &&
	test_cmp before after
'

test_expect_success 'a packed box tag still cannot be deleted' '
	(
		cd box &&
		test_expect_code 128 git tag -d box/init-1 2>../err &&
		git rev-parse --verify -q refs/tags/box/init-1
	) &&
	grep "would be deleted" err
'

test_expect_success 'the box branch cannot be deleted or renamed' '
	(
		cd box &&
		git switch -q code &&
		box_snapshot >../before &&
		test_expect_code 128 git branch -D main 2>../err &&
		test_expect_code 128 git branch -m main renamed 2>../err2 &&
		box_snapshot >../after &&
		git switch -q main
	) &&
	test_cmp before after &&
	grep "^error: box branch: .refs/heads/main. would be deleted$" err &&
	grep "box branch: .refs/heads/main. would be deleted" err2
'

test_expect_success 'other branches are deleted freely' '
	git -C box branch -q -D code
'

test_expect_success 'setup: a box with an import before the work started' '
	box_init import &&
	(
		cd import &&
		parent=$(git rev-parse HEAD) &&
		blob=$(echo "more,data" | git hash-object -w --stdin) &&
		git read-tree --index-output=../import.index HEAD &&
		GIT_INDEX_FILE=../import.index git update-index --add --cacheinfo 100644,$blob,input/more.csv &&
		tree=$(GIT_INDEX_FILE=../import.index git write-tree) &&
		c=$(git commit-tree -p $parent -m "Import more" -m "Box-Event: import" $tree) &&
		git update-ref refs/heads/main $c &&
		git reset -q --hard &&
		box_commit "work" work.R "w"
	)
'

test_expect_success 'an import after the work started is refused' '
	(
		cd import &&
		blob=$(echo "late,data" | git hash-object -w --stdin) &&
		git read-tree --index-output=../import.index HEAD &&
		GIT_INDEX_FILE=../import.index git update-index --add --cacheinfo 100644,$blob,input/late.csv &&
		tree=$(GIT_INDEX_FILE=../import.index git write-tree) &&
		c=$(git commit-tree -p HEAD -m "Import late" -m "Box-Event: import" $tree) &&
		test_expect_code 128 git update-ref refs/heads/main $c 2>../err
	) &&
	grep "input/late.csv.: read-only input: added in commit" err
'

test_expect_success 'a rewind past the import is refused as frozen history' '
	(
		cd import &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref refs/heads/main HEAD~2 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: frozen history: .refs/heads/main. would no longer hold commit $(git -C import rev-parse --short=12 HEAD~1), which froze the inputs (Box-Event: import)$" err
'

test_expect_success 'a rewrite that keeps the import is allowed' '
	(
		cd import &&
		git commit -q --amend -m "work, amended" &&
		git reset -q --hard HEAD~1 &&
		box_commit "work again" work.R "w2"
	)
'

test_expect_success 'setup: a seal at the tip of the box branch' '
	(
		cd import &&
		seal=$(git commit-tree -p HEAD -m "Seal" -m "Box-Event: seal" HEAD^{tree}) &&
		git update-ref refs/heads/main $seal
	)
'

test_expect_success 'a sealed box branch never moves, not even back' '
	(
		cd import &&
		box_snapshot >../before &&
		test_expect_code 128 git reset -q --hard HEAD~1 2>../err &&
		test_expect_code 128 git update-ref refs/heads/main HEAD~1 2>>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: sealed box: the box was sealed at $(git -C import rev-parse --short=12 HEAD); its branch .refs/heads/main. never moves again$" err &&
	grep "^hint: a sealed box is finished" err
'

test_expect_success 'a commit after the seal cannot come in by another road' '
	(
		cd import &&
		git commit-tree -p HEAD -m "After" HEAD^{tree} >../after &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref refs/heads/main $(cat ../after) 2>../err &&
		box_snapshot >../after-state
	) &&
	test_cmp before after-state &&
	grep "^error: sealed box: the box was sealed at" err
'

test_expect_success 'another branch may start from the seal' '
	git -C import branch erratum $(cat after)
'

test_expect_success 'a clone fetches whatever its remote holds; merging it is judged' '
	git clone -q box clone &&
	(
		cd box &&
		bad_commit HEAD >../bad2 &&
		git rev-parse HEAD >../box-main &&
		git -c core.hooksPath=/dev/null update-ref refs/heads/main $(cat ../bad2)
	) &&
	(
		cd clone &&
		git box install >/dev/null &&
		git fetch -q &&
		git rev-parse origin/main >../fetched &&
		box_snapshot >../before &&
		test_expect_code 128 git merge -q --ff-only origin/main 2>../err &&
		tidy &&
		box_snapshot >../after
	) &&
	git -C box -c core.hooksPath=/dev/null update-ref refs/heads/main $(cat box-main) &&
	test_cmp bad2 fetched &&
	test_cmp before after &&
	grep "input/data.csv.: read-only input: modified in commit $(cut -c1-12 bad2) on .refs/heads/main.$" err
'

test_expect_success 'setup: a repository with history before it became a box' '
	git init -q older &&
	(
		cd older &&
		mkdir data &&
		echo 1 >data/a.csv &&
		git add data && git commit -q -m one &&
		echo 2 >data/a.csv &&
		git commit -q -a -m two &&
		git box init --input data/ >/dev/null
	)
'

test_expect_success 'branches at commits from before the box are made freely' '
	(
		cd older &&
		git branch before-box HEAD~1 &&
		git switch -q before-box &&
		git switch -q main
	)
'

test_done

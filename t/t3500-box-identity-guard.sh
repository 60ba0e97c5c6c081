#!/bin/sh

test_description='the box keeps one identity: first-parent history, one root, one init

A box is its init commit, the one root and the one init of its history,
and its branch grows by first parents only. A server refuses every push
that would re-root the box (a merge whose first parent is a forged root),
rewind it (a forced push back to init, past a signed checkpoint) or bring
a second root or a second init; reference-transaction refuses the same in
a clone, where unpushed work that carries no event may still be amended,
rebased and reset. Every forgery is made with stock git by someone who
holds no signing key; a refused update changes no ref.'

. ./lib-box.sh

SETUP="$BOX_SOURCE_DIR/contrib/server/setup-box-server.sh"
ALICE=$(box_fpr alice)

# A push with the client's hooks bypassed; git pads the server's lines
# with blanks, which go.
push () {
	git -c core.hooksPath=/dev/null push "$@" 2>"$SHARNESS_TRASH_DIRECTORY/push.err"
	rc=$?
	sed "s/ *\$//" "$SHARNESS_TRASH_DIRECTORY/push.err" >&2
	return $rc
}

# Back to the branch as it is, the inputs as they were frozen: a merge
# writes the work tree (as root, inputs too) before its ref update is refused.
tidy () {
	git reset -q --hard 2>/dev/null &&
	git box restore input >/dev/null
}

server_refs () {
	git -C "$SHARNESS_TRASH_DIRECTORY/server.git" for-each-ref --format="%(objectname) %(refname)"
}

short () {
	git rev-parse --short=12 "$1"
}

# forged_root: a new root commit carrying a copy of the init commit's
# message (Box-Event: init and all), a forged input and a policy that
# signs nothing, made with plumbing in the current clone.
forged_root () {
	init=$(git rev-list --max-parents=0 main | tail -n 1) &&
	git cat-file commit $init | sed "1,/^\$/d" >../init.msg &&
	grep "^Box-Event: init\$" ../init.msg >/dev/null &&
	data=$(printf "id,value\n1,999\n2,20\n" | git hash-object -w --stdin) &&
	policy=$(git show $init:.box/policy.yaml | sed "s/when: seal/when: none/" |
		 git hash-object -w --stdin) &&
	git read-tree --index-output=../forge.index $init &&
	GIT_INDEX_FILE=../forge.index git update-index \
		--cacheinfo 100644,$data,input/data.csv --cacheinfo 100644,$policy,.box/policy.yaml &&
	tree=$(GIT_INDEX_FILE=../forge.index git write-tree) &&
	rm -f ../forge.index &&
	git commit-tree -F ../init.msg $tree
}

# on PARENT a commit adding FILE, made with plumbing: plumb PARENT FILE [commit-tree options]
plumb () {
	parent=$1 file=$2 && shift 2 &&
	blob=$(echo "$file" | git hash-object -w --stdin) &&
	git read-tree --index-output=../plumb.index "$parent" &&
	GIT_INDEX_FILE=../plumb.index git update-index --add --cacheinfo 100644,$blob,"$file" &&
	tree=$(GIT_INDEX_FILE=../plumb.index git write-tree) &&
	rm -f ../plumb.index &&
	if test $# = 0
	then
		set -- -m "Add $file"
	fi &&
	git commit-tree -p "$parent" "$@" $tree
}

test_expect_success 'setup: a box at work with a signed checkpoint, on a guarded server' '
	box_gpg_import alice &&
	box_policy policy.yaml seal 1 $ALICE &&
	box_init_policy box policy.yaml &&
	"$SETUP" --create server.git >/dev/null &&
	(
		cd box &&
		git config user.signingKey $ALICE &&
		box_commit analysis analysis.R "mean(x)" &&
		git box checkpoint -m interim >/dev/null &&
		git rev-parse HEAD >../checkpoint &&
		box_commit plot plot.R "plot(x)" &&
		git remote add origin ../server.git &&
		git box install >/dev/null &&
		git push -q origin 2>/dev/null
	) &&
	git -C box rev-list --max-parents=0 main >init &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)" &&
	git -C server.git notes --ref=box show $(cat checkpoint) | grep "^-----BEGIN PGP SIGNATURE-----$" &&
	git clone -q server.git mallory &&
	git -C mallory fetch -q origin refs/notes/box:refs/notes/box
'

test_expect_success 'the re-rooting merge is a fast-forward to git, and the server refuses it' '
	server_refs >before &&
	(
		cd mallory &&
		root=$(forged_root) &&
		tree=$(git read-tree --index-output=../m.index main &&
		       GIT_INDEX_FILE=../m.index git update-index --cacheinfo 100644,$(git rev-parse $root:input/data.csv),input/data.csv &&
		       GIT_INDEX_FILE=../m.index git write-tree) &&
		rm -f ../m.index &&
		merge=$(git commit-tree -p $root -p main -m "Merge the work" $tree) &&
		echo $root >../root && echo $merge >../merge &&
		git merge-base --is-ancestor main $merge &&
		test_expect_code 1 push origin $merge:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: first-parent history: .refs/heads/main. would move from $(git -C box rev-parse --short=12 main) to $(cat merge), which does not have it on its first-parent line\$" err &&
	grep "^remote: error: box identity: commit $(cut -c1-12 root) says .Box-Event: init., but the box.s init is $(cat init): a box has one init in commit $(cut -c1-12 root) on .refs/heads/main.\$" err &&
	grep "^remote: hint: the box branch grows by first parents only" err
'

test_expect_success 'the same merge is refused in the analyst clone, which keeps its branch' '
	git -C box fetch -q ../mallory $(cat merge) &&
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git update-ref refs/heads/main $(cat ../merge) 2>../err &&
		test_expect_code 128 git merge -q --ff-only $(cat ../merge) 2>../err2 &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(cut -c1-12 checkpoint) off its first-parent line, and it carries an event (a manifest in refs/notes/box)\$" err &&
	grep "^error: box identity: commit $(cut -c1-12 root) says .Box-Event: init." err &&
	grep "^error: first-parent history:" err2 &&
	grep "^hint: no ref was changed" err
'

test_expect_success 'a forced push back to the init commit is refused' '
	server_refs >before &&
	(
		cd mallory &&
		test_expect_code 1 push origin +$(cat ../init):refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: first-parent history: .refs/heads/main. would move from [0-9a-f]\{12\} to $(cat init), which does not have it on its first-parent line\$" err
'

test_expect_success 'so is init, a forged import and the work cherry-picked back, in one forced push' '
	server_refs >before &&
	(
		cd mallory &&
		git reset -q --hard $(cat ../init) &&
		import=$(plumb HEAD input/forged.csv -m "Import forged.csv into input/" -m "Box-Event: import") &&
		git reset -q --hard $import &&
		git cherry-pick origin/main~1 origin/main >/dev/null &&
		test_expect_code 1 push origin +HEAD:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: first-parent history: .refs/heads/main. would move" err
'

test_expect_success 'rewinding past the signed checkpoint is refused by the server and in the clone' '
	server_refs >before &&
	(
		cd mallory &&
		test_expect_code 1 push origin +$(cat ../checkpoint)~1:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: first-parent history: .refs/heads/main. would move" err &&
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git reset -q --hard HEAD~2 2>../err &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(cut -c1-12 checkpoint) off its first-parent line, and it carries an event (a manifest in refs/notes/box)\$" err &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(cut -c1-12 checkpoint) off its first-parent line, and it was pushed: .refs/remotes/origin/main. holds it\$" err
'

test_expect_success 'the checkpoint stays even where nothing was pushed' '
	(
		cd box &&
		git remote rename origin gone &&
		git update-ref -d refs/remotes/gone/main &&
		box_snapshot >../before &&
		test_expect_code 128 git reset -q --hard HEAD~2 2>../err &&
		tidy &&
		box_snapshot >../after &&
		git remote rename gone origin &&
		git fetch -q origin
	) &&
	test_cmp before after &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(cut -c1-12 checkpoint) off its first-parent line, and it carries an event (a manifest in refs/notes/box)\$" err
'

test_expect_success 'a second root is refused, on a branch of its own or merged in' '
	server_refs >before &&
	(
		cd mallory &&
		git reset -q --hard origin/main &&
		other=$(plumb HEAD unrelated.txt) &&
		root=$(git commit-tree -m "Unrelated" $(git rev-parse $other^{tree})) &&
		test_expect_code 1 push origin $root:refs/heads/other 2>../err &&
		merge=$(git commit-tree -p main -p $root -m "Merge unrelated" $(git rev-parse $root^{tree})) &&
		test_expect_code 1 push origin $merge:refs/heads/main 2>../err2 &&
		echo $root >../root2
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: box identity: commit $(cut -c1-12 root2) is a root commit, but the box has one root, its init $(cat init) in commit $(cut -c1-12 root2) on .refs/heads/other.\$" err &&
	grep "^remote: error: box identity: commit $(cut -c1-12 root2) is a root commit" err2 &&
	! grep "first-parent history" err2
'

test_expect_success 'a second root is refused in the clone too, as a branch and as a merge' '
	git -C box fetch -q ../mallory $(cat root2) &&
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git branch other $(cat ../root2) 2>../err &&
		test_expect_code 128 git merge -q --allow-unrelated-histories -m "Merge" $(cat ../root2) 2>../err2 &&
		tidy &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: box identity: commit $(cut -c1-12 root2) is a root commit" err &&
	grep "^error: box identity: commit $(cut -c1-12 root2) is a root commit" err2
'

test_expect_success 'a second init on a side branch is refused, alone and merged in' '
	server_refs >before &&
	(
		cd mallory &&
		side=$(plumb main notes.txt -m "Start again" -m "Box-Event: init") &&
		test_expect_code 1 push origin $side:refs/heads/side 2>../err &&
		merge=$(git commit-tree -p main -p $side -m "Merge side" $(git rev-parse $side^{tree})) &&
		test_expect_code 1 push origin $merge:refs/heads/main 2>../err2 &&
		echo $side >../side
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: box identity: commit $(cut -c1-12 side) says .Box-Event: init., but the box.s init is $(cat init): a box has one init in commit $(cut -c1-12 side) on .refs/heads/side.\$" err &&
	grep "^remote: error: box identity: commit $(cut -c1-12 side) says .Box-Event: init." err2
'

test_expect_success 'unpushed work may still be amended' '
	(
		cd box &&
		box_commit draft draft.R "d <- 1" &&
		git rev-parse HEAD >../drafted &&
		echo "d <- 2" >draft.R &&
		git commit -q -a --amend -m "draft, amended" &&
		! git merge-base --is-ancestor $(cat ../drafted) HEAD
	)
'

test_expect_success 'and rebased, dropping a commit' '
	(
		cd box &&
		box_commit second second.R "s" &&
		box_commit third third.R "t" &&
		GIT_SEQUENCE_EDITOR="sed -i 1d" git rebase -q -i HEAD~2 &&
		test_path_is_missing second.R &&
		test_path_is_file third.R &&
		test "$(git log --format=%s -1)" = third
	)
'

test_expect_success 'and reset back to what was pushed' '
	(
		cd box &&
		git reset -q --hard origin/main &&
		test "$(git rev-parse HEAD)" = "$(git rev-parse origin/main)"
	)
'

test_expect_success 'a pushed commit cannot be amended' '
	(
		cd box &&
		box_snapshot >../before &&
		test_expect_code 128 git commit -q --amend -m "plot, amended" 2>../err &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(git -C box rev-parse --short=12 HEAD) off its first-parent line, and it was pushed: .refs/remotes/origin/main. holds it\$" err &&
	grep "^hint: the box branch grows by first parents only: a commit that was pushed or carries an event stays on it" err
'

test_expect_success 'an unpushed commit that a checkpoint recorded cannot be amended' '
	(
		cd box &&
		box_commit checked checked.R "c" &&
		git box checkpoint >/dev/null &&
		box_snapshot >../before &&
		test_expect_code 128 git commit -q --amend -m "checked, amended" 2>../err &&
		box_snapshot >../after &&
		git push -q origin 2>/dev/null
	) &&
	test_cmp before after &&
	grep "^error: first-parent history: .refs/heads/main. would take commit $(git -C box rev-parse --short=12 HEAD) off its first-parent line, and it carries an event (a manifest in refs/notes/box)\$" err
'

test_expect_success 'setup: a co-analyst pushes while the analyst commits' '
	git clone -q server.git bob &&
	(
		cd bob &&
		git box install >/dev/null &&
		box_commit "bob" bob.R "b" &&
		git push -q origin 2>/dev/null
	) &&
	(
		cd box &&
		box_commit "alice" alice.R "a" &&
		git rev-parse HEAD >../alice-work &&
		git fetch -q origin
	)
'

test_expect_success 'git pull merges in the clone' '
	(
		cd box &&
		git pull -q --no-rebase --no-edit origin main &&
		test "$(git rev-parse HEAD^1)" = "$(cat ../alice-work)" &&
		test "$(git rev-parse HEAD^2)" = "$(git rev-parse origin/main)"
	)
'

test_expect_success 'but the server refuses that merge, whose first parent is not its tip' '
	server_refs >before &&
	(
		cd box &&
		test_expect_code 1 push origin main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: first-parent history: .refs/heads/main. would move from $(git -C server.git rev-parse --short=12 main) to $(git -C box rev-parse main), which does not have it on its first-parent line\$" err &&
	grep "^remote: hint: the box branch grows by first parents only: fetch, put your work on top of it (.git pull --rebase., or a merge made on the box branch), and push again\$" err
'

test_expect_success 'undoing the unpushed merge and pulling with --rebase is accepted' '
	(
		cd box &&
		git reset -q --hard $(cat ../alice-work) &&
		git pull -q --rebase origin main &&
		test "$(git rev-parse HEAD~1)" = "$(git rev-parse origin/main)" &&
		git push -q origin 2>/dev/null
	) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)"
'

test_expect_success 'a merge made on the box branch is accepted by the server' '
	(
		cd box &&
		git switch -q -c topic &&
		box_commit "topic" topic.R "t" &&
		git switch -q main &&
		git merge -q --no-ff -m "Merge topic" topic &&
		git push -q origin 2>/dev/null
	) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)" &&
	test "$(git -C server.git rev-parse main^2)" = "$(git -C box rev-parse topic)"
'

test_done

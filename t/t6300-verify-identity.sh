#!/bin/sh

test_description='verify, log and status know which box this is

The box id is the init commit. verify prints it in full, fails a history
with a second root or a second init anywhere in it (a box re-rooted under
a merge among them) and a manifest that names another box, and checks it
against --expect-box or box.verify.expectBox; log and status print it;
status, which remembers the id a clone was set up for, says so as an
error when the box branch, or a fetched copy of it, holds another box.
Every forgery is made by someone who holds no signing key.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BEGIN_SIG='^-----BEGIN PGP SIGNATURE-----$'

# verify in repository $1 with the auditor's roots; more options after it.
v () {
	v_dir=$1 && shift &&
	git -C "$v_dir" box verify --keyring "$SHARNESS_TRASH_DIRECTORY/signers.asc" \
		--trust-signer $ALICE --tsa-ca "$TSA_FIXTURES/ca.pem" "$@"
}

# A clone of the box with its notes and tags, as a host serves it.
fresh () {
	git clone -q box "$1" &&
	git -C "$1" fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*"
}

# forged_root: in the current clone, a new root commit carrying a copy of
# the init commit's message, a forged input and a policy that signs and
# stamps nothing.
forged_root () {
	git cat-file commit $(cat ../init) | sed "1,/^\$/d" >../init.msg &&
	data=$(printf "id,value\n1,999\n2,20\n" | git hash-object -w --stdin) &&
	policy=$(git show $(cat ../init):.box/policy.yaml |
		 sed -e "/^timestamp:/d" -e "s/when: seal/when: none/" -e "s/quorum: 1/quorum: 0/" |
		 git hash-object -w --stdin) &&
	git read-tree --index-output=../forge.index $(cat ../init) &&
	GIT_INDEX_FILE=../forge.index git update-index \
		--cacheinfo 100644,$data,input/data.csv --cacheinfo 100644,$policy,.box/policy.yaml &&
	tree=$(GIT_INDEX_FILE=../forge.index git write-tree) &&
	rm -f ../forge.index &&
	git commit-tree -F ../init.msg $tree
}

test_expect_success 'setup: a sealed and stamped box, and a clone of it' '
	tsa_start tsa &&
	box_gpg_import alice &&
	box_init_stamped box 1 $ALICE &&
	(
		cd box &&
		box_commit analysis analysis.R "mean(x)" &&
		git box checkpoint -m interim >/dev/null &&
		box_commit plot plot.R "plot(x)" &&
		git box seal -m final >/dev/null
	) &&
	gpg --batch --export --armor $ALICE >signers.asc &&
	git -C box rev-list --max-parents=0 main >init &&
	printf "%040d\n" 7 >other &&
	fresh audit &&
	v audit >out &&
	grep "^verified: .*COMPLETED" out
'

test_expect_success 'verify shows the box id in full, in text and in JSON' '
	grep "^ok   identity: box $(cat init): its init commit is the one root and the one init of the 4 commits verified, and every manifest names it; pin it with --expect-box\$" out &&
	v audit --json >out.json &&
	grep "^  \"box\": \"$(cat init)\",\$" out.json &&
	grep "\"check\": \"identity\"" out.json
'

test_expect_success '--expect-box with the box id holds' '
	v audit --expect-box $(cat init) >out &&
	grep "^ok   identity: the box is the one expected (--expect-box)\$" out &&
	! grep "pin it with" out
'

test_expect_success '--expect-box accepts the id in capitals' '
	v audit --expect-box $(tr a-f A-F <init) >out &&
	grep "^ok   identity: the box is the one expected (--expect-box)\$" out
'

test_expect_success '--expect-box with another id fails, naming both' '
	test_expect_code 1 v audit --expect-box $(cat other) >out &&
	grep "^FAIL identity: the box is $(cat init), not the $(cat other) expected (--expect-box)\$" out &&
	grep "^FAILED: box $(cut -c1-12 init) " out
'

test_expect_success '--expect-box that is not a whole id cannot run' '
	id=$(cat init) &&
	for bad in $(echo $id | cut -c1-12) $(echo $id | cut -c1-39) ${id}0 $(printf "g%.0s" $(seq 40)) ""
	do
		test_expect_code 2 v audit --expect-box "$bad" >out 2>err &&
		test_must_be_empty out &&
		grep "^error: --expect-box .$bad. is not a box id (the 40 hex digits of its init commit)\$" err &&
		grep "^hint: give the box id in full" err || return 1
	done
'

test_expect_success 'box.verify.expectBox in the clone is not read: a repository does not pin itself' '
	git -C audit config box.verify.expectBox $(cat other) &&
	v audit >out &&
	grep "^ok   identity: box $(cat init): its init commit is the one root" out &&
	! grep "expected" out &&
	git -C audit config --unset box.verify.expectBox
'

test_expect_success 'box.verify.expectBox in the global configuration pins the box, and is named' '
	test_when_finished "git config --global --unset box.verify.expectBox" &&
	git config --global box.verify.expectBox $(cat other) &&
	test_expect_code 1 v audit >out &&
	grep "^FAIL identity: the box is $(cat init), not the $(cat other) expected (box.verify.expectBox)\$" out &&
	git config --global box.verify.expectBox $(cat init) &&
	v audit >out &&
	grep "^ok   identity: the box is the one expected (box.verify.expectBox)\$" out
'

test_expect_success '--expect-box wins over box.verify.expectBox' '
	test_when_finished "git config --global --unset box.verify.expectBox" &&
	git config --global box.verify.expectBox $(cat other) &&
	v audit --expect-box $(cat init) >out &&
	grep "^ok   identity: the box is the one expected (--expect-box)\$" out
'

test_expect_success 'a box.verify.expectBox that is no id cannot run, and is named' '
	test_when_finished "git config --global --unset box.verify.expectBox" &&
	git config --global box.verify.expectBox 1234 &&
	test_expect_code 2 v audit >out 2>err &&
	test_must_be_empty out &&
	grep "^error: box.verify.expectBox .1234. is not a box id" err
'

test_expect_success 'a self-check honours the configured pin' '
	test_when_finished "git config --global --unset box.verify.expectBox" &&
	git config --global box.verify.expectBox $(cat other) &&
	test_expect_code 1 git -C audit box verify --self-check >out &&
	grep "^FAIL identity: the box is $(cat init), not the $(cat other) expected (box.verify.expectBox)\$" out
'

test_expect_success 'a bundle is pinned by the global configuration, never by the clone it is read in' '
	test_when_finished "git config --global --unset box.verify.expectBox" &&
	(cd box && git box export -o ../box.tar >/dev/null) &&
	v audit "$PWD/box.tar" --expect-box $(cat init) >out &&
	grep "^ok   identity: the box is the one expected" out &&
	git -C audit config box.verify.expectBox $(cat init) &&
	git config --global box.verify.expectBox $(cat other) &&
	test_expect_code 1 v audit "$PWD/box.tar" >out &&
	grep "^FAIL identity: the box is $(cat init), not the $(cat other) expected" out &&
	git -C audit config --unset box.verify.expectBox
'

test_expect_success 'setup: the box re-rooted under a merge, with a forged init manifest' '
	fresh reroot &&
	(
		cd reroot &&
		root=$(forged_root) &&
		merge=$(git commit-tree -p $root -p main -m "Merge the work" $(git rev-parse $root^{tree})) &&
		git merge-base --is-ancestor main $merge &&
		git update-ref refs/heads/main $merge &&
		git reset -q --hard &&
		git box checkpoint $root >/dev/null 2>&1 &&
		git notes --ref=box show $root | grep "\"event\": \"init\"" &&
		echo $root >../root
	)
'

test_expect_success 'verify fails it: the old init is a second init, and the box is not the one expected' '
	test_expect_code 1 v reroot --expect-box $(cat init) >out &&
	grep "^FAIL identity: $(cut -c1-12 init): commit $(cut -c1-12 init) says .Box-Event: init., but the box.s init is $(cat root): a box has one init\$" out &&
	grep "^FAIL identity: the box is $(cat root), not the $(cat init) expected (--expect-box)\$" out &&
	test_expect_code 1 v reroot >out &&
	grep "^FAIL identity: $(cut -c1-12 init): commit $(cut -c1-12 init) says .Box-Event: init." out &&
	! grep "^ok   identity" out
'

test_expect_success 'a second root merged into the box fails identity' '
	fresh second-root &&
	(
		cd second-root &&
		root=$(git commit-tree -m "Unrelated" $(git rev-parse main^{tree})) &&
		merge=$(git commit-tree -p main~1 -p $root -m "Merge unrelated" $(git rev-parse main^{tree})) &&
		git update-ref refs/heads/main $merge &&
		echo $root >../second-root.id
	) &&
	test_expect_code 1 v second-root "main^{commit}" >out &&
	grep "^FAIL identity: $(cut -c1-12 second-root.id): commit $(cut -c1-12 second-root.id) is a root commit, but the box has one root, its init $(cat init)\$" out
'

test_expect_success 'a second init on a side branch merged in fails identity' '
	fresh second-init &&
	(
		cd second-init &&
		side=$(git commit-tree -p main~2 -m "Start again" -m "Box-Event: init" $(git rev-parse main~2^{tree})) &&
		merge=$(git commit-tree -p main~1 -p $side -m "Merge side" $(git rev-parse main~1^{tree})) &&
		git update-ref refs/heads/main $merge &&
		echo $side >../side.id
	) &&
	test_expect_code 1 v second-init >out &&
	grep "^FAIL identity: $(cut -c1-12 side.id): commit $(cut -c1-12 side.id) says .Box-Event: init., but the box.s init is $(cat init): a box has one init\$" out
'

test_expect_success 'a manifest that names another box fails identity and the chain' '
	fresh foreign &&
	(
		cd foreign &&
		cp=$(git rev-parse main~2) &&
		git notes --ref=box show $cp | sed "s/\"box\": \"[0-9a-f]*\"/\"box\": \"$(cat ../other)\"/" >note &&
		git notes --ref=box add -f -F note $cp
	) &&
	test_expect_code 1 v foreign >out &&
	grep "^FAIL identity: 1 manifest on the history names another box (see chain)\$" out &&
	grep "^FAIL chain: .*: the manifest belongs to box $(cut -c1-12 other), not to this box\$" out
'

test_expect_success 'verify says of a forged seal what the guards say' '
	fresh fake-seal &&
	(
		cd fake-seal &&
		blob=$(echo late | git hash-object -w --stdin) &&
		git read-tree --index-output=../s.index main~1 &&
		GIT_INDEX_FILE=../s.index git update-index --add --cacheinfo 100644,$blob,late.R &&
		seal=$(git commit-tree -p main~1 -m "Seal" -m "Box-Event: seal" $(GIT_INDEX_FILE=../s.index git write-tree)) &&
		rm -f ../s.index &&
		git update-ref refs/heads/main $seal &&
		echo $seal >../fake-seal.id
	) &&
	test_expect_code 1 v fake-seal >out &&
	grep "^FAIL lifecycle: $(cut -c1-12 fake-seal.id): commit $(cut -c1-12 fake-seal.id) says .Box-Event: seal., but changes the files: a seal has the tree of its parent\$" out
'

test_expect_success 'log prints the box id' '
	(cd box && git box log >../log && git box log --json >../log.json) &&
	grep "^box: $(cat init)\$" log &&
	grep "\"box\": \"$(cat init)\"" log.json
'

test_expect_success 'status prints the id init recorded' '
	(cd box && git box status >../status && git box status --json >../status.json) &&
	grep "^id        $(cat init)\$" status &&
	test "$(git -C box config box.id)" = "$(cat init)" &&
	grep "\"recorded\": \"$(cat init)\"" status.json &&
	grep "\"foreign\": \[\]" status.json
'

test_expect_success 'install records the id in a clone' '
	git clone -q box analyst &&
	(cd analyst && git box install >../install.out) &&
	grep "^  config  box.id $(cat init)\$" install.out &&
	test "$(git -C analyst config box.id)" = "$(cat init)"
'

test_expect_success 'status exits 1 when the box branch now holds another box' '
	(
		cd analyst &&
		git fetch -q ../reroot main &&
		box_nohooks update-ref refs/heads/main FETCH_HEAD &&
		box_nohooks reset -q --hard &&
		test_expect_code 1 git box status >../status 2>../err &&
		test_expect_code 1 git box status --json >../status.json 2>/dev/null
	) &&
	grep "^id        $(cat root)\$" status &&
	grep "^error: this clone.s box is $(cat init) (box.id), but its branch .main. now holds box $(cat root)\$" err &&
	grep "^hint: the box branch was re-rooted or replaced: build nothing on it; .git box verify --expect-box $(cat init). checks it" err &&
	grep "^hint: if the new box is the one to follow, run .git config box.id $(cat root).\$" err &&
	grep "\"recorded\": \"$(cat init)\"" status.json
'

test_expect_success 'install refuses there, writing nothing' '
	(
		cd analyst &&
		git config --list --local >../config-before &&
		test_expect_code 1 git box install >../out 2>../err &&
		git config --list --local >../config-after
	) &&
	test_cmp config-before config-after &&
	test_must_be_empty out &&
	grep "^error: this clone.s box is $(cat init) (box.id), but its branch .main. now holds box $(cat root)\$" err
'

test_expect_success 'status exits 1 when a fetched copy of the box branch holds another box' '
	git clone -q box follower &&
	(
		cd follower &&
		git box install >/dev/null &&
		git box status >/dev/null &&
		git remote set-url origin ../reroot &&
		git fetch -q origin +refs/heads/main:refs/remotes/origin/main &&
		test_expect_code 1 git box status >../status 2>../err &&
		test_expect_code 1 git box status --json >../status.json 2>/dev/null
	) &&
	grep "^id        $(cat init)\$" status &&
	grep "^error: .refs/remotes/origin/main. holds box $(cat root), not this box $(cat init)\$" err &&
	grep "^hint: that remote.s box is not this box" err &&
	grep "\"ref\": \"refs/remotes/origin/main\"" status.json &&
	grep "\"box\": \"$(cat root)\"" status.json
'

test_expect_success 'a fetched copy that holds no box is not this box either' '
	(
		cd follower &&
		nobox=$(git commit-tree -m "Nothing" $(git mktree </dev/null)) &&
		git update-ref refs/remotes/origin/main $nobox &&
		test_expect_code 1 git box status >/dev/null 2>../err
	) &&
	grep "^error: .refs/remotes/origin/main. holds no box, not this box $(cat init)\$" err
'

test_expect_success 'a fetched copy still at the history a box was made over is this box, not pushed yet' '
	git init -q older &&
	(
		cd older &&
		mkdir data && echo 1 >data/a.csv &&
		git add data && git commit -q -m one &&
		git clone -q --bare . ../older.git &&
		git remote add origin ../older.git &&
		git fetch -q origin &&
		git box init --input data/ >/dev/null &&
		git box status >../status 2>../err
	) &&
	test_must_be_empty err &&
	grep "^id        $(git -C older rev-parse main)\$" status
'

test_done

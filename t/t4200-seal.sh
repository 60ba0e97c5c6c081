#!/bin/sh

test_description='git box seal: the final, signed event that locks the box'

. ./lib-box.sh

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CAROL=$(box_fpr carol)

notes_tip () {
	git -C "${1:-box}" rev-parse -q --verify refs/notes/box || echo none
}

test_expect_success 'setup: a box whose seal needs alice and bob' '
	box_gpg_import alice bob carol &&
	box_policy policy.yaml seal 2 $ALICE $BOB &&
	box_init_policy box policy.yaml &&
	git -C box config user.signingKey $ALICE &&
	(cd box && box_commit "analysis" analysis.R && box_commit "result" output/result.csv "1,2") &&
	git -C box rev-parse HEAD >tip-before
'

test_expect_success 'seal makes a seal commit with the message and the trailer, on the same tree' '
	(cd box && git box seal -m "Final analysis of the sepsis trial" >../out) &&
	grep "^Sealed git box .study.$" out &&
	test "$(git -C box rev-parse HEAD~1)" = "$(cat tip-before)" &&
	test "$(git -C box rev-parse HEAD^{tree})" = "$(git -C box rev-parse HEAD~1^{tree})" &&
	git -C box log -1 --format=%B >msg &&
	head -n 1 msg >subject &&
	echo "Final analysis of the sepsis trial" >expect &&
	test_cmp expect subject &&
	git interpret-trailers --parse msg >trailers &&
	echo "Box-Event: seal" >expect &&
	test_cmp expect trailers
'

test_expect_success 'the seal manifest is a note on the seal commit, signed by the sealer' '
	git -C box notes --ref=box show HEAD >note &&
	grep "^  \"event\": \"seal\",$" note &&
	grep "^  \"message\": \"Final analysis of the sepsis trial\",$" note &&
	grep "^    \"output/result.csv\": {$" note &&
	grep "^  signed    Alice Analyst .* $ALICE as author, \"seal: the analysis is complete\"$" out
'

test_expect_success 'stock gpg verifies the seal from git box show --payload and --signatures' '
	(cd box && git box show --payload >../m.json && git box show --signatures >../m.asc) &&
	gpg --verify m.asc m.json 2>gpg.out &&
	grep "Good signature from \"Alice Analyst" gpg.out &&
	cat m.json m.asc >both &&
	test_cmp note both
'

test_expect_success 'the box is SEALED and status names who must still sign' '
	(cd box && git box status >../status) &&
	grep "^state     SEALED (waiting for 1 more signature from: $BOB (Bob Analyst (git box test key) <bob@example.org>))$" status &&
	grep "^quorum    1 of 2 signatures; missing: $BOB (Bob Analyst (git box test key) <bob@example.org>)$" status &&
	grep "^next: the seal needs more signatures" status
'

test_expect_success 'status --json gives the quorum' '
	(cd box && git box status --json >../status.json) &&
	grep "\"state\": \"SEALED\"" status.json &&
	jq -e ".waiting_for == {\"signatures\": 1, \"signers\": [\"$BOB\"], \"timestamp\": false}" status.json &&
	grep "\"sealed_at\": \"$(git -C box rev-parse HEAD)\"" status.json &&
	grep "\"required\": 2" status.json &&
	grep "\"fingerprint\": \"$BOB\"" status.json
'

test_expect_success 'a second seal exits 1 with "already sealed at" and writes nothing' '
	before=$(notes_tip) &&
	(cd box && test_expect_code 1 git box seal -m again 2>../err) &&
	grep "^error: already sealed at $(git -C box rev-parse HEAD)$" err &&
	test "$(notes_tip)" = "$before" &&
	test "$(git -C box rev-list --count HEAD)" = 4
'

test_expect_success 'no checkpoint may follow the seal' '
	before=$(notes_tip) &&
	(cd box && test_expect_code 1 git box checkpoint 2>../err) &&
	grep "already has a manifest (seal)" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'history forced past the seal breaks the chain: log says so, no seal or checkpoint follows' '
	git clone -q box forced &&
	git -C forced fetch -q origin refs/notes/box:refs/notes/box &&
	(cd forced && git config user.signingKey $ALICE &&
	 echo more >more.R && git add more.R && git commit -q --no-verify -m "after the seal" &&
	 before=$(git rev-parse refs/notes/box) &&
	 test_expect_code 1 git box log >../log 2>../log.err &&
	 test_expect_code 1 git box seal 2>../seal.err &&
	 test_expect_code 1 git box checkpoint 2>../cp.err &&
	 test "$(git rev-parse refs/notes/box)" = "$before") &&
	grep "chain BROKEN" log &&
	grep "the box was sealed here, yet history goes on after it" log.err &&
	grep "the box was sealed here, yet history goes on after it" seal.err &&
	grep "no event may follow the seal" cp.err
'

test_expect_success 'a co-signer completes the quorum' '
	(cd box && git config user.signingKey $BOB &&
	 git box sign --role reviewer --reason "numbers checked" >../out &&
	 git config user.signingKey $ALICE && git box status >../status) &&
	grep "^  quorum    2 of 2: the seal is complete$" out &&
	grep "^state     COMPLETED$" status &&
	! grep "^quorum.*missing" status &&
	grep "^next: the box is sealed" status
'

test_expect_success 'seal --role and --reason are notations stock gpg shows' '
	box_init_policy roles policy.yaml &&
	(cd roles && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 git box seal --role approver --reason "approved for submission" >/dev/null &&
	 git box show --payload >../r.json && git box show --signatures >../r.asc) &&
	gpg --verify-options show-notations --verify r.asc r.json 2>gpg.out &&
	grep "role@git-box=approver" gpg.out &&
	grep "reason@git-box=approved for submission" gpg.out
'

test_expect_success 'seal refuses uncommitted changes, naming the file, and writes nothing' '
	box_init_policy dirty policy.yaml &&
	(cd dirty && git config user.signingKey $ALICE && box_commit "w" w.R && echo changed >w.R) &&
	before=$(notes_tip dirty) &&
	head=$(git -C dirty rev-parse HEAD) &&
	(cd dirty && test_expect_code 1 git box seal 2>../err) &&
	grep "error: .w.R. has uncommitted changes; the seal would leave them out" err &&
	grep "hint: commit them" err &&
	test "$(notes_tip dirty)" = "$before" &&
	test "$(git -C dirty rev-parse HEAD)" = "$head"
'

test_expect_success 'untracked files do not stop a seal' '
	(cd dirty && git checkout -q w.R && echo scratch >scratch.txt && git box seal >/dev/null) &&
	git -C dirty log -1 --format=%s >subject &&
	echo "Seal git box '\''study'\''" >expect &&
	test_cmp expect subject
'

test_expect_success 'with HEAD on another branch, seal seals the box branch as it is' '
	box_init_policy away policy.yaml &&
	(cd away && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 git switch -q -c side && echo elsewhere >side.txt && git add side.txt && git commit -q -m side &&
	 git box seal >/dev/null) &&
	git -C away log -1 --format=%B main | grep "^Box-Event: seal$" &&
	test "$(git -C away rev-parse main^{tree})" = "$(git -C away rev-parse main~1^{tree})"
'

test_expect_success 'a key not in the signer list cannot seal: exit 1, nothing written' '
	box_init_policy carol policy.yaml &&
	(cd carol && git config user.signingKey $CAROL && box_commit "w" w.R) &&
	before=$(notes_tip carol) &&
	head=$(git -C carol rev-parse HEAD) &&
	(cd carol && test_expect_code 1 git box seal 2>../err) &&
	grep "error: the signing key $CAROL (Carol .*) is not in the policy.s signer list" err &&
	test "$(notes_tip carol)" = "$before" &&
	test "$(git -C carol rev-parse HEAD)" = "$head"
'

test_expect_success 'no signing key: exit 2, nothing written' '
	mkdir -m 700 empty-home &&
	before=$(notes_tip carol) &&
	(cd carol && git config --unset user.signingKey &&
	 GNUPGHOME=$PWD/../empty-home test_expect_code 2 git box seal 2>../err) &&
	grep "error: no signing key" err &&
	test "$(notes_tip carol)" = "$before"
'

test_expect_success 'a policy that signs nothing seals unsigned; show --signatures says so' '
	box_policy unsigned.yaml none 0 &&
	box_init_policy plain unsigned.yaml &&
	(cd plain && box_commit "w" w.R && git box seal >../out &&
	 test_expect_code 1 git box show --signatures 2>../err) &&
	grep "^  signed    no (the policy does not sign seal events)$" out &&
	grep "error: the manifest on $(git -C plain rev-parse HEAD) is not signed" err
'

test_expect_success 'a bare mirror with the notes can be sealed' '
	box_init_policy origin policy.yaml &&
	(cd origin && box_commit "w" w.R) &&
	git clone -q --mirror origin mirror.git &&
	(cd mirror.git && git config user.signingKey $ALICE && git box seal >/dev/null &&
	 git box status >../status) &&
	grep "^state     SEALED (waiting for 1 more signature from: $BOB " status
'

test_expect_success 'a committed policy whose quorum exceeds its signers: exit 2' '
	box_init_policy wrong policy.yaml &&
	(cd wrong &&
	 sed "s/^  quorum: 2$/  quorum: 3/" .box/policy.yaml >../bad-policy.yaml &&
	 blob=$(git hash-object -w ../bad-policy.yaml) &&
	 git update-index --cacheinfo 100644,$blob,.box/policy.yaml &&
	 tree=$(git write-tree) &&
	 commit=$(echo "widen the quorum" | git commit-tree $tree -p HEAD) &&
	 box_nohooks update-ref refs/heads/main $commit &&
	 test_expect_code 2 git box seal 2>../err) &&
	grep "signing.quorum: 3 is more than the 2 signers listed" err
'

test_expect_success 'init refuses a quorum larger than the signer list' '
	box_sample_data q.src &&
	test_expect_code 2 git box init q --from q.src/data.csv --signer $ALICE --quorum 2 2>err &&
	grep "signing.quorum" err &&
	test_path_is_missing q
'

test_done

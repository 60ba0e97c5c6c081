#!/bin/sh

test_description='git box checkpoint: a signed event on a commit of the box branch'

. ./lib-box.sh

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CAROL=$(box_fpr carol)

# refs/notes/box, or "none".
notes_tip () {
	git -C "${1:-box}" rev-parse -q --verify refs/notes/box || echo none
}

test_expect_success 'setup: keys, and a box whose policy signs checkpoints' '
	box_gpg_import alice bob carol &&
	box_policy policy.yaml seal 1 $ALICE $BOB &&
	box_init_policy box policy.yaml &&
	git -C box config user.signingKey $ALICE &&
	(cd box && box_commit "work" analysis.R)
'

test_expect_success 'checkpoint writes a signed manifest on the tip' '
	(cd box && git box checkpoint >../out) &&
	grep "^checkpoint $(git -C box rev-parse HEAD)$" out &&
	grep "^  signed    Alice Analyst .* $ALICE as author, \"checkpoint: the work so far\"$" out &&
	git -C box notes --ref=box show HEAD >note &&
	grep "^  \"event\": \"checkpoint\",$" note &&
	grep "^-----BEGIN PGP SIGNATURE-----$" note
'

test_expect_success 'stock gpg verifies the payload against the stored signature' '
	sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" note >payload &&
	sed -n "/^-----BEGIN PGP SIGNATURE-----$/,\$p" note >sig.asc &&
	gpg --verify-options show-notations --verify sig.asc payload 2>gpg.out &&
	grep "Good signature from \"Alice Analyst" gpg.out &&
	grep "Signature notation: role@git-box=author" gpg.out &&
	grep "Signature notation: reason@git-box=checkpoint: the work so far" gpg.out
'

test_expect_success 'the checkpoint chains to the init event' '
	git -C box notes --ref=box show HEAD~1 | sha256sum | cut -d" " -f1 >expect &&
	sed -n "s/^  \"previous\": \"\(.*\)\",$/\1/p" payload >actual &&
	test_cmp expect actual
'

test_expect_success 'a second checkpoint of the same commit exits 1 and writes nothing' '
	before=$(notes_tip) &&
	(cd box && test_expect_code 1 git box checkpoint 2>../err) &&
	grep "error: $(git -C box rev-parse --short=12 HEAD) already has a manifest (checkpoint); add a signature to it with .git box sign" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'checkpoint -m, --role and --reason are recorded' '
	(cd box && box_commit "more" more.R &&
	 git box checkpoint -m "interim look" --role approver --reason "interim analysis approved" >/dev/null &&
	 git box show --payload >../p2 && git box show --signatures >../s2.asc) &&
	grep "^  \"message\": \"interim look\",$" p2 &&
	gpg --verify-options show-notations --verify s2.asc p2 2>gpg.out &&
	grep "role@git-box=approver" gpg.out &&
	grep "reason@git-box=interim analysis approved" gpg.out
'

test_expect_success 'checkpoint REV writes on a commit after the newest event' '
	(cd box && box_commit "three" three.R && box_commit "four" four.R &&
	 git box checkpoint HEAD~1 >../out) &&
	grep "^checkpoint $(git -C box rev-parse HEAD~1)$" out
'

test_expect_success 'a commit older than the newest event is refused: events chain in history order' '
	(cd box && box_commit "five" five.R && git box checkpoint >/dev/null) &&
	before=$(notes_tip) &&
	(cd box && test_expect_code 1 git box checkpoint HEAD~1 2>../err) &&
	grep "error: $(git -C box rev-parse --short=12 HEAD~1) is older than the newest event (checkpoint at $(git -C box rev-parse --short=12 HEAD)); events chain in history order" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'a commit off the box branch is refused' '
	(cd box && git switch -q -c side && box_commit "side" side.R && git switch -q main) &&
	before=$(notes_tip) &&
	(cd box && test_expect_code 1 git box checkpoint side 2>../err) &&
	grep "is not on the first-parent history of the box branch .main." err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'an unknown revision exits 2' '
	(cd box && test_expect_code 2 git box checkpoint no-such-rev 2>../err) &&
	grep "error: .no-such-rev. is not a commit" err
'

test_expect_success 'a role that is not a word is a usage error' '
	(cd box && test_expect_code 2 git box checkpoint --role "Chief Author" 2>../err) &&
	grep "the role .Chief Author. is not a lower-case word" err
'

test_expect_success 'checkpoint --json reports the event' '
	(cd box && box_commit "json" json.R && git box checkpoint --json >../cp.json) &&
	grep "\"event\": \"checkpoint\"" cp.json &&
	grep "\"commit\": \"$(git -C box rev-parse HEAD)\"" cp.json &&
	grep "\"fingerprint\": \"$ALICE\"" cp.json
'

test_expect_success 'setup: a fresh commit to try bad keys on' '
	(cd box && box_commit "six" six.R)
'

test_expect_success 'no signing key: exit 2, nothing written' '
	mkdir -m 700 empty-home &&
	before=$(notes_tip) &&
	(cd box && git config --unset user.signingKey &&
	 GNUPGHOME=$PWD/../empty-home test_expect_code 2 git box checkpoint 2>../err;
	 ret=$?; git config user.signingKey $ALICE; exit $ret) &&
	grep "error: no signing key" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'a key not in the signer list: exit 1, nothing written' '
	before=$(notes_tip) &&
	(cd box && git config user.signingKey $CAROL &&
	 test_expect_code 1 git box checkpoint 2>../err; ret=$?;
	 git config user.signingKey $ALICE; exit $ret) &&
	grep "error: the signing key $CAROL (Carol .*) is not in the policy.s signer list" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'box.signingKey wins over user.signingKey' '
	before=$(notes_tip) &&
	(cd box && git config box.signingKey $CAROL &&
	 test_expect_code 1 git box checkpoint 2>../err; ret=$?;
	 git config --unset box.signingKey; exit $ret) &&
	grep "signing key $CAROL" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'an expired key: exit 2, nothing written' '
	box_gpg_home expired alice &&
	(GNUPGHOME=$PWD/expired && box_gpg_expire $ALICE) &&
	before=$(notes_tip) &&
	(cd box && GNUPGHOME=$PWD/../expired test_expect_code 2 git box checkpoint 2>../err) &&
	grep "error: the signing key $ALICE (Alice .*) has expired" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'a revoked key: exit 2, nothing written' '
	box_gpg_home revoked alice &&
	(GNUPGHOME=$PWD/revoked && box_gpg_revoke $ALICE) &&
	before=$(notes_tip) &&
	(cd box && GNUPGHOME=$PWD/../revoked test_expect_code 2 git box checkpoint 2>../err) &&
	grep "error: the signing key $ALICE (Alice .*) is revoked" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'no gpg-agent: exit 2, nothing written' '
	box_gpg_home no-agent alice &&
	GNUPGHOME=$PWD/no-agent gpgconf --kill gpg-agent &&
	echo no-autostart >no-agent/gpg.conf &&
	before=$(notes_tip) &&
	(cd box && GNUPGHOME=$PWD/../no-agent test_expect_code 2 git box checkpoint 2>../err) &&
	grep "error: no gpg-agent" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'a gpg.program that is not there: exit 2, nothing written' '
	before=$(notes_tip) &&
	(cd box && git config gpg.program /no/such/gpg &&
	 test_expect_code 2 git box checkpoint 2>../err; ret=$?;
	 git config --unset gpg.program; exit $ret) &&
	grep "error: cannot find the gpg program ./no/such/gpg. (gpg.program)" err &&
	test "$(notes_tip)" = "$before"
'

test_expect_success 'after all that, the commit can still be signed' '
	(cd box && git box checkpoint >/dev/null) &&
	git -C box notes --ref=box show HEAD | grep "^  \"event\": \"checkpoint\",$"
'

test_expect_success 'a note that is not a manifest: checkpoint exits 1 and writes nothing' '
	box_init_policy junk policy.yaml &&
	(cd junk && git config user.signingKey $ALICE &&
	 box_commit "w1" w1.R && git notes --ref=box add -m "hello, not a manifest" HEAD &&
	 box_commit "w2" w2.R) &&
	before=$(notes_tip junk) &&
	(cd junk && test_expect_code 1 git box checkpoint 2>../err) &&
	grep "error: the event chain is broken; nothing was written: $(git -C junk rev-parse --short=12 HEAD~1): not a manifest" err &&
	test "$(notes_tip junk)" = "$before"
'

test_expect_success 'a broken chain: checkpoint exits 1 and writes nothing' '
	box_init_policy broken policy.yaml &&
	(cd broken && git config user.signingKey $ALICE &&
	 box_commit "w1" w1.R && git box checkpoint >/dev/null &&
	 git box show --payload >../good.json &&
	 sed "s/^  \"previous\": \"[0-9a-f]*\",$/  \"previous\": \"$(printf %064d 0)\",/" ../good.json >../bad.json &&
	 ! test_cmp ../good.json ../bad.json &&
	 box_nohooks notes --ref=box add -f -C $(git hash-object -w ../bad.json) HEAD &&
	 box_commit "w2" w2.R) &&
	before=$(notes_tip broken) &&
	(cd broken && test_expect_code 1 git box checkpoint 2>../err) &&
	grep "the chain is broken: .previous. does not match the payload of the event before it" err &&
	test "$(notes_tip broken)" = "$before"
'

test_expect_success 'a clone without the notes: exit 2 and how to fetch them' '
	git clone -q box clone &&
	(cd clone && git config user.signingKey $ALICE && box_commit "w" w.R &&
	 test_expect_code 2 git box checkpoint 2>../err) &&
	grep "no manifests: there is no refs/notes/box (fetch it: git fetch origin refs/notes/box:refs/notes/box)" err &&
	test "$(notes_tip clone)" = none
'

test_expect_success 'a policy that signs nothing writes unsigned checkpoints' '
	box_policy unsigned.yaml none 0 &&
	box_init_policy plain unsigned.yaml &&
	(cd plain && box_commit "w" w.R && git box checkpoint >../out) &&
	grep "^  signed    no (the policy does not sign checkpoint events)$" out &&
	! git -C plain notes --ref=box show HEAD | grep "BEGIN PGP SIGNATURE"
'

test_expect_success 'and refuses --role, which would mark nothing' '
	(cd plain && box_commit "w2" w2.R && test_expect_code 2 git box checkpoint --role author 2>../err) &&
	grep "the policy signs no checkpoint" err
'

test_done

#!/bin/sh

test_description='signing.when: every-commit: post-commit signs each commit, and never fails one'

. ./lib-box.sh

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)

test_expect_success 'setup: a box whose policy signs every commit' '
	box_gpg_import alice bob &&
	git config --global user.signingKey $ALICE &&
	box_policy policy.yaml every-commit 1 $ALICE $BOB &&
	box_init_policy box policy.yaml
'

test_expect_success 'the init manifest is signed too' '
	git -C box notes --ref=box show HEAD >init.note &&
	grep "^  \"event\": \"init\",$" init.note &&
	grep "^-----BEGIN PGP SIGNATURE-----$" init.note
'

test_expect_success 'a commit gets a signed checkpoint from post-commit' '
	(cd box && echo a >a.R && git add a.R && git commit -q -m a 2>../err) &&
	grep "^git box: checkpoint $(git -C box rev-parse --short=12 HEAD) signed by Alice Analyst" err &&
	git -C box notes --ref=box show HEAD >note &&
	grep "^  \"event\": \"checkpoint\",$" note &&
	grep "^-----BEGIN PGP SIGNATURE-----$" note
'

test_expect_success 'when signing fails the commit is made, with a warning saying what to do' '
	mkdir -m 700 empty-home &&
	(cd box && echo b >b.R && git add b.R &&
	 GNUPGHOME=$PWD/../empty-home git commit -q -m b 2>../err) &&
	git -C box log -1 --format=%s >subject &&
	echo b >expect &&
	test_cmp expect subject &&
	grep "^warning: the commit $(git -C box rev-parse --short=12 HEAD) is not signed: no secret key for .$ALICE. (user.signingKey)" err &&
	grep "^hint: sign it later with .git box checkpoint $(git -C box rev-parse --short=12 HEAD)." err &&
	test_must_fail git -C box notes --ref=box show HEAD 2>/dev/null
'

test_expect_success 'status lists the unsigned commit' '
	(cd box && git box status >../status) &&
	grep "^unsigned  1 commit: $(git -C box rev-parse --short=12 HEAD)$" status &&
	grep "^next: sign the newest unsigned commit" status
'

test_expect_success 'git box checkpoint REV signs it later' '
	(cd box && git box checkpoint HEAD >/dev/null && git box status >../status) &&
	! grep "^unsigned" status
'

test_expect_success 'a commit on another branch gets no checkpoint' '
	(cd box && git switch -q -c side && echo s >s.R && git add s.R && git commit -q -m s 2>../err &&
	 git switch -q main) &&
	test_must_be_empty err &&
	test_must_fail git -C box notes --ref=box show side 2>/dev/null
'

test_expect_success 'an unsigned commit behind a newer signed one can no longer be signed, and stays listed' '
	(cd box && echo c >c.R && git add c.R && GNUPGHOME=$PWD/../empty-home git commit -q -m c 2>/dev/null &&
	 echo d >d.R && git add d.R && git commit -q -m d 2>/dev/null &&
	 test_expect_code 1 git box checkpoint HEAD~1 2>../err && git box status >../status) &&
	grep "is older than the newest event" err &&
	grep "^unsigned  1 commit: $(git -C box rev-parse --short=12 HEAD~1)$" status
'

test_expect_success 'under signing.when: seal, commits get no checkpoint' '
	box_policy seal.yaml seal 1 $ALICE &&
	box_init_policy quiet seal.yaml &&
	(cd quiet && echo a >a.R && git add a.R && git commit -q -m a 2>../err) &&
	test_must_be_empty err &&
	test_must_fail git -C quiet notes --ref=box show HEAD 2>/dev/null &&
	! git -C quiet notes --ref=box show HEAD~1 | grep "BEGIN PGP SIGNATURE"
'

test_expect_success 'init under every-commit without a usable key refuses before making anything' '
	box_sample_data nokey.src &&
	GNUPGHOME=$PWD/empty-home test_expect_code 2 git box init nokey --policy policy.yaml \
		--from nokey.src/data.csv 2>err &&
	grep "error: the policy signs every event, the init manifest too: no secret key for" err &&
	test_path_is_missing nokey
'

test_expect_success 'init under every-commit with a key not listed refuses with exit 1' '
	git config --global user.signingKey $(box_fpr carol) &&
	box_gpg_import carol &&
	test_expect_code 1 git box init carol --policy policy.yaml --from nokey.src/data.csv 2>err &&
	grep "not in the policy.s signer list" err &&
	test_path_is_missing carol &&
	git config --global user.signingKey $ALICE
'

test_done

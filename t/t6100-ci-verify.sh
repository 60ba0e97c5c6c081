#!/bin/sh

test_description='contrib/ci/verify-box.sh: an auditor job that clones a box bare and verifies it against its own roots'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CI="$BOX_SOURCE_DIR/contrib/ci/verify-box.sh"

test_expect_success 'setup: a stamped box sealed by alice, its host, and the auditor roots' '
	tsa_start tsa &&
	box_gpg_import alice bob &&
	box_init_stamped box 1 $ALICE &&
	(cd box && box_commit analysis analysis.R && git box seal -m final >/dev/null) &&
	git clone -q --bare box host.git &&
	git -C box push -q ../host.git refs/notes/box "refs/tags/box/*" &&
	gpg --batch --export --armor $ALICE >signers.asc &&
	git -C box notes --ref=box show main | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d" >seal.json &&
	sha256sum seal.json | cut -d" " -f1 >seal.sha256
'

test_expect_success 'the job verifies the box, writes the JSON report and exits 0' '
	BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc BOX_TSA_CA="$TSA_FIXTURES/ca.pem" \
		BOX_EXPECT_SEAL=$(cat seal.sha256) BOX_REPORT=report.json \
		sh "$CI" "file://$PWD/host.git" >out 2>err &&
	grep "^verified: file://.*/host.git (report in .*/report.json)$" out &&
	grep "\"verdict\": \"verified\"" report.json &&
	grep "\"source\": \"given\"" report.json &&
	grep "\"state\": \"COMPLETED\"" report.json
'

test_expect_success 'a signer the auditor does not trust fails the job with exit 1' '
	test_expect_code 1 env BOX_SIGNERS=$BOB BOX_KEYRING=signers.asc \
		BOX_TSA_CA="$TSA_FIXTURES/ca.pem" BOX_REPORT=report.json \
		sh "$CI" "file://$PWD/host.git" >out 2>err &&
	grep "^FAILED: file://.*/host.git does not verify" err &&
	grep "\"verdict\": \"failed\"" report.json
'

test_expect_success 'a seal other than the one handed over fails the job' '
	test_expect_code 1 env BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc \
		BOX_TSA_CA="$TSA_FIXTURES/ca.pem" BOX_REPORT=report.json \
		BOX_EXPECT_SEAL=0000000000000000000000000000000000000000000000000000000000000000 \
		sh "$CI" "file://$PWD/host.git" >out 2>err &&
	grep "\"verdict\": \"failed\"" report.json
'

test_expect_success 'a host that rewrote an input in history fails the job' '
	git clone -q --bare host.git rewritten.git &&
	git -C rewritten.git fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	blob=$(printf "forged\n" | git -C rewritten.git hash-object -w --stdin) &&
	tree=$(git -C rewritten.git ls-tree main:input |
		sed "s/blob [0-9a-f]*\tdata.csv$/blob $blob\tdata.csv/" | git -C rewritten.git mktree) &&
	root=$(git -C rewritten.git ls-tree main | sed "s/tree [0-9a-f]*\tinput$/tree $tree\tinput/" |
		git -C rewritten.git mktree) &&
	commit=$(git -C rewritten.git commit-tree -p main -m "fix the data" $root) &&
	git -C rewritten.git update-ref refs/heads/main $commit &&
	test_expect_code 1 env BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc \
		BOX_TSA_CA="$TSA_FIXTURES/ca.pem" BOX_REPORT=report.json \
		sh "$CI" "file://$PWD/rewritten.git" >out 2>err &&
	grep "\"verdict\": \"failed\"" report.json &&
	grep "input/data.csv" report.json
'

test_expect_success 'a box whose host withholds the notes cannot be verified: exit 2' '
	git init -q --bare nonotes.git &&
	git -C box push -q ../nonotes.git main &&
	test_expect_code 2 env BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc \
		BOX_REPORT=report.json sh "$CI" "file://$PWD/nonotes.git" >out 2>err &&
	grep "^error: no manifests: there is no refs/notes/box" err &&
	grep "^error: could not verify file://.*/nonotes.git (exit 2)" err
'

test_expect_success 'a URL with credentials is never shown with them' '
	test_expect_code 2 env BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc \
		sh "$CI" "https://ci-token:s3cr3t@127.0.0.1:1/box.git" >out 2>err &&
	grep "^error: cannot clone https://127.0.0.1:1/box.git$" err &&
	! grep s3cr3t out err
'

test_expect_success 'a local checkout with its notes fetched verifies as file://' '
	git clone -q host.git checkout &&
	git -C checkout fetch -q origin "refs/notes/*:refs/notes/*" "refs/tags/box/*:refs/tags/box/*" &&
	BOX_SIGNERS=$ALICE BOX_KEYRING=signers.asc BOX_TSA_CA="$TSA_FIXTURES/ca.pem" \
		BOX_REPORT=report.json sh "$CI" "file://$PWD/checkout" >out 2>err &&
	grep "^verified: file://.*/checkout " out &&
	grep "\"verdict\": \"verified\"" report.json
'

test_expect_success 'refusals: no signers, no keyring, no URL' '
	test_expect_code 2 env -u BOX_SIGNERS sh "$CI" "file://$PWD/host.git" 2>err &&
	grep "BOX_SIGNERS" err &&
	test_expect_code 2 env BOX_SIGNERS=$ALICE BOX_KEYRING=missing.asc \
		sh "$CI" "file://$PWD/host.git" 2>err &&
	grep "cannot read the keyring .*missing.asc" err &&
	test_expect_code 2 sh "$CI" 2>err &&
	grep "^usage: verify-box.sh <url> \[<rev>\]" err
'

test_done

#!/bin/sh

test_description='a sealed box is SEALED until its seal has what the policy wants, then COMPLETED

The seal locks the box at once; the box is complete only when the seal
carries the quorum of good signatures by the policy'"'"'s signers and, when
the policy wants it, a timestamp that checks. status, log, verify and
seal say which state, and status and log what the seal waits for, in
text and JSON.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)
CAROL=$(box_fpr carol)
BOB_UID='Bob Analyst (git box test key) <bob@example.org>'

# verify clone DIR with the auditor's roots for alice and bob.
v () {
	v_dir=$1 && shift &&
	git -C "$v_dir" box verify --trust-signer $ALICE --trust-signer $BOB \
		--keyring "$SHARNESS_TRASH_DIRECTORY/signers.asc" --tsa-ca "$TSA_FIXTURES/ca.pem" "$@"
}

# A box whose seal needs QUORUM of alice and bob and a timestamp from URL,
# sealed by alice: sealed DIR QUORUM URL
sealed () {
	s_dir=$1 s_quorum=$2 s_url=$3 &&
	box_policy "$s_dir.yaml" seal "$s_quorum" $ALICE $BOB &&
	echo "timestamp: {when: seal, tsa: [\"$s_url\"], ca: .box/tsa-ca.pem}" >>"$s_dir.yaml" &&
	box_sample_data "$s_dir.src" &&
	git box init "$s_dir" --policy "$s_dir.yaml" --tsa-ca "$TSA_FIXTURES/ca.pem" \
		--from "$s_dir.src/data.csv" --from "$s_dir.src/sub" >/dev/null &&
	git -C "$s_dir" config user.signingKey $ALICE &&
	(cd "$s_dir" && box_commit analysis analysis.R && git box seal --json -m final >../$s_dir.seal.json)
}

test_expect_success 'setup: boxes whose seals need alice and bob, and a timestamp' '
	tsa_start tsa &&
	box_gpg_import alice bob carol &&
	gpg --batch --export --armor $ALICE $BOB >signers.asc &&
	sealed quorum2 2 "$(cat tsa.url)" &&
	test_expect_code 2 sealed nostamp 1 http://127.0.0.1:1/ 2>/dev/null &&
	test_expect_code 2 sealed neither 2 http://127.0.0.1:1/ 2>/dev/null &&
	git -C quorum2 for-each-ref refs/tags/box/ >tags &&
	test -s tags &&
	git -C nostamp for-each-ref refs/tags/box/ >tags &&
	test_must_be_empty tags &&
	test "$(git -C nostamp log -1 --format=%\(trailers:key=Box-Event,valueonly\))" = seal
'

test_expect_success 'seal --json says SEALED when the seal lacks a signature or its timestamp' '
	jq -e ".state == \"SEALED\"" quorum2.seal.json &&
	jq -e ".state == \"SEALED\"" nostamp.seal.json &&
	jq -e ".state == \"SEALED\"" neither.seal.json
'

test_expect_success 'one signature of two: status says SEALED and whose signature it waits for' '
	(cd quorum2 && git box status >../status) &&
	grep "^state     SEALED (waiting for 1 more signature from: $BOB ($BOB_UID))$" status &&
	grep "^next: the seal needs more signatures" status &&
	(cd quorum2 && git box status --json >../status.json) &&
	jq -e ".state == \"SEALED\"" status.json &&
	jq -e ".waiting_for == {\"signatures\": 1, \"signers\": [\"$BOB\"], \"timestamp\": false}" status.json
'

test_expect_success 'one signature of two: log says SEALED and what it waits for' '
	(cd quorum2 && git box log >../log) &&
	grep "^state: SEALED (waiting for 1 more signature from: $BOB); 2 events; chain intact$" log &&
	grep "^    quorum     1 of 2; not signed yet by: $BOB$" log &&
	(cd quorum2 && git box log --json >../log.json) &&
	jq -e ".state == \"SEALED\" and .waiting_for.signatures == 1 and .waiting_for.timestamp == false" log.json
'

test_expect_success 'one signature of two: verify fails the quorum and says SEALED' '
	git clone -q quorum2 audit1 &&
	git -C audit1 fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	test_expect_code 1 v audit1 >out &&
	grep "^FAIL quorum: seal [0-9a-f]*: 1 distinct trusted signer of the 2 the policy requires; not signed by: $BOB$" out &&
	grep "^FAILED: box [0-9a-f]* (study), SEALED at " out &&
	test_expect_code 1 v audit1 --json >report.json &&
	jq -e ".state == \"SEALED\"" report.json
'

test_expect_success 'a SEALED box is locked: no commit, no import, no second seal' '
	(cd quorum2 && echo more >more.R && git add more.R &&
	 test_must_fail git commit -q -m more 2>../err) &&
	grep -i "sealed" err &&
	(cd quorum2 && git reset -q --hard) &&
	box_sample_data more.src &&
	(cd quorum2 && test_expect_code 1 git box import ../more.src/data.csv 2>../err) &&
	grep "the box is sealed; its inputs can never change" err &&
	(cd quorum2 && test_expect_code 1 git box seal -m again 2>../err) &&
	grep "^error: already sealed at " err
'

test_expect_success 'a signature by a key outside the policy.s list does not complete it' '
	git clone -q quorum2 carol &&
	git -C carol fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	(cd carol && git box show --payload >../p.json) &&
	gpg --batch --yes --digest-algo SHA256 -u $CAROL --armor --detach-sign -o carol.asc p.json &&
	(cd carol && git notes --ref=box show main >../note && cat ../carol.asc >>../note &&
	 box_nohooks notes --ref=box add -f -F ../note main 2>/dev/null &&
	 git box status >../status) &&
	grep "^state     SEALED (waiting for 1 more signature from: $BOB " status
'

test_expect_success 'the timestamp missing: status, log and verify say SEALED, waiting for a timestamp' '
	(cd nostamp && git box status >../status && git box status --json >../status.json &&
	 git box log >../log) &&
	grep "^state     SEALED (waiting for a timestamp)$" status &&
	grep "^timestamp pending: seal on " status &&
	jq -e ".state == \"SEALED\" and .waiting_for == {\"signatures\": 0, \"signers\": [], \"timestamp\": true}" status.json &&
	grep "^state: SEALED (waiting for a timestamp); 2 events; chain intact$" log &&
	git clone -q nostamp audit2 &&
	git -C audit2 fetch -q origin refs/notes/box:refs/notes/box &&
	test_expect_code 1 v audit2 >out &&
	grep "^FAIL timestamp: seal [0-9a-f]*: the policy wants the seal event timestamped" out &&
	grep "^FAILED: box [0-9a-f]* (study), SEALED at " out
'

test_expect_success 'a timestamp tag that does not check does not complete it' '
	git clone -q nostamp badtag &&
	git -C badtag fetch -q origin refs/notes/box:refs/notes/box &&
	git -C quorum2 cat-file tag box/seal-1 | sed "1,/^\$/d" >seal-msg &&
	box_nohooks -C badtag tag -a -F ../seal-msg box/seal-1 main &&
	(cd badtag && git box status >../status) &&
	grep "^state     SEALED (waiting for a timestamp)$" status
'

test_expect_success 'both missing: status says so' '
	(cd neither && git box status >../status && git box status --json >../status.json) &&
	grep "^state     SEALED (waiting for 1 more signature from: $BOB ($BOB_UID), and a timestamp)$" status &&
	jq -e ".waiting_for == {\"signatures\": 1, \"signers\": [\"$BOB\"], \"timestamp\": true}" status.json
'

test_expect_success 'the missing signature comes: COMPLETED everywhere' '
	(cd quorum2 && git config user.signingKey $BOB && git box sign >/dev/null &&
	 git config user.signingKey $ALICE &&
	 git box status >../status && git box status --json >../status.json && git box log >../log) &&
	grep "^state     COMPLETED$" status &&
	jq -e ".state == \"COMPLETED\" and .waiting_for == null" status.json &&
	grep "^state: COMPLETED; 2 events; chain intact$" log &&
	git clone -q quorum2 audit3 &&
	git -C audit3 fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	v audit3 >out &&
	grep "^verified: box [0-9a-f]* (study), COMPLETED at " out
'

test_expect_success 'the missing timestamp comes: COMPLETED everywhere' '
	(cd nostamp && git box timestamp --tsa "$(cat ../tsa.url)" >/dev/null &&
	 git box status >../status && git box log --json >../log.json) &&
	grep "^state     COMPLETED$" status &&
	jq -e ".state == \"COMPLETED\" and .waiting_for == null" log.json &&
	git clone -q nostamp audit4 &&
	git -C audit4 fetch -q origin refs/notes/box:refs/notes/box "refs/tags/box/*:refs/tags/box/*" &&
	v audit4 >out &&
	grep "^verified: box [0-9a-f]* (study), COMPLETED at " out
'

test_expect_success 'a seal that has all it needs at once is COMPLETED from the start' '
	sealed whole 1 "$(cat tsa.url)" &&
	jq -e ".state == \"COMPLETED\"" whole.seal.json &&
	(cd whole && git box status >../status) &&
	grep "^state     COMPLETED$" status
'

test_expect_success 'a box whose policy signs and stamps nothing is COMPLETED at its seal' '
	box_policy free.yaml none 0 &&
	box_init_policy free free.yaml &&
	(cd free && box_commit w w.R && git box seal --json >../free.seal.json && git box status >../status) &&
	jq -e ".state == \"COMPLETED\"" free.seal.json &&
	grep "^state     COMPLETED$" status
'

test_done

#!/bin/sh

test_description='the commands that write an event have it timestamped when the policy wants it'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

# A policy without signatures whose timestamp.when is $2, naming TSA $3.
stamp_policy () {
	cat >"$1" <<-EOF
	version: 1
	name: study
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none, signers: [], quorum: 0}
	timestamp: {when: $2, tsa: ["$3"], ca: .box/tsa-ca.pem}
	environment: {capture: []}
	EOF
}

stamp_init () {
	box_sample_data "$1.src" &&
	git box init "$1" --policy "$2" --tsa-ca "$TSA_FIXTURES/ca.pem" \
		--from "$1.src/data.csv" --from "$1.src/sub"
}

test_expect_success 'setup: our TSA on a free port' '
	tsa_start tsa
'

test_expect_success 'seal has its manifest timestamped when the policy says seal' '
	box_init sealed --tsa "$(cat tsa.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" >/dev/null &&
	(
		cd sealed &&
		box_commit analysis analysis.R &&
		git box seal -m "final" >../out 2>../err
	) &&
	grep "^timestamped the seal event on [0-9a-f]* as .box/seal-1.$" out &&
	test "$(git -C sealed rev-parse "box/seal-1^{commit}")" = "$(git -C sealed rev-parse HEAD)" &&
	! grep "timestamp pending" err
'

test_expect_success 'stock openssl ts -verify accepts the stored seal timestamp' '
	(cd sealed && tsa_cut box/seal-1 ../seal.tsr ../seal.json) &&
	openssl ts -verify -data seal.json -in seal.tsr -CAfile "$TSA_FIXTURES/ca.pem" >out 2>&1 &&
	grep "^Verification: OK$" out
'

test_expect_success 'only the seal is stamped when only the seal is wanted' '
	git -C sealed for-each-ref --format="%(refname)" refs/tags/box/ >tags &&
	echo refs/tags/box/seal-1 >expect &&
	test_cmp expect tags
'

test_expect_success 'under every-event, init stamps the init manifest' '
	stamp_policy every.yaml every-event "$(cat tsa.url)" &&
	stamp_init every every.yaml >out &&
	grep "^timestamped the init event on [0-9a-f]* as .box/init-1.$" out &&
	test "$(git -C every rev-parse "box/init-1^{commit}")" = "$(git -C every rev-parse HEAD)"
'

test_expect_success 'under every-event, checkpoint stamps its manifest, and --json says so' '
	(
		cd every &&
		box_commit analysis analysis.R &&
		git box checkpoint --json -m "interim" >../out.json
	) &&
	grep "\"tag\": \"box/checkpoint-1\"" out.json &&
	grep "\"pending\": false" out.json &&
	test "$(git -C every rev-parse "box/checkpoint-1^{commit}")" = "$(git -C every rev-parse HEAD)"
'

test_expect_success 'setup: a box whose TSA cannot be reached' '
	stamp_policy away.yaml seal http://127.0.0.1:1/ &&
	stamp_init away away.yaml >/dev/null &&
	(cd away && box_commit analysis analysis.R)
'

test_expect_success 'seal without a TSA exits 2, but the seal is written and the timestamp pending' '
	(cd away && test_expect_code 2 git box seal -m "final" >../out 2>../err) &&
	seal=$(git -C away rev-parse --short=12 HEAD) &&
	grep "^Sealed git box " out &&
	grep "^timestamp pending; run .git box timestamp $seal.$" err &&
	git -C away notes --ref=box show HEAD >note &&
	grep "\"event\": \"seal\"" note &&
	(cd away && tsa_no_tags) &&
	(cd away && git box status >../status) &&
	grep "^state     SEALED (waiting for a timestamp)$" status &&
	grep "^timestamp pending: seal on $seal" status
'

test_expect_success 'git box timestamp then finishes the pending seal' '
	(cd away && git box timestamp --tsa "$(cat ../tsa.url)" >../out) &&
	grep "^timestamped the seal event on .* as .box/seal-1.$" out &&
	(cd away && git box status >../status) &&
	grep "^state     COMPLETED$" status &&
	! grep "^timestamp pending" status
'

test_expect_success 'seal --json reports a pending timestamp with the reason' '
	stamp_policy away2.yaml seal http://127.0.0.1:1/ &&
	stamp_init away2 away2.yaml >/dev/null &&
	(cd away2 && box_commit analysis analysis.R &&
	 test_expect_code 2 git box seal --json -m final >../out.json 2>/dev/null) &&
	grep "\"state\": \"SEALED\"" out.json &&
	grep "\"pending\": true" out.json &&
	grep "\"error\": \".*127.0.0.1:1" out.json &&
	grep "\"stored\": false" out.json
'

test_done

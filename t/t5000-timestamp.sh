#!/bin/sh

test_description='git box timestamp stores a checked RFC 3161 answer in box/<event>-<n>'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

test_expect_success 'setup: our TSA, and a box whose policy names it' '
	tsa_start tsa &&
	box_init box --tsa "$(cat tsa.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" &&
	(cd box && box_event_note HEAD init)
'

test_expect_success 'timestamp with no argument stamps the init event as box/init-1' '
	(cd box && git box timestamp >../out 2>../err) &&
	init=$(git -C box rev-parse --short=12 HEAD) &&
	grep "^timestamped the init event on $init as .box/init-1.$" out &&
	grep "^tsa       $(cat tsa.url)$" out &&
	grep "^name      CN=git box test TSA, O=git box tests$" out &&
	grep "^time      20[0-9-]*T[0-9:]*Z$" out &&
	grep "^serial    0x[0-9a-f]*$" out &&
	test_must_be_empty err
'

test_expect_success 'the tag is annotated, points at the event commit and names the committer' '
	test "$(git -C box cat-file -t box/init-1)" = tag &&
	test "$(git -C box rev-parse "box/init-1^{commit}")" = "$(git -C box rev-parse HEAD)" &&
	git -C box cat-file tag box/init-1 >tag &&
	grep "^tagger C O Mitter <committer@example.com> 1700000000 +0000$" tag
'

test_expect_success 'the tag message has the documented layout' '
	payload=$(cd box && box_payload HEAD) &&
	sha=$(sha256sum <"$payload" | cut -d" " -f1) &&
	git -C box cat-file tag box/init-1 | sed "1,/^\$/d" >message &&
	sed -n 1,7p message >head &&
	cat >expect <<-EOF &&
	RFC 3161 timestamp of the init event

	Event: init
	Payload-SHA256: $sha
	TSA: $(cat tsa.url)
	Gen-Time: $(sed -n "s/^time      //p" out)
	-----BEGIN RFC3161 TIMESTAMP RESPONSE-----
	EOF
	test_cmp expect head &&
	tail -n 1 message >last &&
	echo "-----END RFC3161 TIMESTAMP RESPONSE-----" >expect &&
	test_cmp expect last &&
	sed -e 1,7d -e "\$d" message >b64 &&
	! grep -v "^[A-Za-z0-9+/=]\{1,64\}$" b64
'

test_expect_success 'stock openssl ts -verify accepts the parts cut out with sed' '
	(cd box && tsa_cut box/init-1 ../resp.tsr ../payload.json) &&
	test_cmp "$(cd box && box_payload HEAD)" payload.json &&
	openssl ts -verify -data payload.json -in resp.tsr -CAfile "$TSA_FIXTURES/ca.pem" >verify.out 2>&1 &&
	grep "^Verification: OK$" verify.out
'

test_expect_success 'the stored response is granted, SHA-256, with a nonce and the TSA name' '
	openssl ts -reply -in resp.tsr -text >text 2>/dev/null &&
	grep "^Status: Granted.$" text &&
	grep "^Hash Algorithm: sha256$" text &&
	grep "^Nonce: 0x" text &&
	grep "^TSA: DirName:/CN=git box test TSA/O=git box tests$" text
'

test_expect_success 'stock openssl refuses the response for another payload' '
	echo "something else" >other &&
	test_must_fail openssl ts -verify -data other -in resp.tsr -CAfile "$TSA_FIXTURES/ca.pem" \
		>verify.out 2>&1 &&
	grep "message imprint mismatch" verify.out
'

test_expect_success 'with every event stamped, timestamp has nothing to do and exits 0' '
	(cd box && git box timestamp >../out) &&
	grep "^nothing to timestamp: every event on the box branch has a timestamp tag$" out
'

test_expect_success 'an event stamped already is not stamped again, and its tag does not move' '
	before=$(git -C box rev-parse box/init-1) &&
	(cd box && git box timestamp HEAD >../out) &&
	grep "^.box/init-1. already timestamps the init event on " out &&
	test "$(git -C box rev-parse box/init-1)" = "$before" &&
	test "$(git -C box for-each-ref refs/tags/box/ | wc -l)" = 1
'

test_expect_success 'setup: two checkpoint events after some work' '
	(
		cd box &&
		box_commit "analysis" analysis.R &&
		box_event_note HEAD checkpoint &&
		box_commit "more analysis" more.R &&
		box_event_note HEAD checkpoint
	)
'

test_expect_success 'timestamp with no argument stamps the newest event without a tag' '
	(cd box && git box timestamp >../out) &&
	grep "^timestamped the checkpoint event on $(git -C box rev-parse --short=12 HEAD) as .box/checkpoint-1.$" out
'

test_expect_success 'the next tag of an event name takes the next number' '
	(cd box && git box timestamp HEAD^ >../out) &&
	grep "as .box/checkpoint-2.$" out &&
	test "$(git -C box rev-parse "box/checkpoint-2^{commit}")" = "$(git -C box rev-parse HEAD^)"
'

test_expect_success 'a number is taken past the highest one, even a tag that is not ours' '
	(
		cd box &&
		box_nohooks tag box/checkpoint-7 HEAD~2 &&
		box_commit "third" third.R &&
		box_event_note HEAD checkpoint &&
		git box timestamp >../out
	) &&
	grep "as .box/checkpoint-8.$" out &&
	test "$(git -C box rev-parse box/checkpoint-7)" = "$(git -C box rev-parse HEAD~3)"
'

test_expect_success '--json reports the tag, the answer and every check' '
	(
		cd box &&
		box_commit "fourth" fourth.R &&
		box_event_note HEAD checkpoint &&
		git box timestamp --json >../out.json
	) &&
	grep "\"stored\": true" out.json &&
	grep "\"tag\": \"box/checkpoint-9\"" out.json &&
	grep "\"event\": \"checkpoint\"" out.json &&
	grep "\"commit\": \"$(git -C box rev-parse HEAD)\"" out.json &&
	grep "\"payload_sha256\": \"$(sha256sum <"$(cd box && box_payload HEAD)" | cut -d" " -f1)\"" out.json &&
	grep "\"tsa\": \"$(cat tsa.url)\"" out.json &&
	grep "\"gen_time\": \"20" out.json &&
	for check in format status token signer eku chain ess signature hash imprint nonce time
	do
		grep "\"$check\": \"passed\"" out.json || return 1
	done &&
	grep "\"tag\": \"skipped\"" out.json &&
	grep "\"result\": \"ok\"" out.json
'

test_expect_success 'two stampers racing for one event leave exactly one tag' '
	(
		cd box &&
		box_commit "fifth" fifth.R &&
		box_event_note HEAD checkpoint &&
		{ git box timestamp HEAD >../race1 2>&1 & } &&
		git box timestamp HEAD >../race2 2>&1 &&
		wait $!
	) &&
	git -C box for-each-ref --points-at="$(git -C box rev-parse HEAD)" refs/tags/box/ >tags &&
	test "$(wc -l <tags)" = 1 &&
	cat race1 race2 >both &&
	test "$(grep -c "^timestamped the checkpoint event" both)" = 1 &&
	grep "already timestamps\|stored meanwhile by another stamper" both
'

test_expect_success 'a commit dated after the TSA.s time is not stamped: the stamp would not verify' '
	(
		cd box &&
		GIT_COMMITTER_DATE="@$(($(date +%s) + 86400)) +0000" box_commit "tomorrow" tomorrow.R &&
		box_event_note HEAD checkpoint &&
		test_expect_code 1 git box timestamp HEAD 2>../err
	) &&
	grep "^error: .$(cat tsa.url).: time: genTime 20[-0-9T:]*Z is earlier than the event.s commit (20[-0-9T:]*Z)$" err &&
	test -z "$(git -C box tag --points-at HEAD -l "box/*")"
'

test_expect_success 'a commit without a manifest note is refused with exit 2' '
	(cd box && box_commit "no note" nonote.R) &&
	(cd box && test_expect_code 2 git box timestamp HEAD 2>../err) &&
	grep "^error: $(git -C box rev-parse --short=12 HEAD) has no manifest note in refs/notes/box" err &&
	grep "^hint: " err
'

test_expect_success 'a note that is not JSON is refused' '
	(
		cd box &&
		box_nohooks notes --ref=box add -f -m "not json" HEAD &&
		test_expect_code 2 git box timestamp HEAD 2>../err
	) &&
	grep "error: the manifest on [0-9a-f]* is not JSON" err
'

test_expect_success 'a note whose payload is not a JSON object is refused' '
	(
		cd box &&
		box_nohooks notes --ref=box add -f -m "[1, 2]" HEAD &&
		test_expect_code 2 git box timestamp HEAD 2>../err
	) &&
	grep "error: the manifest on [0-9a-f]* is not a JSON object" err
'

test_expect_success 'a manifest that names another commit is refused' '
	(
		cd box &&
		printf "{\"commit\": \"%s\", \"event\": \"checkpoint\"}\n" "$(git rev-parse HEAD^)" >../p.json &&
		box_nohooks notes --ref=box add -f -F ../p.json HEAD &&
		test_expect_code 2 git box timestamp HEAD 2>../err
	) &&
	grep "error: the manifest on [0-9a-f]* names another commit, .$(git -C box rev-parse HEAD^)." err
'

test_expect_success 'a manifest of an unknown event is refused' '
	(
		cd box &&
		printf "{\"commit\": \"%s\", \"event\": \"party\"}\n" "$(git rev-parse HEAD)" >../p.json &&
		box_nohooks notes --ref=box add -f -F ../p.json HEAD &&
		test_expect_code 2 git box timestamp HEAD 2>../err
	) &&
	grep "error: the manifest on [0-9a-f]* records an unknown event .party." err
'

test_expect_success 'a manifest with the event twice is refused' '
	(
		cd box &&
		printf "{\"commit\": \"%s\", \"event\": \"checkpoint\", \"event\": \"seal\"}\n" \
			"$(git rev-parse HEAD)" >../p.json &&
		box_nohooks notes --ref=box add -f -F ../p.json HEAD &&
		test_expect_code 2 git box timestamp HEAD 2>../err
	) &&
	grep "error: the manifest on [0-9a-f]* is not JSON: duplicate object key" err
'

test_expect_success 'the payload ends at the first OpenPGP signature line' '
	(
		cd box &&
		box_nohooks notes --ref=box remove HEAD &&
		box_event_note HEAD checkpoint &&
		{
			cat "$(box_payload HEAD)" &&
			printf -- "-----BEGIN PGP SIGNATURE-----\n\nxyz\n-----END PGP SIGNATURE-----\n"
		} >../signed &&
		box_nohooks notes --ref=box add -f -F ../signed HEAD &&
		git box timestamp HEAD >../out &&
		tsa_cut "$(sed -n "s/.* as .\(box\/[a-z0-9-]*\).$/\1/p" ../out)" ../resp2.tsr ../payload2.json
	) &&
	test_cmp "$(cd box && box_payload HEAD)" payload2.json &&
	openssl ts -verify -data payload2.json -in resp2.tsr -CAfile "$TSA_FIXTURES/ca.pem"
'

test_expect_success 'a commit that is not on the box branch is refused' '
	(
		cd box &&
		git switch -q -c side &&
		box_commit "side" side.R &&
		box_event_note HEAD checkpoint &&
		test_expect_code 2 git box timestamp HEAD 2>../err &&
		git switch -q main
	) &&
	grep "error: .HEAD. is not on the box branch .main." err
'

test_expect_success 'a revision that is not a commit is refused' '
	(cd box && test_expect_code 2 git box timestamp no-such-rev 2>../err) &&
	grep "error: .no-such-rev. is not a commit" err
'

test_expect_success 'setup: a box whose policy names no TSA' '
	box_init plain &&
	(cd plain && box_event_note HEAD init)
'

test_expect_success 'without a TSA, timestamp exits 2 and says how to name one' '
	(cd plain && test_expect_code 2 git box timestamp 2>../err) &&
	grep "^error: no TSA to ask: the policy.s timestamp.tsa is empty$" err &&
	grep "^hint: name a TSA with --tsa <url>" err &&
	(cd plain && tsa_no_tags)
'

test_expect_success 'without trust anchors, timestamp exits 2 and asks for --tsa-ca' '
	(cd plain && test_expect_code 2 git box timestamp --tsa "$(cat ../tsa.url)" 2>../err) &&
	grep "^error: no TSA trust anchors: the policy.s timestamp.ca is not set$" err &&
	grep "^hint: give the TSA.s trust anchors with --tsa-ca <file>$" err &&
	(cd plain && tsa_no_tags)
'

test_expect_success '--tsa and --tsa-ca stamp a box whose policy has neither' '
	(cd plain && git box timestamp --tsa "$(cat ../tsa.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" >../out) &&
	grep "as .box/init-1.$" out
'

test_expect_success 'a trust anchors file that holds no certificate is refused' '
	(
		cd plain &&
		box_commit "work" work.R && box_event_note HEAD checkpoint &&
		echo "not a certificate" >../empty.pem &&
		test_expect_code 2 git box timestamp --tsa "$(cat ../tsa.url)" --tsa-ca ../empty.pem 2>../err
	) &&
	grep "^error: .../empty.pem. holds no PEM certificate$" err
'

test_expect_success 'a TSA URL that is not http or https is refused' '
	(cd plain && test_expect_code 2 git box timestamp --tsa ftp://127.0.0.1/ \
		--tsa-ca "$TSA_FIXTURES/ca.pem" 2>../err) &&
	grep "^error: --tsa: .ftp://127.0.0.1/. is not an http:// or https:// URL$" err
'

test_expect_success 'a TSA URL with credentials is refused: it would be stored in the tag' '
	(cd plain && test_expect_code 2 git box timestamp --tsa http://user:s3cr3t@127.0.0.1/ \
		--tsa-ca "$TSA_FIXTURES/ca.pem" 2>../err) &&
	grep "^error: --tsa: .http://127.0.0.1/. has a user name or a password in it" err &&
	! grep s3cr3t err &&
	(cd plain && test "$(git for-each-ref refs/tags/box/ | wc -l)" = 1)
'

test_expect_success '--timeout takes whole seconds from 1 to 3600' '
	(cd plain && test_expect_code 2 git box timestamp --timeout 0 2>../err) &&
	grep "error: --timeout needs whole seconds from 1 to 3600, not .0." err &&
	(cd plain && test_expect_code 2 git box timestamp --timeout 2s 2>../err) &&
	grep "not .2s." err
'

test_expect_success 'timestamp outside a box exits 2' '
	git init -q notabox &&
	(cd notabox && test_expect_code 2 git box timestamp 2>../err) &&
	grep "is not a git box" err &&
	grep "^hint: make one with .git box init.$" err
'

test_expect_success 'two revisions are a usage error' '
	(cd plain && test_expect_code 2 git box timestamp HEAD HEAD^ 2>../err) &&
	grep "unexpected argument .HEAD^." err &&
	grep "^usage: git box timestamp" err
'

test_done

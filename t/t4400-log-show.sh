#!/bin/sh

test_description='git box log and show: the chain of events, and the stored parts exactly'

. ./lib-box.sh

ALICE=$(box_fpr alice)

test_expect_success 'setup: a box with every kind of event and a timestamp tag' '
	box_gpg_import alice &&
	box_policy policy.yaml seal 1 $ALICE &&
	box_init_policy box policy.yaml &&
	git -C box config user.signingKey $ALICE &&
	printf "more\n" >more.csv &&
	(cd box && git box import ../more.csv >/dev/null &&
	 box_commit "analysis" analysis.R && git box checkpoint -m "first look" >/dev/null &&
	 box_commit "result" output/r.csv "1,2" && git box seal -m "final" >/dev/null &&
	 box_nohooks tag -a -m "a timestamp" box/seal-1 main)
'

test_expect_success 'log lists the events oldest first, with state and chain' '
	(cd box && git box log >../log) &&
	grep "^[a-z]* [0-9a-f]\{40\} " log | cut -d" " -f1 >events &&
	printf "init\nimport\ncheckpoint\nseal\n" >expect &&
	test_cmp expect events &&
	grep "^seal $(git -C box rev-parse main) 2023-11-14T22:13:20Z$" log &&
	grep "^    message    first look$" log &&
	grep "^state: COMPLETED; 4 events; chain intact$" log
'

test_expect_success 'log shows who signed, as what, and the timestamp tags' '
	grep "^    signed     no$" log &&
	grep "^    signed     Alice Analyst (git box test key) <alice@example.org> $ALICE as author, \"seal: the analysis is complete\", .*: good, key not certified$" log &&
	grep "^    timestamp  box/seal-1$" log &&
	grep "^    quorum     1 of 1$" log
'

test_expect_success 'log --json gives the same facts' '
	(cd box && git box log --json >../log.json) &&
	grep "\"state\": \"COMPLETED\"" log.json &&
	grep "\"intact\": true" log.json &&
	grep "\"box/seal-1\"" log.json &&
	grep "\"fingerprint\": \"$ALICE\"" log.json &&
	grep "\"role\": \"author\"" log.json &&
	test $(grep -c "\"payload_sha256\"" log.json) = 4
'

test_expect_success 'show --payload and --signatures are the stored note, split exactly' '
	(cd box && git box show --payload >../m.json && git box show --signatures >../m.asc) &&
	git -C box notes --ref=box show main >note &&
	cat m.json m.asc >both &&
	test_cmp note both &&
	head -n 1 m.asc >first &&
	echo "-----BEGIN PGP SIGNATURE-----" >expect &&
	test_cmp expect first
'

test_expect_success 'stock gpg --verify m.asc m.json works' '
	gpg --verify m.asc m.json 2>gpg.out &&
	grep "Good signature from \"Alice Analyst" gpg.out
'

test_expect_success 'show REV shows that event' '
	(cd box && git box show HEAD~2 >../show) &&
	grep "^event     checkpoint$" show &&
	grep "^commit    $(git -C box rev-parse HEAD~2)$" show &&
	grep "^message   first look$" show &&
	grep "^signed    Alice Analyst .*: good, key not certified$" show &&
	grep "^inputs: 3 files, [0-9]* bytes$" show &&
	grep "^  [0-9a-f]\{64\} 100644 .*  input/more.csv$" show
'

test_expect_success 'show names the payload hash the next event chains to' '
	(cd box && git box show HEAD~2 >../show && git box show --payload >../seal.json) &&
	sed -n "s/^manifest  sha256 \([0-9a-f]*\) .*/\1/p" show >hash &&
	sed -n "s/^  \"previous\": \"\(.*\)\",$/\1/p" seal.json >previous &&
	test_cmp hash previous
'

test_expect_success 'show --json has the manifest and the signatures' '
	(cd box && git box show --json >../show.json) &&
	grep "\"commit\": \"$(git -C box rev-parse main)\"" show.json &&
	grep "\"schema\": \"git-box/manifest/v1\"" show.json &&
	grep "\"good\": true" show.json
'

test_expect_success 'show of a commit without a manifest exits 2' '
	(cd box && git switch -q -c side && box_commit "side" side.R &&
	 test_expect_code 2 git box show HEAD 2>../err && git switch -q main) &&
	grep "error: no manifest on $(git -C box rev-parse side)" err
'

test_expect_success 'show takes one of --payload, --signatures and --json' '
	(cd box && test_expect_code 2 git box show --payload --json 2>../err) &&
	grep "do not go together" err
'

test_expect_success 'show --signatures of an unsigned event exits 1' '
	(cd box && test_expect_code 1 git box show --signatures HEAD~3 2>../err) &&
	grep "is not signed" err
'

test_expect_success 'a note that is not a manifest: show exits 1, show --payload prints it' '
	box_init_policy junk policy.yaml &&
	(cd junk && box_commit "w" w.R && git notes --ref=box add -m "not a manifest" HEAD &&
	 test_expect_code 1 git box show HEAD 2>../err && git box show --payload HEAD >../junk.txt &&
	 test_expect_code 1 git box log >../log 2>../log.err) &&
	grep "error: the note on $(git -C junk rev-parse HEAD) is not a manifest" err &&
	echo "not a manifest" >expect &&
	test_cmp expect junk.txt &&
	grep "^? $(git -C junk rev-parse HEAD)$" log &&
	grep "chain BROKEN" log &&
	grep "error: .*: not a manifest" log.err
'

test_expect_success 'a payload changed after signing: log reports the signature BAD' '
	cp -R box tampered &&
	(cd tampered &&
	 git notes --ref=box show main | sed "s/^  \"message\": \"final\",$/  \"message\": \"FINAL\",/" >../t.note &&
	 box_nohooks notes --ref=box add -f -C $(git hash-object -w ../t.note) main 2>/dev/null &&
	 test_expect_code 1 git box log >../log) &&
	grep "BAD: BAD signature: the payload is not what was signed" log
'

test_expect_success 'log in a clone without the notes exits 2 and says how to fetch them' '
	git clone -q box clone &&
	(cd clone && test_expect_code 2 git box log 2>../err) &&
	grep "error: no manifests: there is no refs/notes/box" err &&
	grep "hint: fetch them: git fetch origin refs/notes/box:refs/notes/box" err
'

test_done

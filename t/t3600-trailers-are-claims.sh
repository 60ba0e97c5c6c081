#!/bin/sh

test_description='a Box-Event trailer is a claim, never a pass

The policy'"'"'s rules hold for every new commit on every branch, whatever
its message says; a commit that says it is an event must be that event
as git box makes it (the box'"'"'s one init; an import that only adds
input files while the box is CREATED; a seal that changes nothing), and a
Box-Event value that is no event is refused. The server and
reference-transaction judge alike; the commits git box makes itself pass.
Every forgery is made with stock git; a refused update changes no ref.'

. ./lib-box.sh

SETUP="$BOX_SOURCE_DIR/contrib/server/setup-box-server.sh"
SSN=123-45-6789

push () {
	git -c core.hooksPath=/dev/null push "$@" 2>"$SHARNESS_TRASH_DIRECTORY/push.err"
	rc=$?
	sed "s/ *\$//" "$SHARNESS_TRASH_DIRECTORY/push.err" >&2
	return $rc
}

server_refs () {
	git -C "$SHARNESS_TRASH_DIRECTORY/$1" for-each-ref --format="%(objectname) %(refname)"
}

# A commit on PARENT setting FILE to CONTENT, made with plumbing, with the
# message given as commit-tree options:
# change PARENT FILE CONTENT -m ... [-m ...]
change () {
	parent=$1 file=$2 content=$3 && shift 3 &&
	blob=$(printf "%s\n" "$content" | git hash-object -w --stdin) &&
	git read-tree --index-output=../plumb.index "$parent" &&
	GIT_INDEX_FILE=../plumb.index git update-index --add --cacheinfo 100644,$blob,"$file" &&
	tree=$(GIT_INDEX_FILE=../plumb.index git write-tree) &&
	rm -f ../plumb.index &&
	git commit-tree -p "$parent" "$@" $tree
}

# The last paragraph of a message: the required trailer and a claim.
claims () {
	printf "Ticket: T-1\nBox-Event: %s" "$1"
}

test_expect_success 'setup: a box whose policy has rules, made with a TSA certificate that forbid_paths matches' '
	box_sample_data src &&
	cat >policy.yaml <<-\EOF &&
	version: 1
	name: claims
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none}
	timestamp: {when: none, ca: .box/tsa-ca.pem}
	rules:
	  max_file_size: 1KiB
	  forbid_paths: ["**/*.pem"]
	  forbid_content:
	    - {name: us-ssn, regex: '"'"'\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b'"'"'}
	  require_trailers: [Ticket]
	environment: {capture: []}
	EOF
	git box init box --policy policy.yaml --tsa-ca "$BOX_FIXTURES/tsa/ca.pem" \
		--from src/data.csv --from src/sub >/dev/null &&
	git -C box cat-file -e main:.box/tsa-ca.pem &&
	"$SETUP" --create server.git >/dev/null &&
	git -C box remote add origin ../server.git
'

test_expect_success 'the init commit git box made is accepted by the server' '
	(cd box && push -q origin main refs/notes/box) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)"
'

test_expect_success 'so is an import git box made while the box is CREATED' '
	echo "more,data" >more.csv &&
	(
		cd box &&
		git box import ../more.csv >/dev/null &&
		git log -1 --format=%B | grep "^Box-Event: import$" &&
		! git log -1 --format=%B | grep "^Ticket:" &&
		push -q origin main refs/notes/box
	) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)"
'

test_expect_success 'an import that adds only input files, while CREATED, is accepted' '
	(
		cd box &&
		c=$(change main input/extra.csv "x,1" -m "Import extra.csv" -m "Box-Event: import") &&
		push -q origin $c:refs/heads/main &&
		git -c core.hooksPath=/dev/null reset -q --hard $c
	)
'

test_expect_success 'an import that also adds code is refused' '
	server_refs server.git >before &&
	(
		cd box &&
		c=$(change main input/x.csv "x,1" -m "Import x.csv" -m "Box-Event: import") &&
		c=$(git read-tree --index-output=../i.index $c &&
		    GIT_INDEX_FILE=../i.index git update-index --add --cacheinfo 100644,$(echo x | git hash-object -w --stdin),run.R &&
		    git commit-tree -p main -m "Import x.csv" -m "Box-Event: import" $(GIT_INDEX_FILE=../i.index git write-tree)) &&
		rm -f ../i.index &&
		echo $c >../import-code &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	grep "^remote: error: .run.R.: box event trailer: added by the import commit $(cut -c1-12 import-code), which may only add input files in commit $(cut -c1-12 import-code) on .refs/heads/main.\$" err &&
	grep "^remote: error: require_trailers: the message has no .Ticket:. trailer in commit $(cut -c1-12 import-code)" err &&
	! grep "input/x.csv" err
'

test_expect_success 'an import that changes an input or the policy is refused' '
	server_refs server.git >before &&
	(
		cd box &&
		c=$(change main input/data.csv "id,value" -m "Import" -m "Box-Event: import") &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err &&
		c=$(change main .box/policy.yaml "version: 1" -m "Import" -m "Box-Event: import") &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err2
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	grep "^remote: error: .input/data.csv.: read-only input: modified in commit" err &&
	grep "^remote: error: .\.box/policy.yaml.: read-only policy: modified in commit" err2
'

test_expect_success 'setup: the work starts' '
	(
		cd box &&
		echo "mean(x)" >analysis.R &&
		git add analysis.R &&
		git commit -q -m "Start" -m "Ticket: T-0" &&
		push -q origin main
	)
'

test_expect_success 'a forbidden path is refused whatever the commit claims, on the box branch and on a side branch' '
	server_refs server.git >before &&
	(
		cd box &&
		for v in init import seal checkpoint run
		do
			c=$(change main keys/id.pem "k" -m "Add a key" -m "$(claims $v)") &&
			test_expect_code 1 push origin $c:refs/heads/main 2>../err.main.$v &&
			test_expect_code 1 push origin $c:refs/heads/side 2>../err.side.$v || return 1
		done
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	for v in init import seal checkpoint run
	do
		grep "^remote: error: .keys/id.pem.: forbid_paths: matches .\*\*/\*\.pem. in commit [0-9a-f]* on .refs/heads/main.\$" err.main.$v &&
		grep "^remote: error: .keys/id.pem.: forbid_paths: matches .\*\*/\*\.pem. in commit [0-9a-f]* on .refs/heads/side.\$" err.side.$v || return 1
	done
'

test_expect_success 'forbidden content is refused under a claim, and never shown' '
	server_refs server.git >before &&
	(
		cd box &&
		for v in seal import
		do
			c=$(change main output/people.csv "x,$SSN" -m "People" -m "$(claims $v)") &&
			test_expect_code 1 push origin $c:refs/heads/main 2>../err.$v || return 1
		done
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	grep "^remote: error: .output/people.csv:1.: forbid_content: an added line matches .us-ssn." err.seal &&
	grep "^remote: error: .output/people.csv:1.: forbid_content: an added line matches .us-ssn." err.import &&
	! grep "$SSN" err.seal err.import
'

test_expect_success 'a file over max_file_size is refused under a claim' '
	server_refs server.git >before &&
	(
		cd box &&
		c=$(change main output/big.bin "$(head -c 2048 /dev/zero | tr "\0" x)" -m "Big" -m "$(claims import)") &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	grep "^remote: error: .output/big.bin.: max_file_size:" err
'

test_expect_success 'a message without its required trailer is refused when the claim does not hold' '
	(
		cd box &&
		c=$(change main notes.txt "n" -m "Seal" -m "Box-Event: seal") &&
		echo $c >../fake-seal &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err
	) &&
	grep "^remote: error: box event trailer: commit $(cut -c1-12 fake-seal) says .Box-Event: seal., but changes the files: a seal has the tree of its parent in commit" err &&
	grep "^remote: error: require_trailers: the message has no .Ticket:. trailer in commit $(cut -c1-12 fake-seal)" err
'

test_expect_success 'a seal with two parents is refused' '
	(
		cd box &&
		side=$(change main side.R "s" -m "Side" -m "Ticket: T-5") &&
		c=$(git commit-tree -p main -p $side -m "Seal" -m "Box-Event: seal" main^{tree}) &&
		echo $c >../two-parents &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err
	) &&
	grep "^remote: error: box event trailer: commit $(cut -c1-12 two-parents) says .Box-Event: seal., but has 2 parents: a seal has one" err
'

test_expect_success 'a fake init no longer hides the commit beneath it' '
	server_refs server.git >before &&
	(
		cd box &&
		a=$(change main input/data.csv "id,value" -m "Tidy the data" -m "Ticket: T-2") &&
		b=$(change $a code.R "x" -m "Initialize git box" -m "$(claims init)") &&
		echo $a >../beneath && echo $b >../fake-init &&
		test_expect_code 1 push origin $b:refs/heads/side 2>../err &&
		test_expect_code 1 push origin $b:refs/heads/main 2>../err2
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	grep "^remote: error: .input/data.csv.: read-only input: modified in commit $(cut -c1-12 beneath) on .refs/heads/side.\$" err &&
	grep "^remote: error: box identity: commit $(cut -c1-12 fake-init) says .Box-Event: init., but the box.s init is" err &&
	grep "^remote: error: .input/data.csv.: read-only input: modified in commit $(cut -c1-12 beneath) on .refs/heads/main.\$" err2
'

test_expect_success 'an import after the work started is refused' '
	(
		cd box &&
		c=$(change main input/late.csv "late,1" -m "Import late.csv" -m "$(claims import)") &&
		echo $c >../late &&
		test_expect_code 1 push origin $c:refs/heads/main 2>../err
	) &&
	grep "^remote: error: box event trailer: commit $(cut -c1-12 late) says .Box-Event: import., but the work had started: an import comes only while the box is CREATED" err &&
	grep "^remote: error: .input/late.csv.: read-only input: added in commit $(cut -c1-12 late)" err
'

test_expect_success 'a Box-Event value that is no event is refused, even on a harmless commit' '
	server_refs server.git >before &&
	(
		cd box &&
		for v in checkpoint run Init sealed
		do
			c=$(change main code.R "$v" -m "Code" -m "$(claims $v)") &&
			echo "$v $c" >>../unknown &&
			test_expect_code 1 push origin $c:refs/heads/side 2>../err.$v || return 1
		done
	) &&
	server_refs server.git >after &&
	test_cmp before after &&
	while read v c
	do
		grep "^remote: error: box event trailer: commit $(echo $c | cut -c1-12) says .Box-Event: $v., which is not an event git box records in commit" err.$v &&
		grep "^remote: hint: a .Box-Event:. trailer is a claim" err.$v || return 1
	done <unknown
'

test_expect_success 'reference-transaction judges claims alike in the clone' '
	(
		cd box &&
		box_snapshot >../before &&
		c=$(change main keys/id.pem "k" -m "Key" -m "$(claims seal)") &&
		test_expect_code 128 git update-ref refs/heads/main $c 2>../err &&
		test_expect_code 128 git branch side $(cat ../fake-init) 2>../err2 &&
		c=$(change main code.R "x" -m "Code" -m "$(claims checkpoint)") &&
		test_expect_code 128 git branch other $c 2>../err3 &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "^error: .keys/id.pem.: forbid_paths: matches" err &&
	grep "^error: .input/data.csv.: read-only input: modified in commit $(cut -c1-12 beneath) on .refs/heads/side.\$" err2 &&
	grep "^error: box event trailer: commit [0-9a-f]* says .Box-Event: checkpoint., which is not an event" err3 &&
	grep "^hint: a .Box-Event:. trailer is a claim" err3
'

test_expect_success 'a seal git box made passes the server, its message judged as git box wrote it' '
	(
		cd box &&
		git box seal -m "Final" >/dev/null &&
		git log -1 --format=%B | grep "^Box-Event: seal$" &&
		push -q origin main refs/notes/box
	) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)"
'

test_done

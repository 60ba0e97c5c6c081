#!/bin/sh

test_description='a server set up by contrib/server refuses pushes that break a box

Real pushes to a bare repository on the local file system, from a client
whose hooks are bypassed: the pre-receive hook is the last layer, and
judges every ref a push updates. A refused push changes no ref.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

SETUP="$BOX_SOURCE_DIR/contrib/server/setup-box-server.sh"
SSN=123-45-6789

# A push from a client that skipped every hook of its own; git pads the
# lines the server prints with blanks, which go.
push () {
	git -c core.hooksPath=/dev/null push "$@" 2>"$SHARNESS_TRASH_DIRECTORY/push.err"
	rc=$?
	sed "s/ *\$//" "$SHARNESS_TRASH_DIRECTORY/push.err" >&2
	return $rc
}

# A commit on PARENT with FILE set to CONTENT, made with plumbing:
# change PARENT FILE CONTENT [MESSAGE...]
change () {
	parent=$1 file=$2 content=$3 && shift 3 &&
	blob=$(printf "%s\n" "$content" | git hash-object -w --stdin) &&
	git read-tree --index-output=../plumb.index "$parent" &&
	GIT_INDEX_FILE=../plumb.index git update-index --add --cacheinfo 100644,$blob,"$file" &&
	tree=$(GIT_INDEX_FILE=../plumb.index git write-tree) &&
	rm -f ../plumb.index &&
	if test $# = 0
	then
		set -- -m "Change $file" -m "Ticket: T-1"
	fi &&
	git commit-tree -p "$parent" "$@" $tree
}

server_refs () {
	git -C server.git for-each-ref --format="%(objectname) %(refname)"
}

test_expect_success 'setup: a box with rules, a note and a timestamp tag' '
	tsa_start tsa &&
	box_sample_data src &&
	cat >policy.yaml <<-\EOF &&
	version: 1
	name: served
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none}
	rules:
	  forbid_paths: ["**/*.pem"]
	  forbid_content:
	    - {name: us-ssn, regex: '"'"'\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b'"'"'}
	  require_trailers: [Ticket]
	EOF
	git box init box --policy policy.yaml --from src/data.csv --from src/sub >/dev/null &&
	(
		cd box &&
		echo "mean(x)" >analysis.R &&
		git add analysis.R &&
		git commit -q -m "Start" -m "Ticket: T-0" &&
		init=$(git rev-list --max-parents=0 HEAD) &&
		git notes --ref=box show $init >/dev/null &&
		git box timestamp $init --tsa "$(cat ../tsa.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" >/dev/null &&
		git rev-parse --verify -q refs/tags/box/init-1
	)
'

test_expect_success 'setup-box-server.sh --create makes a guarded bare repository' '
	"$SETUP" --create server.git >out &&
	test "$(git -C server.git rev-parse --is-bare-repository)" = true &&
	test -x server.git/hooks/pre-receive &&
	cmp "$BOX_SOURCE_DIR/contrib/server/pre-receive" server.git/hooks/pre-receive &&
	test "$(git -C server.git config receive.fsckObjects)" = true &&
	test "$(git -C server.git config core.logAllRefUpdates)" = true &&
	grep "is guarded" out
'

test_expect_success 'running it again changes nothing and succeeds' '
	cp server.git/hooks/pre-receive hook.before &&
	"$SETUP" server.git >out &&
	test_cmp hook.before server.git/hooks/pre-receive &&
	! grep installed out
'

test_expect_success 'it refuses a repository with a work tree, and a pre-receive hook of someone else' '
	git init -q notbare &&
	test_expect_code 2 "$SETUP" notbare 2>err &&
	grep "is not a bare repository" err &&
	git init -q --bare foreign.git &&
	printf "#!/bin/sh\necho mine\n" >foreign.git/hooks/pre-receive &&
	test_expect_code 2 "$SETUP" foreign.git 2>err &&
	grep "is not git box.s; it was left as it is" err &&
	grep mine foreign.git/hooks/pre-receive
'

test_expect_success 'the first push of the box is accepted, with its notes and tags' '
	(
		cd box &&
		git remote add server ../server.git &&
		push -q server main refs/notes/box "refs/tags/box/*"
	) &&
	for ref in refs/heads/main refs/notes/box refs/tags/box/init-1
	do
		test "$(git -C server.git rev-parse $ref)" = "$(git -C box rev-parse $ref)" || return 1
	done
'

test_expect_success 'a push of a commit that changes an input is refused' '
	server_refs >before &&
	(
		cd box &&
		c=$(change HEAD input/data.csv "id,value") &&
		test_expect_code 1 push server $c:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "^remote: error: .input/data.csv.: read-only input: modified in commit [0-9a-f]* on .refs/heads/main.$" err &&
	grep "^remote: hint: rewrite those commits so that they leave the inputs" err &&
	grep "pre-receive hook declined" err
'

test_expect_success 'a push of a commit that changes the policy is refused' '
	(
		cd box &&
		c=$(change HEAD .box/policy.yaml "version: 1") &&
		test_expect_code 1 push server $c:refs/heads/main 2>../err
	) &&
	grep "remote: error: .\.box/policy.yaml.: read-only policy: modified" err
'

test_expect_success 'a push of forbidden content is refused by path, line and rule, never shown' '
	server_refs >before &&
	(
		cd box &&
		c=$(change HEAD output/people.csv "x,$SSN") &&
		test_expect_code 1 push server $c:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "remote: error: .output/people.csv:1.: forbid_content: an added line matches .us-ssn." err &&
	! grep "$SSN" err
'

test_expect_success 'a push of a forbidden path or of a message without its trailer is refused' '
	(
		cd box &&
		c=$(change HEAD keys/server.pem "k") &&
		test_expect_code 1 push server $c:refs/heads/main 2>../err &&
		c=$(change HEAD code.R "x" -m "No ticket") &&
		test_expect_code 1 push server $c:refs/heads/main 2>../err2
	) &&
	grep "remote: error: .keys/server.pem.: forbid_paths: matches" err &&
	grep "remote: error: require_trailers: the message has no .Ticket:. trailer" err2
'

test_expect_success 'every ref is judged: another branch, and a tag' '
	server_refs >before &&
	(
		cd box &&
		c=$(change HEAD input/data.csv "id,value") &&
		test_expect_code 1 push server $c:refs/heads/side 2>../err &&
		test_expect_code 1 push server $c:refs/tags/v1 2>../err2
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "read-only input: modified in commit [0-9a-f]* on .refs/heads/side." err &&
	grep "read-only input: modified in commit [0-9a-f]* on .refs/tags/v1." err2
'

test_expect_success 'a push of code with its trailer is accepted' '
	(
		cd box &&
		echo "plot(x)" >>analysis.R &&
		git -c core.hooksPath=/dev/null commit -q -a -m "Plot" -m "Ticket: T-2" &&
		push -q server main
	) &&
	test "$(git -C server.git rev-parse main)" = "$(git -C box rev-parse main)"
'

test_expect_success 'a note may be added and a signature appended' '
	(
		cd box &&
		git notes --ref=box add -m "{\"event\": \"checkpoint\"}" HEAD &&
		git notes --ref=box append -m "-----BEGIN PGP SIGNATURE-----" $(git rev-list --max-parents=0 HEAD) &&
		push -q server refs/notes/box
	) &&
	test "$(git -C server.git rev-parse refs/notes/box)" = "$(git -C box rev-parse refs/notes/box)"
'

test_expect_success 'a push that removes a note is refused' '
	server_refs >before &&
	(
		cd box &&
		git -c core.hooksPath=/dev/null notes --ref=box remove HEAD 2>/dev/null &&
		test_expect_code 1 push server refs/notes/box 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "remote: error: manifest notes: the note on commit [0-9a-f]* would be removed" err
'

test_expect_success 'a forced push that rewrites the notes history is refused' '
	(
		cd box &&
		git -c core.hooksPath=/dev/null update-ref refs/notes/box refs/notes/box~2 &&
		test_expect_code 1 push server +refs/notes/box 2>../err
	) &&
	grep "remote: error: manifest notes: .refs/notes/box. would move from" err
'

test_expect_success 'deleting the notes, a box tag or the box branch is refused' '
	server_refs >before &&
	(
		cd box &&
		test_expect_code 1 push server :refs/notes/box 2>../err &&
		test_expect_code 1 push server :refs/tags/box/init-1 2>>../err &&
		test_expect_code 1 push server :refs/heads/main 2>>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "remote: error: manifest notes: .refs/notes/box. would be deleted" err &&
	grep "remote: error: timestamp tags: .refs/tags/box/init-1. would be deleted" err &&
	grep "remote: error: box branch: .refs/heads/main. would be deleted" err
'

test_expect_success 'moving a box tag is refused' '
	(
		cd box &&
		git -c core.hooksPath=/dev/null tag -f -a -m moved box/init-1 HEAD >/dev/null &&
		test_expect_code 1 push server +refs/tags/box/init-1 2>../err
	) &&
	grep "remote: error: timestamp tags: .refs/tags/box/init-1. would move" err
'

test_expect_success 'a forced push that rewrites work already pushed is refused' '
	server_refs >before &&
	(
		cd box &&
		git -c core.hooksPath=/dev/null commit -q --amend -m "Plot, amended" -m "Ticket: T-2" &&
		test_expect_code 1 push server +main 2>../err &&
		git -c core.hooksPath=/dev/null reset -q --hard server/main
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "remote: error: first-parent history: .refs/heads/main. would move from [0-9a-f]* to [0-9a-f]*, which does not have it on its first-parent line" err
'

test_expect_success 'a forced push that drops the commit that froze the inputs is refused' '
	server_refs >before &&
	(
		cd box &&
		c=$(git commit-tree -m "Start over" -m "Ticket: T-3" $(git rev-parse HEAD^{tree})) &&
		test_expect_code 1 push server +$c:refs/heads/main 2>../err
	) &&
	server_refs >after &&
	test_cmp before after &&
	grep "remote: error: first-parent history: .refs/heads/main. would move from" err &&
	grep "remote: error: box identity: commit [0-9a-f]* is a root commit, but the box has one root" err
'

test_expect_success 'a seal is accepted, and nothing after it' '
	(
		cd box &&
		seal=$(git commit-tree -p HEAD -m "Seal" -m "Box-Event: seal" HEAD^{tree}) &&
		push -q server $seal:refs/heads/main &&
		after=$(change $seal code.R "late") &&
		test_expect_code 1 push server $after:refs/heads/main 2>../err
	) &&
	grep "remote: error: sealed box: the box was sealed at" err
'

test_expect_success 'a push to a repository that holds no box is not judged' '
	"$SETUP" --create plain.git >/dev/null &&
	git init -q plainclient &&
	(
		cd plainclient &&
		mkdir input && echo 1 >input/a &&
		git add input && git commit -q -m one &&
		echo 2 >input/a && git commit -q -a -m two &&
		push -q ../plain.git HEAD:main
	)
'

test_expect_success 'the first push to an empty server is judged by the policy it brings' '
	"$SETUP" --create fresh.git >/dev/null &&
	(
		cd box &&
		bad=$(change main~1 input/data.csv "id,value") &&
		test_expect_code 1 push ../fresh.git $bad:refs/heads/main 2>../err
	) &&
	grep "read-only input: modified" err &&
	test_must_fail git -C fresh.git rev-parse --verify -q main
'

test_expect_success 'a box made of a repository with older history is pushed whole' '
	git init -q older &&
	(
		cd older &&
		mkdir data && echo 1 >data/a.csv &&
		git add data && git commit -q -m one &&
		echo 2 >data/a.csv && git commit -q -a -m two &&
		git box init --input data/ >/dev/null &&
		"$SETUP" --create ../older.git >/dev/null &&
		push -q ../older.git main
	) &&
	test "$(git -C older.git rev-parse main)" = "$(git -C older rev-parse main)"
'

test_expect_success 'without git-box on the server PATH, every push is refused' '
	(
		cd box &&
		echo more >>analysis.R &&
		git -c core.hooksPath=/dev/null commit -q -a -m "More" -m "Ticket: T-9" &&
		PATH=/usr/bin:/bin test_expect_code 1 git -c core.hooksPath=/dev/null push ../fresh.git HEAD:refs/heads/x 2>../err
	) &&
	grep "git box server, but .git-box. is not on PATH" err
'

test_done

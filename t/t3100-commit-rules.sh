#!/bin/sh

test_description='the policy'\''s rules hold at every commit

max_file_size, forbid_paths and forbid_content are judged on what is
staged (pre-commit), require_trailers and the Box-Event trailer on the
message (commit-msg), on every branch; reference-transaction judges the
same rules on commits that skipped those hooks.'

. ./lib-box.sh

SSN=123-45-6789

test_expect_success 'setup: a box whose policy has rules' '
	box_sample_data src &&
	cat >policy.yaml <<-\EOF &&
	version: 1
	name: rules
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none}
	rules:
	  max_file_size: 1KiB
	  forbid_paths: ["**/*.pem", "**/.env", "secrets/"]
	  forbid_content:
	    - {name: us-ssn, regex: '"'"'\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b'"'"'}
	  require_trailers: [Ticket]
	EOF
	git box init box --policy policy.yaml --from src/data.csv >/dev/null &&
	(
		cd box &&
		echo "mean(x)" >analysis.R &&
		git add analysis.R &&
		git commit -q -m "Start the analysis" -m "Ticket: T-1"
	)
'

test_expect_success 'a commit with the trailer and allowed content is made' '
	(
		cd box &&
		echo "plot(x)" >>analysis.R &&
		git commit -q -a -m "Plot" -m "Ticket: T-2" &&
		git log -1 --format=%s >../out
	) &&
	echo Plot >expect &&
	test_cmp expect out
'

test_expect_success 'a message without a required trailer is refused by commit-msg' '
	(
		cd box &&
		echo "summary(x)" >>analysis.R &&
		git add analysis.R &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -m "No ticket" 2>../err &&
		box_snapshot >../after &&
		git reset -q --hard
	) &&
	test_cmp before after &&
	grep "^error: require_trailers: the message has no .Ticket:. trailer$" err &&
	grep "^hint: end the message with a paragraph of trailers" err
'

test_expect_success 'a message that carries a Box-Event trailer is refused' '
	(
		cd box &&
		echo "summary(x)" >>analysis.R &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -a -m "Seal it myself" -m "Ticket: T-3
Box-Event: seal" 2>../err &&
		box_snapshot >../after &&
		git reset -q --hard
	) &&
	test_cmp before after &&
	grep "^error: box event trailer: the message carries .Box-Event: seal.$" err &&
	grep "^hint: only git box writes .Box-Event:. trailers" err
'

test_expect_success 'a file over max_file_size is refused with its size and the limit' '
	(
		cd box &&
		mkdir -p output &&
		head -c 1025 /dev/zero | tr "\0" x >output/big.csv &&
		git add output/big.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -m "Big" -m "Ticket: T-4" 2>../err &&
		box_snapshot >../after &&
		git rm -q --cached output/big.csv && rm output/big.csv
	) &&
	test_cmp before after &&
	grep "^error: .output/big.csv.: max_file_size: 1025 bytes (1.0 KiB), over the limit of 1024 bytes (1.0 KiB)$" err
'

test_expect_success 'a file at exactly max_file_size is allowed' '
	(
		cd box &&
		head -c 1024 /dev/zero | tr "\0" x >output/fits.csv &&
		git add output/fits.csv &&
		git commit -q -m "Fits" -m "Ticket: T-5"
	)
'

test_expect_success 'forbidden paths are refused, each with its pattern' '
	(
		cd box &&
		mkdir -p deploy secrets &&
		echo k >deploy/server.pem &&
		echo "A=1" >.env &&
		echo s >secrets/token &&
		git add deploy .env secrets &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -m "Keys" -m "Ticket: T-6" 2>../err &&
		box_snapshot >../after &&
		git rm -rq --cached deploy .env secrets && rm -r deploy .env secrets
	) &&
	test_cmp before after &&
	grep "^error: .deploy/server.pem.: forbid_paths: matches .\*\*/\*.pem.$" err &&
	grep "^error: .\.env.: forbid_paths: matches .\*\*/\.env.$" err &&
	grep "^error: .secrets/token.: forbid_paths: matches .secrets/.$" err
'

test_expect_success 'forbidden content is refused by path, line and rule, never shown' '
	(
		cd box &&
		printf "id,ssn\n1,none\n2,$SSN\n" >output/people.csv &&
		git add output/people.csv &&
		box_snapshot >../before &&
		test_expect_code 1 git commit -q -m "People" -m "Ticket: T-7" 2>../err &&
		box_snapshot >../after &&
		git rm -q --cached output/people.csv && rm output/people.csv
	) &&
	test_cmp before after &&
	grep "^error: .output/people.csv:3.: forbid_content: an added line matches .us-ssn.$" err &&
	! grep "$SSN" err
'

test_expect_success 'only added lines are read: a line kept from before does not count' '
	(
		cd box &&
		printf "a\nb\n" >output/log.txt &&
		git add output/log.txt &&
		git commit -q -m "Log" -m "Ticket: T-8" &&
		printf "a\nb\nc\n" >output/log.txt &&
		git commit -q -a -m "More log" -m "Ticket: T-9"
	)
'

test_expect_success 'a binary file is not read for forbidden content' '
	(
		cd box &&
		printf "$SSN\0\1\2" >output/blob.bin &&
		git add output/blob.bin &&
		git commit -q -m "Binary" -m "Ticket: T-10"
	)
'

test_expect_success 'every broken rule of one commit is named' '
	(
		cd box &&
		echo k >key.pem &&
		printf "x $SSN\n" >notes.txt &&
		git add key.pem notes.txt &&
		test_expect_code 1 git commit -q --no-edit -m "Both" -m "Ticket: T-11" 2>../err &&
		git rm -q --cached key.pem notes.txt && rm key.pem notes.txt
	) &&
	grep "key.pem.: forbid_paths" err &&
	grep "notes.txt:1.: forbid_content" err
'

test_expect_success 'the rules hold on any branch' '
	(
		cd box &&
		git switch -q -c side &&
		echo "x" >>analysis.R &&
		test_expect_code 1 git commit -q -a -m "No ticket on a side branch" 2>../err &&
		git reset -q --hard &&
		git switch -q main
	) &&
	grep "require_trailers" err
'

test_expect_success 'a merge commit needs the trailer too' '
	(
		cd box &&
		git switch -q -c topic &&
		echo "y" >topic.R &&
		git add topic.R &&
		git commit -q -m "Topic" -m "Ticket: T-12" &&
		git switch -q main &&
		echo "z" >>analysis.R &&
		git commit -q -a -m "Main" -m "Ticket: T-13" &&
		test_expect_code 1 git merge -q --no-ff -m "Merge topic" topic 2>../err &&
		git merge --abort &&
		git merge -q --no-ff -m "Merge topic" -m "Ticket: T-14" topic
	) &&
	grep "require_trailers" err
'

test_expect_success 'a commit made with --no-verify is judged on the same rules' '
	(
		cd box &&
		printf "2,$SSN\n" >output/leak.csv &&
		git add output/leak.csv &&
		box_snapshot >../before &&
		test_expect_code 128 git commit -q --no-verify -m "Leak" 2>../err &&
		box_snapshot >../after &&
		git rm -q --cached output/leak.csv && rm output/leak.csv
	) &&
	test_cmp before after &&
	grep "output/leak.csv:1.: forbid_content: an added line matches .us-ssn. in commit [0-9a-f]* on .refs/heads/main.$" err &&
	grep "require_trailers: the message has no .Ticket:. trailer in commit" err &&
	! grep "$SSN" err
'

test_expect_success 'a cherry-pick of a commit that breaks a rule is refused' '
	(
		cd box &&
		git switch -q -c plumbed &&
		echo k >id.pem &&
		git add id.pem &&
		git -c core.hooksPath=/dev/null commit -q -m "Key" &&
		git -c core.hooksPath=/dev/null switch -q main &&
		box_snapshot >../before &&
		test_expect_code 128 git cherry-pick plumbed >../out 2>../err &&
		git cherry-pick --abort &&
		box_snapshot >../after
	) &&
	test_cmp before after &&
	grep "id.pem.: forbid_paths" err
'

test_done

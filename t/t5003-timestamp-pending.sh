#!/bin/sh

test_description='git box status lists the timestamps the policy wants and that are missing'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

# A whole policy with timestamp.when set to $1, naming the TSA $2.
write_policy () {
	cat <<-EOF
	version: 1
	name: $3
	branch: main
	inputs: [input/]
	outputs: [output/]
	signing: {when: none, signers: [], quorum: 0}
	timestamp: {when: $1, tsa: ["$2"], ca: null}
	rules: {max_file_size: 100MiB, forbid_paths: [], forbid_content: [], require_trailers: []}
	environment: {capture: []}
	EOF
}

test_expect_success 'setup: our TSA, and a box whose policy wants the seal stamped' '
	tsa_start tsa &&
	box_init box --tsa "$(cat tsa.url)" --tsa-ca "$TSA_FIXTURES/ca.pem" &&
	grep "^  when: seal$" box/.box/policy.yaml &&
	(cd box && box_event_note HEAD init)
'

test_expect_success 'an init event is not pending when only the seal is wanted' '
	(cd box && git box status >../out && git box status --json >../out.json) &&
	! grep "^timestamp pending" out &&
	grep "\"timestamps_pending\": \[\]" out.json
'

test_expect_success 'setup: work and a seal event' '
	(cd box && box_commit "analysis" analysis.R && box_commit "seal" seal.R &&
	 box_event_note HEAD seal)
'

test_expect_success 'status lists the seal as pending, with the command to finish it' '
	seal=$(git -C box rev-parse --short=12 HEAD) &&
	(cd box && git box status >../out) &&
	grep "^timestamp pending: seal on $seal; run .git box timestamp $seal.$" out &&
	grep "^next: run .git box timestamp $seal. to timestamp the seal event$" out
'

test_expect_success 'status --json lists it too' '
	(cd box && git box status --json >../out.json) &&
	grep "\"event\": \"seal\"" out.json &&
	grep "\"commit\": \"$(git -C box rev-parse HEAD)\"" out.json &&
	grep "\"next\": \"run .git box timestamp" out.json
'

test_expect_success 'a TSA that cannot be reached leaves it pending' '
	(cd box && test_expect_code 2 git box timestamp --tsa http://127.0.0.1:1/ 2>../err) &&
	(cd box && git box status >../out) &&
	grep "^timestamp pending: seal on " out
'

test_expect_success 'once stamped, the seal is no longer pending' '
	(cd box && git box timestamp >../stamp && git box status >../out) &&
	grep "as .box/seal-1.$" stamp &&
	! grep "^timestamp pending" out &&
	! grep "^next: run .git box timestamp" out
'

test_expect_success 'a note that is not a manifest is not listed: verify reports it' '
	(
		cd box &&
		box_commit "odd" odd.R &&
		git notes --ref=box add -m "not a manifest" HEAD &&
		git box status >../out
	) &&
	! grep "^timestamp pending" out
'

test_expect_success 'setup: a box whose policy wants every event stamped' '
	write_policy every-event "$(cat tsa.url)" every >every.yaml &&
	box_sample_data every.src &&
	# init asks for the init timestamp itself, and without anchors it stays pending
	test_expect_code 2 git box init every --policy every.yaml --from every.src/data.csv \
		>/dev/null 2>err &&
	grep "^timestamp pending; run .git box timestamp " err &&
	(
		cd every &&
		box_event_note HEAD init &&
		box_commit "work" work.R &&
		box_event_note HEAD checkpoint &&
		box_commit "no event" plain.R
	)
'

test_expect_success 'every event without a tag is pending, newest first' '
	(cd every && git box status >../out) &&
	grep "^timestamp pending: " out >pending &&
	test "$(wc -l <pending)" = 2 &&
	sed -n 1p pending | grep "^timestamp pending: checkpoint on $(git -C every rev-parse --short=12 HEAD^);" &&
	sed -n 2p pending | grep "^timestamp pending: init on $(git -C every rev-parse --short=12 HEAD~2);"
'

test_expect_success 'timestamp with no argument takes the newest, then the next' '
	(
		cd every &&
		git box timestamp --tsa-ca "$TSA_FIXTURES/ca.pem" >../out1 &&
		git box timestamp --tsa-ca "$TSA_FIXTURES/ca.pem" >../out2 &&
		git box status >../out
	) &&
	grep "timestamped the checkpoint event on .* as .box/checkpoint-1.$" out1 &&
	grep "timestamped the init event on .* as .box/init-1.$" out2 &&
	! grep "^timestamp pending" out
'

test_expect_success 'a tag that is not a timestamp tag does not count as a timestamp' '
	(
		cd every &&
		box_commit "more" more.R &&
		box_event_note HEAD checkpoint &&
		box_nohooks tag -a -m "just a tag" box/checkpoint-2 HEAD &&
		git box status >../out
	) &&
	grep "^timestamp pending: checkpoint on $(git -C every rev-parse --short=12 HEAD);" out
'

test_expect_success 'an event off the box branch is not listed' '
	(
		cd every &&
		git switch -q -c side &&
		box_commit "side" side.R &&
		box_event_note HEAD checkpoint &&
		git box status >../out &&
		git switch -q main
	) &&
	! grep "$(git -C every rev-parse --short=12 side)" out
'

test_expect_success 'with timestamp.when none nothing is pending' '
	write_policy none "$(cat tsa.url)" quiet >none.yaml &&
	git box init quiet --policy none.yaml --from every.src/data.csv >/dev/null &&
	(cd quiet && box_event_note HEAD init && git box status >../out) &&
	! grep "^timestamp pending" out
'

test_done

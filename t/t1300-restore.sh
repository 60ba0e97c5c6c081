#!/bin/sh

test_description='git box restore puts inputs back as they were frozen

Content, read-only modes and index entries of the inputs named come back;
nothing else in the work tree or the index changes. git box status lists
what differs before.'

. ./lib-box.sh

ODD_NAME=$(printf 'r\303\251sum\303\251 de caf\303\251.csv')
NL_NAME=$(printf 'two\nlines.csv')

test_expect_success 'setup: a box at work' '
	box_sample_data src &&
	printf "caf\303\251\n" >"src/$ODD_NAME" &&
	printf "x\n" >"src/$NL_NAME" &&
	printf "#!/bin/sh\n" >src/run.sh && chmod +x src/run.sh &&
	git box init box --from src/data.csv --from src/sub --from "src/$ODD_NAME" \
		--from "src/$NL_NAME" --from src/run.sh >/dev/null &&
	(
		cd box &&
		box_commit "analysis" analysis.R "mean(x)" &&
		git box status >../status &&
		box_snapshot >../frozen
	) &&
	! grep "^changed\|^loosened" status
'

test_expect_success 'status lists each kind of change to the inputs on disk' '
	(
		cd box &&
		chmod -R u+w input &&
		echo "3,30" >>input/data.csv &&
		rm input/sub/patients.csv &&
		chmod 644 input/run.sh &&
		rm "input/$ODD_NAME" && ln -s data.csv "input/$ODD_NAME" &&
		echo new >input/new.csv &&
		git box status >../status
	) &&
	grep "^changed   input/data.csv (modified)$" status &&
	grep "^          input/sub/patients.csv (deleted)$" status &&
	grep "^          input/run.sh (mode changed)$" status &&
	grep "^          input/$ODD_NAME (type changed)$" status &&
	grep "^          input/new.csv (added)$" status &&
	grep "^next: run .git box restore <path>.... to put the inputs back" status
'

test_expect_success 'status lists the inputs and folders whose mode was loosened' '
	grep "^loosened  input/data.csv (644)$" status &&
	grep "^          input/ (755)$" status &&
	grep "^          input/sub/ (755)$" status
'

test_expect_success 'status --json gives the same lists' '
	(cd box && git box status --json >../status.json) &&
	grep "\"inputs_changed\": \[" status.json &&
	grep "\"change\": \"deleted\"" status.json &&
	grep "\"path\": \"input/sub/patients.csv\"" status.json &&
	grep "\"inputs_loosened\": \[" status.json &&
	grep "\"mode\": \"755\"" status.json
'

test_expect_success 'restore of a folder puts back every frozen input in it' '
	(
		cd box &&
		git box restore input >../out &&
		git box status >../status
	) &&
	grep "^restored .input/data.csv.$" out &&
	grep "^restored .input/sub/patients.csv.$" out &&
	grep "^restored .input/run.sh.$" out &&
	grep "^restored .input/$ODD_NAME.$" out &&
	! grep "^changed   input/data.csv\|^loosened" status
'

test_expect_success 'restore left what is not a frozen input alone' '
	test_path_is_file box/input/new.csv &&
	grep "^changed   input/new.csv (added)$" status &&
	grep "^next: move the added files out of the inputs" status &&
	chmod u+w box/input && rm box/input/new.csv
'

test_expect_success 'restore makes a loosened folder read-only again' '
	(cd box && git box status >../status && git box restore input >../out) &&
	grep "^loosened  input/ (755)$" status &&
	grep "^made 1 folder read-only again$" out
'

test_expect_success 'the work tree, modes and index are as they were frozen' '
	(cd box && box_snapshot >../after) &&
	test_cmp frozen after &&
	test "$(box_mode box/input/run.sh)" = 555 &&
	test "$(box_mode box/input/data.csv)" = 444 &&
	test "$(box_mode box/input/sub)" = 555
'

test_expect_success 'restore puts back an input deleted from the index too' '
	(
		cd box &&
		git -c core.hooksPath=/dev/null rm -q input/data.csv &&
		git box restore input/data.csv >../out &&
		box_snapshot >../after
	) &&
	test_cmp frozen after
'

test_expect_success 'restore with nothing to do says so and exits 0' '
	(cd box && git box restore input .box/policy.yaml >../out) &&
	grep "^nothing to restore: 6 inputs are as frozen$" out
'

test_expect_success 'paths are read from the current folder, as git reads them' '
	chmod u+w box/input box/input/sub box/input/sub/patients.csv box/input/data.csv &&
	echo x >box/input/sub/patients.csv &&
	echo y >box/input/data.csv &&
	(cd box/input/sub && git box restore patients.csv ../data.csv >../../../out) &&
	grep "^restored .input/sub/patients.csv.$" out &&
	grep "^restored .input/data.csv.$" out &&
	(cd box && box_snapshot >../after) &&
	test_cmp frozen after
'

test_expect_success 'an absolute path inside the work tree is taken' '
	chmod u+w box/input box/input/data.csv &&
	echo y >box/input/data.csv &&
	git box -C box restore "$PWD/box/input/data.csv" >out &&
	grep "^restored .input/data.csv.$" out
'

test_expect_success 'names with spaces, non-ASCII letters and a newline are restored' '
	chmod u+w box/input "box/input/$NL_NAME" &&
	echo changed >"box/input/$NL_NAME" &&
	(cd box && git box restore -- "input/$NL_NAME" "input/$ODD_NAME" >../out) &&
	grep "^restored .input/two\\\\nlines.csv.$" out &&
	(cd box && box_snapshot >../after) &&
	test_cmp frozen after
'

test_expect_success 'code and outputs are not restored: exit 2 with a pointer to git restore' '
	(cd box && test_expect_code 2 git box restore analysis.R 2>../err) &&
	grep "^error: .analysis.R. is not an input; .git restore. restores code and outputs$" err
'

test_expect_success 'a path that was never frozen exits 2' '
	(cd box && test_expect_code 2 git box restore input/nothing.csv 2>../err) &&
	grep "^error: .input/nothing.csv. is not among the frozen inputs" err
'

test_expect_success 'a path outside the work tree exits 2' '
	(cd box && test_expect_code 2 git box restore ../src/data.csv 2>../err) &&
	grep "is outside the work tree" err
'

test_expect_success 'a folder in the way of an input is not removed: exit 2' '
	chmod u+w box/input box/input/data.csv &&
	rm box/input/data.csv && mkdir box/input/data.csv && echo keep >box/input/data.csv/mine &&
	(cd box && test_expect_code 2 git box restore input >../out 2>../err) &&
	grep "^error: .input/data.csv. is a folder in the work tree; move it away" err &&
	test_path_is_file box/input/data.csv/mine &&
	rm -r box/input/data.csv &&
	(cd box && git box restore input/data.csv >/dev/null && box_snapshot >../after) &&
	test_cmp frozen after
'

test_expect_success 'restore --json lists what it restored and what was as frozen' '
	chmod u+w box/input box/input/data.csv &&
	echo z >box/input/data.csv &&
	(cd box && git box restore --json input >../out.json) &&
	grep "\"restored\": \[" out.json &&
	grep "\"input/data.csv\"" out.json &&
	grep "\"unchanged\": \[" out.json &&
	grep "\"input/run.sh\"" out.json
'

test_expect_success 'restore without a path exits 2 with its usage' '
	(cd box && test_expect_code 2 git box restore 2>../err) &&
	grep "^usage: git box restore" err
'

test_expect_success 'restore in a bare repository exits 2' '
	git clone -q --bare box bare.git &&
	(cd bare.git && test_expect_code 2 git box restore input 2>../err) &&
	grep "is a bare repository" err
'

test_expect_success 'restore outside a box exits 2 with a hint' '
	git init -q plain &&
	(cd plain && test_expect_code 2 git box restore input 2>../err) &&
	grep "hint: make one with .git box init." err
'

test_done

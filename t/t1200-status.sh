#!/bin/sh

test_description='git box status shows the box, its state and the next step'

. ./lib-box.sh

test_expect_success 'setup: a box' '
	box_init box
'

test_expect_success 'status names the box, its id and branch, and says CREATED after init' '
	(cd box && git box status >../out) &&
	grep "^box       box$" out &&
	grep "^id        $(git -C box rev-parse HEAD)$" out &&
	grep "^branch    main$" out &&
	grep "^state     CREATED$" out
'

test_expect_success 'status counts the input and output files' '
	bytes=$(cat box/input/data.csv box/input/sub/patients.csv | wc -c) &&
	grep "^inputs    input/ (2 files, $bytes bytes)$" out &&
	grep "^outputs   output/ (0 files, 0 bytes)$" out
'

test_expect_success 'status shows hooks and filter installed, and the next step' '
	grep "^hooks     installed in .*/box/.git/hooks$" out &&
	grep "^filter    installed (required)$" out &&
	grep "^next: add your code and commit" out
'

test_expect_success 'status --json gives the same facts' '
	(cd box && git box status --json >../out.json) &&
	grep "\"name\": \"box\"" out.json &&
	grep "\"id\": \"$(git -C box rev-parse HEAD)\"" out.json &&
	grep "\"state\": \"CREATED\"" out.json &&
	grep "\"path\": \"input/\"" out.json &&
	grep "\"files\": 2" out.json &&
	grep "\"hooks\": true" out.json &&
	grep "\"filter\": true" out.json
'

test_expect_success 'status works from a folder inside the box' '
	(cd box/input/sub && git box status >../../../out) &&
	grep "^state     CREATED$" out
'

test_expect_success 'the first commit that is not an import moves the box to IN_PROGRESS' '
	(cd box && box_commit "analysis" analysis.R && git box status >../out) &&
	grep "^state     IN_PROGRESS$" out &&
	grep "^id        $(git -C box rev-parse HEAD^)$" out
'

test_expect_success 'status counts outputs once they are committed' '
	(cd box && box_commit "result" output/result.csv "1,2" && git box status >../out) &&
	grep "^outputs   output/ (1 file, 4 bytes)$" out
'

test_expect_success 'status on another branch reports the box branch' '
	(cd box && git switch -q -c side && box_commit "side work" side.txt && git box status >../out) &&
	grep "^branch    main$" out &&
	grep "^id        $(git -C box rev-parse main~2)$" out &&
	git -C box switch -q main
'

test_expect_success 'status in a clone says how to set it up' '
	git clone -q box clone &&
	(cd clone && git box status >../out) &&
	grep "^hooks     missing: pre-commit" out &&
	grep "^filter    not installed$" out &&
	grep "^next: run .git box install." out
'

test_expect_success 'status in a bare repository reports the box without install details' '
	git clone -q --bare box bare.git &&
	(cd bare.git && git box status >../out) &&
	grep "^state     IN_PROGRESS$" out &&
	! grep "^hooks" out
'

test_expect_success 'status outside a box exits 2 with a hint' '
	git init -q plain &&
	test_expect_code 2 git -C plain box status 2>err &&
	grep "error: .*is not a git box" err &&
	grep "hint: make one with .git box init." err
'

test_expect_success 'status outside any repository exits 2' '
	mkdir nowhere &&
	test_expect_code 2 git -C nowhere box status 2>err &&
	grep "not a git repository" err
'

test_expect_success 'status with an argument is a usage error' '
	test_expect_code 2 git -C box box status extra 2>err &&
	grep "unexpected argument .extra." err
'

test_done

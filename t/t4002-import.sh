#!/bin/sh

test_description='git box import adds inputs while the box is CREATED, in a commit and an event of its own'

. ./lib-box.sh

# HEAD, the index, refs/notes/box and the files under input/, to compare before and after a refusal.
snapshot () {
	(cd box &&
	 git rev-parse HEAD refs/notes/box &&
	 git ls-files -s &&
	 find input -print | sort)
}

test_expect_success 'setup: a box and more data' '
	box_policy policy.yaml none 0 &&
	box_init_policy box policy.yaml &&
	mkdir -p more/visits &&
	printf "visit,day\n1,3\n" >more/visits/v1.csv &&
	printf "codebook\n" >codebook.txt
'

test_expect_success 'import copies a file and a folder into the first input folder in one commit' '
	(cd box && git box import ../codebook.txt ../more >../out) &&
	grep "^Imported 2 files (.* bytes) into input/ of git box .study.$" out &&
	test_cmp codebook.txt box/input/codebook.txt &&
	test_cmp more/visits/v1.csv box/input/more/visits/v1.csv &&
	git -C box log -1 --format=%B >msg &&
	head -n 1 msg >subject &&
	echo "Import '\''codebook.txt'\'' and '\''more'\'' into input/" >expect &&
	test_cmp expect subject &&
	git interpret-trailers --parse msg >trailers &&
	echo "Box-Event: import" >expect &&
	test_cmp expect trailers &&
	git -C box diff --name-only HEAD~1 HEAD >changed &&
	printf "input/codebook.txt\ninput/more/visits/v1.csv\n" >expect &&
	test_cmp expect changed &&
	test -z "$(git -C box status --porcelain)"
'

test_expect_success NOT_ROOT 'imported files are read-only' '
	test "$(box_mode box/input/codebook.txt)" = 444 &&
	test "$(box_mode box/input/more/visits)" = 555
'

test_expect_success 'import writes the import manifest, chained to the init event' '
	git -C box notes --ref=box show HEAD >import.json &&
	grep "^  \"event\": \"import\",$" import.json &&
	grep "^    \"input/more/visits/v1.csv\": {$" import.json &&
	git -C box notes --ref=box show HEAD~1 | sha256sum | cut -d" " -f1 >expect &&
	sed -n "s/^  \"previous\": \"\(.*\)\",$/\1/p" import.json >actual &&
	test_cmp expect actual
'

test_expect_success 'the box is still CREATED after an import' '
	(cd box && git box status >../status) &&
	grep "^state     CREATED$" status
'

test_expect_success 'import --to copies into a folder inside an input' '
	printf "lab\n" >lab.csv &&
	(cd box && git box import --to input/lab/ ../lab.csv >/dev/null) &&
	test_cmp lab.csv box/input/lab/lab.csv &&
	git -C box log -1 --format=%s >subject &&
	echo "Import '\''lab.csv'\'' into input/lab/" >expect &&
	test_cmp expect subject
'

test_expect_success 'import --json reports the commit, the files and the manifest' '
	printf "ecg\n" >ecg.csv &&
	(cd box && git box import --json ../ecg.csv >../out.json) &&
	grep "\"commit\": \"$(git -C box rev-parse HEAD)\"" out.json &&
	grep "\"files\": 1," out.json &&
	grep "\"to\": \"input/\"" out.json &&
	grep "\"event\": \"import\"" out.json
'

test_expect_success 'import --to outside the inputs exits 2 and changes nothing' '
	snapshot >before &&
	(cd box && test_expect_code 2 git box import --to output/ ../lab.csv 2>../err) &&
	grep "error: .output/. is not inside an input folder" err &&
	snapshot >after &&
	test_cmp before after
'

test_expect_success 'import never overwrites what is there' '
	snapshot >before &&
	(cd box && test_expect_code 2 git box import ../codebook.txt 2>../err) &&
	grep "would overwrite .*input/codebook.txt" err &&
	snapshot >after &&
	test_cmp before after
'

test_expect_success 'a source with a link leading out of it is refused before anything is copied' '
	mkdir -p leaky &&
	printf "ok\n" >leaky/a.csv &&
	ln -s ../codebook.txt leaky/out.csv &&
	snapshot >before &&
	(cd box && test_expect_code 2 git box import ../leaky 2>../err) &&
	grep "outside the source" err &&
	snapshot >after &&
	test_cmp before after
'

test_expect_success 'import refuses while changes are staged' '
	(cd box && echo x >staged.R && git add staged.R &&
	 test_expect_code 2 git box import ../lab.csv 2>../err && git rm -q --cached staged.R && rm staged.R) &&
	grep "staged changes" err
'

test_expect_success 'import needs something to import' '
	(cd box && test_expect_code 2 git box import 2>../err) &&
	grep "name at least one file or folder" err
'

test_expect_success 'once the work has started, import exits 1 and changes nothing' '
	(cd box && box_commit "analysis" analysis.R) &&
	snapshot >before &&
	printf "late\n" >late.csv &&
	(cd box && test_expect_code 1 git box import ../late.csv 2>../err) &&
	grep "error: the work has started (the box is IN_PROGRESS): the inputs were frozen at $(git -C box rev-parse --short=12 HEAD~1)" err &&
	snapshot >after &&
	test_cmp before after &&
	test_path_is_missing box/input/late.csv
'

test_expect_success 'a sealed box refuses import with exit 1' '
	(cd box && git box seal >/dev/null) &&
	snapshot >before &&
	(cd box && test_expect_code 1 git box import ../late.csv 2>../err) &&
	grep "error: the box is sealed" err &&
	snapshot >after &&
	test_cmp before after
'

test_expect_success 'import exits 2 with HEAD on another branch' '
	box_init_policy other policy.yaml &&
	(cd other && git switch -q -c side &&
	 test_expect_code 2 git box import ../late.csv 2>../err) &&
	grep "HEAD is not on the box branch .main." err
'

test_expect_success 'an import whose manifest was not written is completed by checkpoint' '
	box_init_policy lost policy.yaml &&
	(cd lost && git box import ../late.csv >/dev/null &&
	 box_nohooks notes --ref=box remove HEAD 2>/dev/null &&
	 git box checkpoint >../out) &&
	grep "^import $(git -C lost rev-parse HEAD)$" out &&
	git -C lost notes --ref=box show HEAD | grep "^  \"event\": \"import\",$"
'

test_done

#!/bin/sh

test_description='git box init makes a box of a new folder or an existing repository'

. ./lib-box.sh

test_expect_success 'init over a file and a folder makes a box in a new folder' '
	box_sample_data src &&
	git box init study --from src/data.csv --from src/sub >out 2>err &&
	grep "Initialized git box .study. in $PWD/study" out &&
	test -d study/.git
'

test_expect_success 'the sources are copied byte for byte under their own names' '
	cmp src/data.csv study/input/data.csv &&
	cmp src/sub/patients.csv study/input/sub/patients.csv
'

test_expect_success 'the init commit holds the inputs, the policy and the attributes, and nothing else' '
	git -C study ls-tree -r --name-only HEAD >actual &&
	cat >expect <<-\EOF &&
	.box/policy.yaml
	.gitattributes
	input/data.csv
	input/sub/patients.csv
	EOF
	test_cmp expect actual &&
	git -C study cat-file -p HEAD:input/data.csv | cmp - src/data.csv
'

test_expect_success 'the init commit says it is the init event and the work tree is clean' '
	git -C study log -1 --format=%B >msg &&
	grep "^Initialize git box .study." msg &&
	git -C study interpret-trailers --parse <msg >trailers &&
	echo "Box-Event: init" >expect &&
	test_cmp expect trailers &&
	git -C study status --porcelain >status &&
	test_must_be_empty status
'

test_expect_success 'the commit uses the identity and date git would' '
	git -C study log -1 --format="%an <%ae> %at|%cn <%ce> %ct" >actual &&
	echo "A U Thor <author@example.com> 1700000000|C O Mitter <committer@example.com> 1700000000" >expect &&
	test_cmp expect actual
'

test_expect_success 'the policy is the template filled from the options' '
	git -C study show HEAD:.box/policy.yaml >policy &&
	grep "^version: 1$" policy &&
	grep "^name: \"study\"$" policy &&
	grep "^branch: \"main\"$" policy &&
	grep "^inputs: \[\"input/\"\]$" policy &&
	grep "^outputs: \[\"output/\"\]$" policy &&
	grep "^  when: none$" policy
'

test_expect_success 'the inputs and the policy go through the box filter byte for byte' '
	git -C study check-attr filter text -- input/data.csv input/sub/patients.csv .box/policy.yaml >actual &&
	cat >expect <<-\EOF &&
	input/data.csv: filter: box
	input/data.csv: text: unset
	input/sub/patients.csv: filter: box
	input/sub/patients.csv: text: unset
	.box/policy.yaml: filter: box
	.box/policy.yaml: text: unset
	EOF
	test_cmp expect actual &&
	git -C study check-attr filter -- README >actual &&
	echo "README: filter: unspecified" >expect &&
	test_cmp expect actual
'

test_expect_success 'the inputs, their folders and the policy are read-only on disk' '
	test "$(box_mode study/input/data.csv)" = 444 &&
	test "$(box_mode study/input/sub/patients.csv)" = 444 &&
	test "$(box_mode study/input/sub)" = 555 &&
	test "$(box_mode study/input)" = 555 &&
	test "$(box_mode study/.box/policy.yaml)" = 444
'

test_expect_success 'the output folder exists and is writable' '
	test -d study/output &&
	test "$(box_mode study/output)" = 755
'

test_expect_success 'the hooks and the filter are installed' '
	for h in pre-commit pre-merge-commit commit-msg post-commit post-checkout post-merge reference-transaction
	do
		cmp "$BOX_SOURCE_DIR/templates/hooks/$h" study/.git/hooks/$h &&
		test -x study/.git/hooks/$h || return 1
	done &&
	test "$(git -C study config filter.box.process)" = "git box filter-process" &&
	test "$(git -C study config filter.box.required)" = true
'

test_expect_success 'init --json reports the box id, which is the init commit' '
	box_sample_data src2 &&
	git box init --json j --from src2/data.csv >out &&
	grep "\"id\": \"$(git -C j rev-parse HEAD)\"" out &&
	grep "\"state\": \"CREATED\"" out &&
	grep "\"files\": 1" out
'

test_expect_success 'init with no folder makes the current empty folder a box' '
	mkdir here &&
	(cd here && git box init --name "here and now" >../out) &&
	grep "Initialized git box .here and now." out &&
	git -C here show HEAD:.box/policy.yaml | grep "^name: \"here and now\"$"
'

test_expect_success 'init --branch names the box branch of a new repository' '
	git box init --branch trial-7 b &&
	test "$(git -C b symbolic-ref HEAD)" = refs/heads/trial-7 &&
	git -C b show HEAD:.box/policy.yaml | grep "^branch: \"trial-7\"$"
'

test_expect_success 'init --input and --output set the box paths' '
	box_sample_data s3 &&
	git box init --input raw/ --input meta/codebook.txt --output results/ --output figures/ --from s3/data.csv io &&
	git -C io show HEAD:.box/policy.yaml >policy &&
	grep "^inputs: \[\"raw/\", \"meta/codebook.txt\"\]$" policy &&
	grep "^outputs: \[\"results/\", \"figures/\"\]$" policy &&
	test -f io/raw/data.csv &&
	test -d io/results && test -d io/figures
'

test_expect_success 'init --signer, --quorum, --tsa and --tsa-ca fill signing and timestamps' '
	fpr1=0123456789ABCDEF0123456789ABCDEF01234567 &&
	fpr2=89ABCDEF0123456789ABCDEF0123456789ABCDEF &&
	cp "$BOX_FIXTURES/tsa/ca.pem" ca.pem &&
	git box init --signer $fpr1 --signer $fpr2 --quorum 2 \
		--tsa http://127.0.0.1:1/tsr --tsa-ca ca.pem signed &&
	git -C signed show HEAD:.box/policy.yaml >policy &&
	grep "^  signers: \[\"$fpr1\", \"$fpr2\"\]$" policy &&
	grep "^  quorum: 2$" policy &&
	grep "^  tsa: \[\"http://127.0.0.1:1/tsr\"\]$" policy &&
	grep "^  ca: \".box/tsa-ca.pem\"$" policy &&
	test "$(grep -c "^  when: seal$" policy)" = 2 &&
	git -C signed cat-file -p HEAD:.box/tsa-ca.pem | cmp - ca.pem
'

test_expect_success 'init --policy commits the given policy byte for byte' '
	cat >given.yaml <<-\EOF &&
	# our own policy
	version: 1
	name: given
	branch: main
	inputs: [data/]
	outputs: [out/]
	signing: {when: none}
	rules:
	  max_file_size: 1MiB
	  forbid_content:
	    - {name: us-ssn, regex: "\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b"}
	  require_trailers: [Ticket]
	EOF
	box_sample_data s4 &&
	git box init --policy given.yaml --from s4/sub p &&
	git -C p show HEAD:.box/policy.yaml | cmp - given.yaml &&
	test -f p/data/sub/patients.csv
'

test_expect_success 'init makes a box of an existing repository on top of its history' '
	git init -q existing &&
	(
		cd existing &&
		box_commit first README &&
		mkdir -p input &&
		printf "a,b\n1,2\n" >input/old.csv &&
		git add input/old.csv &&
		git commit -q -m "data" &&
		git rev-parse HEAD >../before &&
		git box init --name existing >../out &&
		git rev-parse HEAD^ >../parent &&
		git ls-tree -r --name-only HEAD >../tree
	) &&
	test_cmp before parent &&
	grep "^input/old.csv$" tree &&
	grep "^README$" tree &&
	test "$(box_mode existing/input/old.csv)" = 444
'

test_expect_success 'init appends to an existing .gitattributes and keeps its lines' '
	git init -q attrs &&
	(
		cd attrs &&
		printf "*.png binary" >.gitattributes &&
		git add .gitattributes && git commit -q -m attrs &&
		git box init
	) &&
	head -n 1 attrs/.gitattributes >first &&
	echo "*.png binary" >expect &&
	test_cmp expect first &&
	grep "^/input/\*\* filter=box -text$" attrs/.gitattributes
'

test_expect_success 'names with spaces and non-ASCII letters are copied and filtered' '
	mkdir -p "odd src/Ümlaut dir" &&
	echo hello >"odd src/Ümlaut dir/naïve file.csv" &&
	git box init --input "my input/" --from "odd src/Ümlaut dir" odd &&
	cmp "odd src/Ümlaut dir/naïve file.csv" "odd/my input/Ümlaut dir/naïve file.csv" &&
	git -C odd check-attr filter -- "my input/Ümlaut dir/naïve file.csv" >actual &&
	grep "filter: box" actual &&
	git -C odd status --porcelain >status &&
	test_must_be_empty status
'

test_expect_success 'a link inside the source is copied as the file it names' '
	box_sample_data linked &&
	ln -s data.csv linked/alias.csv &&
	git box init --from linked l &&
	test -f l/input/linked/alias.csv &&
	! test -h l/input/linked/alias.csv &&
	cmp linked/data.csv l/input/linked/alias.csv
'

test_expect_success 'an empty source file and executable bits are kept' '
	mkdir ex && : >ex/empty.csv && printf "#!/bin/sh\n" >ex/run.sh && chmod +x ex/run.sh &&
	git box init --from ex e &&
	test -f e/input/ex/empty.csv && ! test -s e/input/ex/empty.csv &&
	test "$(box_mode e/input/ex/run.sh)" = 555 &&
	git -C e ls-files -s input/ex/run.sh | grep "^100755 "
'

test_done

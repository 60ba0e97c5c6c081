#!/bin/sh

test_description='the manifest payload: fields, canonical form, chain, environment'

. ./lib-box.sh

if command -v python3 >/dev/null 2>&1 && python3 -c "import json" 2>/dev/null
then
	test_set_prereq PYTHON3
fi

# The value of a top-level string field of a payload: field NAME FILE
field () {
	sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}$/\1/p" "$2"
}

test_expect_success 'setup: a box' '
	box_policy policy.yaml none 0 &&
	box_init_policy box policy.yaml &&
	git -C box notes --ref=box show HEAD >init.json
'

test_expect_success 'init writes the init manifest as a note on the init commit' '
	test "$(field schema init.json)" = "git-box/manifest/v1" &&
	test "$(field event init.json)" = init &&
	test "$(field name init.json)" = study &&
	test "$(field commit init.json)" = "$(git -C box rev-parse HEAD)" &&
	test "$(field box init.json)" = "$(git -C box rev-parse HEAD)" &&
	test "$(field tree init.json)" = "$(git -C box rev-parse HEAD^{tree})" &&
	grep "^  \"previous\": null,$" init.json &&
	grep "^  \"message\": null,$" init.json
'

test_expect_success 'the time is the committer date, in UTC, as git reads GIT_COMMITTER_DATE' '
	test "$(field time init.json)" = 2023-11-14T22:13:20Z
'

test_expect_success 'the policy field is the SHA-256 of the committed policy' '
	git -C box cat-file blob HEAD:.box/policy.yaml | sha256sum | cut -d" " -f1 >expect &&
	field policy init.json >actual &&
	test_cmp expect actual
'

test_expect_success 'inputs, outputs and code are sorted by the policy' '
	sed -n "/^  \"inputs\": {/,/^  },/p" init.json >inputs &&
	grep "^    \"input/data.csv\": {" inputs &&
	grep "^    \"input/sub/patients.csv\": {" inputs &&
	sed -n "/^  \"code\": {/,/^  },/p" init.json >code &&
	grep "^    \".box/policy.yaml\": {" code &&
	grep "^    \".gitattributes\": {" code &&
	grep "^  \"outputs\": {},$" init.json
'

test_expect_success 'each file has its mode, SHA-256 and size' '
	sha=$(git -C box cat-file blob HEAD:input/data.csv | sha256sum | cut -d" " -f1) &&
	size=$(git -C box cat-file -s HEAD:input/data.csv) &&
	sed -n "/^    \"input\/data.csv\": {/,/^    }/p" init.json >entry &&
	cat >expect <<-EOF &&
	    "input/data.csv": {
	      "mode": "100644",
	      "sha256": "$sha",
	      "size": $size
	    },
	EOF
	test_cmp expect entry
'

test_expect_success 'the payload is canonical: sorted keys, two-space indent, one final newline' '
	test "$(tail -c 1 init.json | od -An -c | tr -d " ")" = "\\n" &&
	grep "^{$" init.json && grep "^}$" init.json &&
	sed -n "s/^  \"\([a-z-]*\)\": .*/\1/p" init.json >keys &&
	sort keys >sorted &&
	test_cmp sorted keys &&
	echo "box code commit environment event inputs message name outputs policy previous schema time tree" \
		| tr " " "\n" >expect &&
	test_cmp expect keys
'

test_expect_success PYTHON3 'another JSON library writes the same bytes from the same data' '
	python3 -c "import json, sys; d = json.load(open(\"init.json\")); sys.stdout.write(json.dumps(d, indent=2, sort_keys=True, ensure_ascii=False) + \"\\n\")" >again.json &&
	test_cmp init.json again.json
'

test_expect_success 'the same data, names and dates give the same payload, byte for byte' '
	box_init_policy twin policy.yaml &&
	test "$(git -C twin rev-parse HEAD)" = "$(git -C box rev-parse HEAD)" &&
	git -C twin notes --ref=box show HEAD >twin.json &&
	test_cmp init.json twin.json
'

test_expect_success 'a checkpoint chains to the init event by its payload hash' '
	(cd box && box_commit "work" analysis.R && git box checkpoint -m "first results" >/dev/null) &&
	git -C box notes --ref=box show HEAD >cp.json &&
	sha256sum <init.json | cut -d" " -f1 >expect &&
	field previous cp.json >actual &&
	test_cmp expect actual &&
	test "$(field event cp.json)" = checkpoint &&
	test "$(field message cp.json)" = "first results" &&
	test "$(field box cp.json)" = "$(git -C box rev-parse HEAD~1)"
'

test_expect_success 'the environment names git box, its libraries, git and the operating system' '
	sed -n "/^  \"environment\": {/,/^  },/p" cp.json >env &&
	grep "^    \"git-box\": \"$(git box --version | sed -n "s/^git box version //p")\",$" env &&
	grep "^    \"git\": \"$(git --version)\",$" env &&
	for lib in gpgme jansson libarchive libcurl libgit2 libyaml openssl
	do
		grep "^      \"$lib\": \"" env || return 1
	done &&
	grep "^      \"system\": \"$(uname -s)\"" env &&
	grep "^      \"machine\": \"$(uname -m)\"" env &&
	grep "^    \"captures\": \[\],$" env
'

test_expect_success 'no environment variable reaches a manifest' '
	(cd box && box_commit "more" more.R &&
	 BOX_TEST_SECRET=s3cr3t-t0ken-value git box checkpoint >/dev/null) &&
	git -C box notes --ref=box show HEAD >env.json &&
	! grep "s3cr3t-t0ken-value" env.json &&
	! grep "BOX_TEST_SECRET" env.json &&
	! grep "\"HOME\"" env.json
'

test_expect_success 'setup: a box whose configuration captures commands' '
	mkdir bin &&
	printf "#!/bin/sh\nprintf \"%%s\\\\n\" \"\$@\"\nprintf \"to stderr\\\\n\" >&2\n" >bin/echo-args &&
	printf "#!/bin/sh\nprintf \"\\\\377\\\\376 not text\\\\n\"\n" >bin/binary &&
	printf "#!/bin/sh\nkill -9 \$\$\n" >bin/killed &&
	chmod +x bin/echo-args bin/binary bin/killed &&
	box_policy capture.yaml none 0 &&
	box_init_policy cap capture.yaml &&
	(
		cd cap &&
		for command in "echo-args one  two" false "no-such-program-xyz arg" binary killed
		do
			git config --add box.capture "$command" || return 1
		done &&
		box_commit work work.R &&
		PATH="$SHARNESS_TRASH_DIRECTORY/bin:$PATH" git box checkpoint >/dev/null
	) &&
	git -C cap notes --ref=box show HEAD >cap.json
'

# The lines of capture N (0-based) of a payload.
capture () {
	awk -v n="$1" "/^      {\$/ { i++ } i == n + 1 { print } /^      }/ && i == n + 1 { exit }" "$2"
}

test_expect_success 'a capture records its argv, split on blanks, its exit status and output' '
	capture 0 cap.json >c0 &&
	grep "^        \"command\": \"echo-args one  two\",$" c0 &&
	grep "^        \"source\": \"config\",$" c0 &&
	grep "^        \"probe\": null,$" c0 &&
	grep "^          \"one\",$" c0 &&
	grep "^          \"two\"$" c0 &&
	grep "^        \"exit\": 0,$" c0 &&
	grep "^        \"status\": \"ok\",$" c0 &&
	grep "^        \"output\": \"one\\\\ntwo\\\\n\",$" c0 &&
	grep "^        \"stderr\": \"to stderr\\\\n\",$" c0 &&
	grep "^        \"error\": null,$" c0
'

test_expect_success 'a failing capture is recorded as failed with its exit status' '
	capture 1 cap.json >c1 &&
	grep "^        \"command\": \"false\",$" c1 &&
	grep "^        \"exit\": 1,$" c1 &&
	grep "^        \"status\": \"failed\",$" c1 &&
	grep "^        \"error\": \"exited with status 1\",$" c1
'

test_expect_success 'a capture that cannot run is recorded as failed, never dropped' '
	capture 2 cap.json >c2 &&
	grep "^        \"command\": \"no-such-program-xyz arg\",$" c2 &&
	grep "^        \"exit\": null,$" c2 &&
	grep "^        \"status\": \"failed\",$" c2 &&
	grep "^        \"error\": \"cannot run .no-such-program-xyz.: No such file or directory\",$" c2
'

test_expect_success 'output that is not UTF-8 is kept whole, as base64' '
	capture 3 cap.json >c3 &&
	grep "^        \"encoding\": \"base64\",$" c3 &&
	printf "\377\376 not text\n" | base64 >expect &&
	sed -n "s/^        \"output\": \"\(.*\)\",$/\1/p" c3 >actual &&
	test_cmp expect actual
'

test_expect_success 'a capture killed by a signal is recorded with the signal' '
	capture 4 cap.json >c4 &&
	grep "^        \"signal\": 9,$" c4 &&
	grep "^        \"status\": \"failed\",$" c4 &&
	grep "^        \"error\": \"killed by signal 9\",$" c4
'

test_expect_success PYTHON3 'where python3 is found, a new policy names the pip probe by default' '
	box_init pip &&
	git -C pip show HEAD:.box/policy.yaml >pip-policy &&
	grep "^  capture: \[\"pip\"\]$" pip-policy &&
	git -C pip notes --ref=box show HEAD >pip.json &&
	grep "^        \"command\": \"pip\",$" pip.json &&
	grep "^        \"probe\": \"pip\",$" pip.json &&
	grep "^        \"source\": \"policy\",$" pip.json
'

test_expect_success !VALGRIND 'where python3 is not found, a new policy captures nothing' '
	mkdir nopython &&
	for tool in git gpg gpgconf sh uname; do ln -s "$(command -v $tool)" nopython/$tool || return 1; done &&
	box_sample_data np.src &&
	PATH="$BOX_BUILD_DIR:$PWD/nopython" git box init np --from np.src/data.csv >/dev/null &&
	git -C np show HEAD:.box/policy.yaml >np-policy &&
	grep "^  capture: \[\]$" np-policy
'

test_done

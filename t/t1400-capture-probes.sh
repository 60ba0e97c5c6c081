#!/bin/sh

test_description='nothing in a repository makes git box run a program

A policy'"'"'s environment.capture names built-in probes only, which git
box runs with a fixed argv, from the absolute folders of PATH, in /.
A policy naming anything else is refused by init, by every command that
records an event and by install, and fails verify; nothing of it runs.
Commands of one'"'"'s own come from box.capture in the local
configuration, which is never cloned.'

. ./lib-box.sh
. "$BOX_TEST_DIR/lib-tsa.sh"

ALICE=$(box_fpr alice)
TRASH=$SHARNESS_TRASH_DIRECTORY
# What a command would leave behind if it ran.
MARK=$TRASH/ran

if command -v python3 >/dev/null 2>&1 && python3 -m pip --version >/dev/null 2>&1
then
	test_set_prereq PIP
fi
if ! command -v Rscript >/dev/null 2>&1
then
	test_set_prereq NO_RSCRIPT
fi

# A policy whose environment.capture, on line 11, is the YAML flow list $2;
# signing.when is $3 (none), with alice as the signer.
capture_policy () {
	if test "${3:-none}" = none
	then
		box_policy "$1" none 0
	else
		box_policy "$1" "$3" 1 $ALICE
	fi &&
	sed -i "\$d" "$1" &&
	printf "  capture: %s\n" "$2" >>"$1"
}

# The records of a manifest's captures, one "source probe command" line each.
captures () {
	python3 -c '
import json, sys
m = json.loads(sys.stdin.read().split("-----BEGIN PGP SIGNATURE-----")[0])
for c in m["environment"]["captures"]:
    print(c["source"], c["probe"], c["command"])'
}

# The payload of the note on REV in the current folder, as a file.
payload () {
	git notes --ref=box show "$1" | sed "/^-----BEGIN PGP SIGNATURE-----$/,\$d"
}

test_expect_success 'setup: programs that say where and how they were run' '
	mkdir fake &&
	for name in python3 conda Rscript julia would-run
	do
		cat >fake/$name <<-EOF &&
		#!/bin/sh
		printf "%s|%s|%s\n" "$name" "\$(pwd)" "\$*" >>"$TRASH/probe.log"
		echo "$name output"
		EOF
		chmod +x fake/$name || return 1
	done &&
	cat >would-run <<-EOF &&
	#!/bin/sh
	touch "$MARK"
	EOF
	chmod +x would-run &&
	box_gpg_import alice &&
	gpg --batch --export --armor $ALICE >alice.asc
'

test_expect_success 'init refuses a policy whose capture names anything but a probe, and runs nothing' '
	cat >entries <<-EOF &&
	sh -c '"'"'touch $MARK'"'"'
	touch $MARK
	$TRASH/would-run
	./would-run
	would-run
	pip; touch $MARK
	python3 -m pip freeze && touch $MARK
	python3 -m pip freeze --path $TRASH
	/usr/bin/python3 -m pip freeze
	Pip
	pipx
	git
	os
	libraries
	EOF
	while read -r entry
	do
		capture_policy p.yaml "[pip, \"$entry\"]" &&
		(PATH="$TRASH/fake:$PATH" &&
		 test_expect_code 2 git box init box --policy p.yaml >out 2>err) &&
		grep "^error: p.yaml:11:18: environment.capture\[1\]: .* is not a built-in probe (pip, conda, r, julia); git box runs no program that a repository names$" err &&
		grep "^hint: .*git config --add box.capture .<command>.$" err &&
		test_must_be_empty out &&
		test_path_is_missing "$MARK" &&
		test_path_is_missing probe.log &&
		test_path_is_missing box || return 1
	done <entries
'

test_expect_success 'each probe runs its fixed argv in /, whatever its entry says' '
	capture_policy p.yaml "[pip, conda, r, julia, python3 -m pip freeze, conda list --export]" &&
	box_sample_data probes.src &&
	(cd probes.src && PATH="$TRASH/fake:$PATH" &&
	 git box init ../probes --policy ../p.yaml --from data.csv >/dev/null) &&
	cat >expect <<-\EOF &&
	python3|/|-m pip freeze
	conda|/|list --export
	Rscript|/|-e cat(R.version.string, '"'"'\n'"'"', sep = '"'"''"'"'); p <- installed.packages()[, c('"'"'Package'"'"', '"'"'Version'"'"'), drop = FALSE]; writeLines(paste0(p[, 1], '"'"'=='"'"', p[, 2]))
	julia|/|-e import Pkg; println("julia ", VERSION); Pkg.status()
	python3|/|-m pip freeze
	conda|/|list --export
	EOF
	test_cmp expect probe.log &&
	(cd probes && payload HEAD | captures) >actual &&
	cat >expect <<-\EOF &&
	policy pip pip
	policy conda conda
	policy r r
	policy julia julia
	policy pip python3 -m pip freeze
	policy conda conda list --export
	EOF
	test_cmp expect actual
'

test_expect_success 'a probe records the argv it ran, its output and status' '
	(cd probes && payload HEAD) >init.json &&
	python3 -c "
import json
c = json.load(open(\"init.json\"))[\"environment\"][\"captures\"][0]
assert c[\"argv\"] == [\"python3\", \"-m\", \"pip\", \"freeze\"], c
assert c[\"output\"] == \"python3 output\\n\" and c[\"status\"] == \"ok\" and c[\"exit\"] == 0, c
"
'

test_expect_success NO_RSCRIPT 'a probe whose program is not found is recorded as failed' '
	capture_policy p.yaml "[r]" &&
	box_sample_data norscript.src &&
	git box init norscript --policy p.yaml --from norscript.src/data.csv >/dev/null &&
	(cd norscript && payload HEAD) >nor.json &&
	grep "^        \"error\": \"cannot run .Rscript.: No such file or directory\",$" nor.json &&
	grep "^        \"status\": \"failed\",$" nor.json
'

test_expect_success 'setup: programs named like probes planted in the work tree' '
	rm -f probe.log &&
	(
		cd probes &&
		mkdir -p bin &&
		for planted in python3 bin/python3 conda bin/conda
		do
			cp ../would-run $planted || return 1
		done
	)
'

test_expect_success 'a relative folder on PATH is never searched for a probe' '
	(cd probes && box_commit work work.R &&
	 PATH="bin:.::$TRASH/fake:$PATH" git box checkpoint >/dev/null) &&
	test_path_is_missing "$MARK" &&
	grep "^python3|/|-m pip freeze$" probe.log &&
	grep "^conda|/|list --export$" probe.log
'

test_expect_success PIP 'setup: a box whose work tree ships pip.py and sitecustomize.py' '
	capture_policy p.yaml "[python3 -m pip freeze]" &&
	box_init_policy pipbox p.yaml &&
	(
		cd pipbox &&
		for module in pip sitecustomize usercustomize
		do
			printf "open(\"%s\", \"w\").close()\n" "$MARK" >$module.py || return 1
		done &&
		git add pip.py sitecustomize.py usercustomize.py &&
		git commit -q -m "code that looks like python modules"
	)
'

test_expect_success PIP 'python3 -m pip run where they are imports them: the plant works' '
	test_when_finished "rm -f \"$MARK\"" &&
	(cd pipbox && python3 -m pip --version >/dev/null 2>&1; true) &&
	test_path_is_file "$MARK"
'

test_expect_success PIP 'the pip probe imports nothing from the work tree' '
	(cd pipbox && git box checkpoint >/dev/null && payload HEAD) >pip.json &&
	test_path_is_missing "$MARK" &&
	python3 -c "
import json
c = json.load(open(\"pip.json\"))[\"environment\"][\"captures\"][0]
assert c[\"probe\"] == \"pip\" and c[\"status\"] == \"ok\", c
"
'

test_expect_success 'box.capture commands of the local configuration run in the work tree' '
	rm -f probe.log &&
	(
		cd probes &&
		mkdir tools &&
		cp ../fake/would-run tools/ &&
		git config --add box.capture "would-run one  two" &&
		git config --add box.capture "./tools/would-run three" &&
		box_commit more more.R &&
		PATH="$TRASH/fake:$PATH" git box checkpoint >/dev/null &&
		payload HEAD | captures >../actual
	) &&
	cat >expect <<-EOF &&
	policy pip pip
	policy conda conda
	policy r r
	policy julia julia
	policy pip python3 -m pip freeze
	policy conda conda list --export
	config None would-run one  two
	config None ./tools/would-run three
	EOF
	test_cmp expect actual &&
	grep "^would-run|$TRASH/probes|one two$" probe.log &&
	grep "^would-run|$TRASH/probes|three$" probe.log &&
	test_path_is_missing "$MARK"
'

test_expect_success 'global box.capture commands come first; an empty value forgets those before it' '
	test_when_finished "git config --global --unset-all box.capture" &&
	git config --global box.capture "would-run global" &&
	(
		cd probes &&
		box_commit global global.R &&
		PATH="$TRASH/fake:$PATH" git box checkpoint >/dev/null &&
		payload HEAD | captures | grep ^config >../actual &&
		git config --add box.capture "" &&
		git config --add box.capture "would-run last" &&
		box_commit reset reset.R &&
		PATH="$TRASH/fake:$PATH" git box checkpoint >/dev/null &&
		payload HEAD | captures | grep ^config >../actual.reset
	) &&
	cat >expect <<-EOF &&
	config None would-run global
	config None would-run one  two
	config None ./tools/would-run three
	EOF
	test_cmp expect actual &&
	echo "config None would-run last" >expect &&
	test_cmp expect actual.reset
'

test_expect_success 'box.capture is not cloned' '
	git clone -q probes probes.clone &&
	git -C probes.clone fetch -q origin refs/notes/box:refs/notes/box &&
	test_must_fail git -C probes.clone config box.capture &&
	(cd probes.clone && box_commit cloned cloned.R &&
	 PATH="$TRASH/fake:$PATH" git box checkpoint >/dev/null &&
	 payload HEAD | captures) >actual &&
	! grep ^config actual
'

test_expect_success 'setup: a clone of a box where a later commit names a command, made with stock git' '
	capture_policy good.yaml "[]" &&
	box_init_policy later.origin good.yaml &&
	git clone -q later.origin later &&
	git -C later fetch -q origin refs/notes/box:refs/notes/box &&
	capture_policy bad.yaml "[pip, \"sh -c '"'"'touch $MARK'"'"'\"]" &&
	cp bad.yaml later/.box/policy.yaml &&
	git -C later commit -q -am "capture a command"
'

test_expect_success 'recording an event by that policy is refused, and nothing runs or is written' '
	rm -f probe.log &&
	for cmd in checkpoint "seal -m final"
	do
		(cd later && box_snapshot >../before &&
		 PATH="$TRASH/fake:$PATH" && test_expect_code 2 git box $cmd >../out 2>../err &&
		 box_snapshot >../after) &&
		test_cmp before after &&
		grep "environment.capture\[1\]: .sh -c .touch $MARK.. is not a built-in probe" err &&
		test_path_is_missing "$MARK" &&
		test_path_is_missing probe.log || return 1
	done
'

test_expect_success 'setup: a box that signs every commit, whose later commit names a command' '
	box_policy every.yaml every-commit 1 $ALICE &&
	box_init_policy every every.yaml &&
	capture_policy every-bad.yaml "[pip, \"sh -c '"'"'touch $MARK'"'"'\"]" every-commit &&
	(
		cd every &&
		git config user.signingKey $ALICE &&
		chmod u+w .box/policy.yaml &&
		cp ../every-bad.yaml .box/policy.yaml &&
		box_nohooks -c filter.box.required=false -c filter.box.process= \
			commit -q -am "capture a command"
	)
'

test_expect_success 'a plain commit there runs nothing: post-commit signs nothing and says why' '
	(cd every && echo a >a.R && git add a.R &&
	 PATH="$TRASH/fake:$PATH" git commit -q -m a 2>../err) &&
	git -C every log -1 --format=%s >subject &&
	echo a >expect &&
	test_cmp expect subject &&
	grep "^warning: the commit $(git -C every rev-parse --short=12 HEAD) is not signed: .*environment.capture\[1\]: .* is not a built-in probe" err &&
	test_must_fail git -C every notes --ref=box show HEAD 2>/dev/null &&
	test_path_is_missing "$MARK" &&
	test_path_is_missing probe.log
'

# Forge, with stock git and python3 and no key, a box whose init commit
# holds POLICY: the init commit of box $1 rebuilt with it, and its manifest
# rewritten to match. The result is in $2, a clone without git box set up.
forge_init () {
	git clone -q "$1" "$2" &&
	(
		cd "$2" &&
		git fetch -q origin refs/notes/box:refs/notes/box &&
		old=$(git rev-parse HEAD) &&
		blob=$(git hash-object -w "$3") &&
		git read-tree "$old" &&
		git update-index --cacheinfo 100644,$blob,.box/policy.yaml &&
		tree=$(git write-tree) &&
		git cat-file commit "$old" | sed "1,/^$/d" >message &&
		new=$(git commit-tree "$tree" -F message) &&
		payload "$old" >old.json &&
		python3 - "$new" "$tree" "$3" <<-\EOF &&
		import hashlib, json, sys
		new, tree, policy = sys.argv[1:]
		text = open("old.json", encoding="utf-8").read()
		m = json.loads(text)
		# the canonical form, as gitbox-manifest(5) gives it
		def dump(m):
		    return json.dumps(m, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
		assert dump(m) == text, "not the canonical form"
		data = open(policy, "rb").read()
		digest = hashlib.sha256(data).hexdigest()
		m["box"] = m["commit"] = new
		m["tree"] = tree
		m["policy"] = digest
		m["code"][".box/policy.yaml"] = {"mode": "100644", "sha256": digest, "size": len(data)}
		open("new.json", "w", encoding="utf-8").write(dump(m))
		EOF
		git notes --ref=box remove "$old" 2>/dev/null &&
		git notes --ref=box add -F new.json "$new" &&
		git reset -q --hard "$new" &&
		rm -f message old.json new.json
	)
}

test_expect_success 'setup: boxes forged around a policy naming a command, and a probe' '
	box_policy base.yaml seal 1 $ALICE &&
	box_init_policy base base.yaml &&
	capture_policy forged-bad.yaml "[pip, \"sh -c '"'"'touch $MARK'"'"'\"]" seal &&
	forge_init base forged "$TRASH/forged-bad.yaml" &&
	capture_policy forged-good.yaml "[pip]" seal &&
	forge_init base control "$TRASH/forged-good.yaml" &&
	test "$(git -C forged rev-list --count HEAD)" = 1 &&
	git -C forged show HEAD:.box/policy.yaml >actual &&
	test_cmp forged-bad.yaml actual
'

# verify in $1 with the auditor's roots.
audit () {
	git -C "$1" box verify --keyring "$TRASH/alice.asc" --trust-signer $ALICE \
		--tsa-ca "$TSA_FIXTURES/ca.pem"
}

test_expect_success 'verify of the forgery with a probe finds its policy and its manifest good' '
	audit control >out &&
	grep "^ok   policy: [0-9a-f]*: .\.box/policy.yaml.: names no program to run (environment.capture: built-in probes only)$" out &&
	grep "^ok   payload: init " out &&
	grep "^ok   chain: " out
'

test_expect_success 'verify fails the box whose policy names a command, and runs nothing' '
	(PATH="$TRASH/fake:$PATH" && test_expect_code 1 audit forged >out 2>err) &&
	grep "^FAIL policy: [0-9a-f]*: .\.box/policy.yaml.: init:\.box/policy.yaml:11:18: environment.capture\[1\]: .sh -c .touch $MARK.. is not a built-in probe (pip, conda, r, julia); git box runs no program that a repository names; every event recorded by it may have run that program$" out &&
	grep "^ok   payload: init " out &&
	grep "^ok   chain: " out &&
	test_path_is_missing "$MARK" &&
	test_path_is_missing probe.log
'

test_expect_success 'install refuses to set up that box, and sets up nothing' '
	(cd forged && box_snapshot >../before && git config --list --local >../config.before &&
	 test_expect_code 2 git box install >../out 2>../err &&
	 box_snapshot >../after && git config --list --local >../config.after) &&
	test_cmp before after &&
	test_cmp config.before config.after &&
	test_must_be_empty out &&
	grep "^error: .*environment.capture\[1\]: .* is not a built-in probe" err &&
	grep "^hint: no event can be recorded in this box, and nothing was installed" err &&
	! ls forged/.git/hooks | grep -v "\.sample$"
'

test_expect_success 'import into the forged box is refused before anything is copied' '
	mkdir more && echo x >more/x.csv &&
	(cd forged && box_snapshot >../before &&
	 PATH="$TRASH/fake:$PATH" && test_expect_code 2 git box import ../more >../out 2>../err &&
	 box_snapshot >../after) &&
	test_cmp before after &&
	grep "^error: .*environment.capture\[1\]: .* is not a built-in probe" err &&
	grep "^hint: nothing was imported$" err &&
	test_path_is_missing "$MARK" &&
	test_path_is_missing probe.log
'

test_expect_success 'recording an event in the forged box is refused, and nothing runs' '
	(cd forged && box_nohooks commit -q --allow-empty -m work && box_snapshot >../before &&
	 PATH="$TRASH/fake:$PATH" && test_expect_code 2 git box checkpoint >../out 2>../err &&
	 box_snapshot >../after) &&
	test_cmp before after &&
	grep "environment.capture\[1\]: .* is not a built-in probe" err &&
	test_path_is_missing "$MARK" &&
	test_path_is_missing probe.log
'

test_done

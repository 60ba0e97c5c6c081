#!/bin/sh

test_description='seal, sign and checkpoint killed at any moment: the old state or the new, and a re-run completes'

. ./lib-box.sh

ALICE=$(box_fpr alice)
BOB=$(box_fpr bob)

# What a crash must leave either as it was or wholly new.
snapshot () {
	git -C "$1" rev-parse main &&
	(git -C "$1" rev-parse -q --verify refs/notes/box || echo "no notes") &&
	git -C "$1" notes --ref=box list | sort
}

# Wait until FILE exists (a program reached a point), at most ten seconds.
wait_for () {
	i=0 &&
	while ! test -s "$1"
	do
		test $i -lt 200 || { echo "timed out waiting for $1"; return 1; }
		sleep 0.05
		i=$((i + 1))
	done
}

# A gpg that stops before signing: it writes its pid to MARK and sleeps.
# write_slow_gpg FILE MARK SECONDS
write_slow_gpg () {
	cat >"$1" <<-EOF &&
	#!/bin/sh
	case " \$* " in
	*" --sign "*)
		echo \$\$ >"$2"
		sleep $3
		;;
	esac
	exec gpg "\$@"
	EOF
	chmod +x "$1"
}

# Start git-box itself (not git, which would outlive a kill of its child)
# in the background in DIR: start_box DIR ARGS...
start_box () {
	dir=$1 && shift &&
	(cd "$dir" && exec git-box "$@" >/dev/null 2>&1) &
	box_pid=$!
}

test_expect_success 'setup: keys, a box ready to seal, and a slow gpg' '
	box_gpg_import alice bob &&
	box_policy policy.yaml seal 1 $ALICE $BOB &&
	box_init_policy template policy.yaml &&
	git -C template config user.signingKey $ALICE &&
	(cd template && box_commit "analysis" analysis.R) &&
	write_slow_gpg slow-gpg "$PWD/signing.pid" 60
'

test_expect_success 'kill -9 while gpg signs the seal: the box is as it was' '
	cp -R template box &&
	git -C box config gpg.program "$PWD/slow-gpg" &&
	snapshot box >before &&
	rm -f signing.pid &&
	start_box box seal &&
	wait_for signing.pid &&
	kill -9 $box_pid && kill $(cat signing.pid) &&
	wait $box_pid; snapshot box >after &&
	test_cmp before after &&
	(cd box && git box status >../status) &&
	grep "^state     IN_PROGRESS$" status &&
	! grep "^seal      interrupted" status
'

test_expect_success 'and a re-run seals it' '
	git -C box config --unset gpg.program &&
	(cd box && git box seal >/dev/null && git box status >../status && git box log >/dev/null) &&
	grep "^state     COMPLETED$" status
'

test_expect_success 'kill -9 while a capture command runs: the box is as it was, and a re-run seals it' '
	mkdir -p bin &&
	cat >bin/slow-capture <<-EOF &&
	#!/bin/sh
	test -f "$PWD/capture-fast" && exec echo fast
	echo \$\$ >"$PWD/capture.pid"
	exec sleep 60
	EOF
	chmod +x bin/slow-capture &&
	box_sample_data slow.src &&
	PATH="$PWD/bin:$PATH" && export PATH &&
	git box init slow --policy policy.yaml --from slow.src/data.csv >/dev/null &&
	(cd slow && git config user.signingKey $ALICE && git config box.capture slow-capture &&
	 box_commit "w" w.R) &&
	snapshot slow >before &&
	start_box slow seal &&
	wait_for capture.pid &&
	kill -9 $box_pid && kill $(cat capture.pid) &&
	wait $box_pid; snapshot slow >after &&
	test_cmp before after &&
	touch capture-fast &&
	(cd slow && git box seal >/dev/null && git box status >../status) &&
	grep "^state     COMPLETED$" status
'

test_expect_success 'kill -9 while gpg signs a checkpoint: no note, and a re-run writes it' '
	cp -R template cp &&
	git -C cp config gpg.program "$PWD/slow-gpg" &&
	snapshot cp >before &&
	rm -f signing.pid &&
	start_box cp checkpoint &&
	wait_for signing.pid &&
	kill -9 $box_pid && kill $(cat signing.pid) &&
	wait $box_pid; snapshot cp >after &&
	test_cmp before after &&
	git -C cp config --unset gpg.program &&
	(cd cp && git box checkpoint >/dev/null) &&
	git -C cp notes --ref=box show HEAD | grep "^  \"event\": \"checkpoint\",$"
'

test_expect_success 'kill -9 while gpg co-signs: the note is as it was, and a re-run signs' '
	(cd box && git notes --ref=box show HEAD >../seal-before &&
	 git config user.signingKey $BOB && git config gpg.program "$PWD/../slow-gpg") &&
	rm -f signing.pid &&
	start_box box sign &&
	wait_for signing.pid &&
	kill -9 $box_pid && kill $(cat signing.pid) &&
	wait $box_pid; git -C box notes --ref=box show HEAD >seal-after &&
	test_cmp seal-before seal-after &&
	git -C box config --unset gpg.program &&
	(cd box && git box sign >/dev/null) &&
	git -C box notes --ref=box show HEAD >seal-signed &&
	test $(grep -c "^-----BEGIN PGP SIGNATURE-----$" seal-signed) = 2
'

test_expect_success 'kill -9 at many moments of a seal: always the old state or the new, and a re-run seals' '
	write_slow_gpg quick-gpg "$PWD/quick.pid" 0.3 &&
	for delay in 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.8 1.0 1.5
	do
		rm -rf k && cp -R template k &&
		git -C k config gpg.program "$PWD/quick-gpg" &&
		old=$(git -C k rev-parse main) &&
		start_box k seal &&
		sleep $delay &&
		{ kill -9 $box_pid 2>/dev/null; wait $box_pid; true; } &&
		new=$(git -C k rev-parse main) &&
		if test "$new" = "$old"
		then
			! git -C k notes --ref=box list main >/dev/null 2>&1 || return 1
		else
			test "$(git -C k rev-parse main~1)" = "$old" &&
			git -C k notes --ref=box show main | grep "^  \"event\": \"seal\",$" || return 1
		fi &&
		git -C k config --unset gpg.program &&
		(cd k && { git box seal >/dev/null 2>&1 || test "$new" != "$old"; } &&
		 git box status >../status && git box log >/dev/null) &&
		grep "^state     COMPLETED$" status || return 1
	done
'

test_expect_success 'setup: a seal whose note was written but whose branch never moved' '
	cp -R template half && cp -R template done &&
	(cd done && git box seal >/dev/null) &&
	git -C half fetch -q ../done main:refs/tmp/seal "+refs/notes/box:refs/notes/box" &&
	git -C half update-ref -d refs/tmp/seal &&
	test "$(git -C half rev-parse main)" = "$(git -C template rev-parse main)"
'

test_expect_success 'status tells of the interrupted seal' '
	(cd half && git box status >../status) &&
	grep "^state     IN_PROGRESS$" status &&
	grep "^seal      interrupted at $(git -C done rev-parse --short=12 main): run .git box seal. to complete it$" status
'

test_expect_success 'a re-run completes the interrupted seal, without a second seal' '
	(cd half && git box seal >../out && git box log >../log) &&
	grep "^Completed the seal of git box .study. at $(git -C done rev-parse main)$" out &&
	test "$(git -C half rev-parse main)" = "$(git -C done rev-parse main)" &&
	test $(grep -c "^seal " log) = 1 &&
	grep "chain intact" log
'

test_expect_success 'a branch locked at the last moment: exit 1, and the notes exactly as they were' '
	cp -R template locked &&
	snapshot locked >before &&
	(cd locked && : >.git/refs/heads/main.lock &&
	 test_expect_code 1 git box seal 2>../err; ret=$?; rm .git/refs/heads/main.lock; exit $ret) &&
	grep "error: the box branch .main. is locked by another git process" err &&
	grep "hint: nothing was sealed" err &&
	snapshot locked >after &&
	test_cmp before after &&
	(cd locked && git box seal >/dev/null)
'

# One of two seals racing in the box "race": race_seal NAME (NAME.code, NAME.err)
race_seal () {
	(cd race && git-box seal -m "$1" >../"$1".out 2>../"$1".err; echo $? >../"$1".code) &
}

test_expect_success 'two seals at once: one wins, the other exits 1 and writes nothing' '
	cp -R template race &&
	mkdir barrier &&
	cat >barrier-gpg <<-EOF &&
	#!/bin/sh
	case " \$* " in
	*" --sign "*)
		: >"$PWD/barrier/signing.\$\$"
		i=0
		while test \$(ls "$PWD/barrier" | wc -l) -lt 2 && test \$i -lt 200
		do
			sleep 0.05
			i=\$((i + 1))
		done
		;;
	esac
	exec gpg "\$@"
	EOF
	chmod +x barrier-gpg &&
	git -C race config gpg.program "$PWD/barrier-gpg" &&
	race_seal one &&
	first=$! &&
	race_seal two &&
	second=$! &&
	wait $first && wait $second &&
	test "$(ls barrier | wc -l)" = 2 &&
	cat one.code two.code | sort | tr "\n" " " >codes &&
	printf "0 1 " >expect &&
	test_cmp expect codes &&
	cat one.err two.err >errs &&
	grep "^error: already sealed at" errs &&
	git -C race config --unset gpg.program &&
	(cd race && git box log >../log) &&
	test $(grep -c "^seal " log) = 1 &&
	grep "chain intact" log &&
	git -C race notes --ref=box list >noted &&
	test $(wc -l <noted) = 2
'

test_done

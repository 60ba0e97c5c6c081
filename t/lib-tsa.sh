# Shared setup for the timestamp tests; sourced after lib-box.sh.
#
# Starts Time Stamping Authorities on 127.0.0.1, each on a free port it
# reports itself, and stops them when the script ends (and after 15
# minutes at the latest): git box's own (contrib/tsa-server), and
# others behind a minimal HTTP shim (t/lib-tsa-shim.py) such as stock
# `openssl ts -reply` or a faulty server. Makes event notes with stock git.

TSA_FIXTURES="$BOX_FIXTURES/tsa"
BOX_TSA_SERVER="$BOX_BUILD_DIR/git-box-tsa"
export TSA_FIXTURES BOX_TSA_SERVER

if ! test -x "$BOX_TSA_SERVER"; then
	echo >&2 "error: '$BOX_TSA_SERVER' is not built; run 'make' first"
	exit 1
fi

# Wait (10 s at most) for server NAME to report its port; its URL goes to NAME.url.
tsa_wait () {
	tsa_n=0
	while ! test -s "$1.port"
	do
		if test $tsa_n -ge 100 || ! kill -0 "$(cat "$1.pid")" 2>/dev/null
		then
			echo >&2 "error: the server '$1' did not start:"
			cat >&2 "$1.log"
			return 1
		fi
		tsa_n=$((tsa_n + 1))
		sleep 0.1
	done
	echo "http://127.0.0.1:$(cat "$1.port")/" >"$1.url"
}

# Is process $1 alive? A script that has exited stays a zombie until prove
# reaps it, and prove waits first for its output pipes, which this watcher
# inherited: so a zombie counts as gone, or both would wait for ever.
tsa_alive () {
	kill -0 "$1" 2>/dev/null &&
	! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# Stop server $2 once the test script (shell $1) is gone, however it ended.
tsa_watch () {
	while tsa_alive "$1" && kill -0 "$2" 2>/dev/null
	do
		sleep 1
	done
	kill "$2" 2>/dev/null
}

# Run a server in the background as NAME, detached from the test's output.
tsa_spawn () {
	tsa_name=$1 && shift &&
	rm -f "$tsa_name.port" "$tsa_name.url" &&
	{ timeout 900 "$@" >"$tsa_name.out" 2>"$tsa_name.log" 3>&- 4>&- 5>&- 6<&- & } &&
	tsa_pid=$! &&
	echo $tsa_pid >"$tsa_name.pid" &&
	{ tsa_watch $$ $tsa_pid >/dev/null 2>&1 3>&- 4>&- 5>&- 6<&- & } &&
	cleanup "tsa_stop $tsa_name" &&
	tsa_wait "$tsa_name"
}

# box_init_stamped DIR QUORUM FPR...: a box over the sample data whose
# seal needs QUORUM of the signers FPR... and a timestamp from the TSA
# tsa_start started, with the fixture CA as its anchors; the first signer
# signs in DIR. Its policy is left in DIR.policy.yaml.
box_init_stamped () {
	stamped_dir=$1 stamped_quorum=$2 &&
	shift 2 &&
	box_policy "$stamped_dir.policy.yaml" seal "$stamped_quorum" "$@" &&
	echo "timestamp: {when: seal, tsa: [\"$(cat tsa.url)\"], ca: .box/tsa-ca.pem}" \
		>>"$stamped_dir.policy.yaml" &&
	box_sample_data "$stamped_dir.src" &&
	git box init "$stamped_dir" --policy "$stamped_dir.policy.yaml" --tsa-ca "$TSA_FIXTURES/ca.pem" \
		--from "$stamped_dir.src/data.csv" --from "$stamped_dir.src/sub" >/dev/null &&
	git -C "$stamped_dir" config user.signingKey "$1"
}

# tsa_start NAME [git-box-tsa options]: git box's TSA, with the fixture
# key and certificate when no option is given.
tsa_start () {
	tsa_start_name=$1 && shift &&
	if test $# = 0
	then
		set -- --key "$TSA_FIXTURES/tsa.key" --cert "$TSA_FIXTURES/tsa.pem"
	fi &&
	tsa_spawn "$tsa_start_name" "$BOX_TSA_SERVER" --port 0 --port-file "$tsa_start_name.port" "$@"
}

# tsa_shim NAME MODE...: the HTTP shim in one of its modes (see t/lib-tsa-shim.py).
tsa_shim () {
	tsa_shim_name=$1 && shift &&
	tsa_spawn "$tsa_shim_name" python3 "$BOX_TEST_DIR/lib-tsa-shim.py" \
		--port-file "$tsa_shim_name.port" "$@"
}

tsa_stop () {
	if test -f "$1.pid"
	then
		tsa_pid=$(cat "$1.pid") &&
		rm -f "$1.pid" &&
		kill "$tsa_pid" 2>/dev/null
		wait "$tsa_pid" 2>/dev/null
	fi
	return 0
}

# An openssl.cnf [tsa] section for `openssl ts -reply`:
# tsa_openssl_config FILE KEY CERT [DIGESTS [CHAIN]]
tsa_openssl_config () {
	cat >"$1" <<-EOF
	[tsa]
	default_tsa = tsa_config
	[tsa_config]
	serial = $PWD/$1.serial
	crypto_device = builtin
	signer_key = $2
	signer_cert = $3
	${5:+certs = $5}
	signer_digest = sha256
	default_policy = 1.3.6.1.4.1.99999.2
	digests = ${4:-sha256, sha384, sha512}
	accuracy = secs:1
	ordering = no
	tsa_name = yes
	ess_cert_id_chain = no
	ess_cert_id_alg = sha256
	EOF
	echo 00 >"$1.serial"
}

# box_event_note REV EVENT: attach to REV a manifest note shaped like
# gitbox-manifest(5)'s, with stock git; the payload stays in
# $TRASH/payload-<commit>.json. Run inside the box.
box_event_note () {
	note_commit=$(git rev-parse --verify "$1^{commit}") &&
	note_file="$SHARNESS_TRASH_DIRECTORY/payload-$note_commit.json" &&
	# A commit git box made an event of (init writes its note) keeps its
	# real manifest: notes are only ever added to.
	if git notes --ref=box show "$note_commit" >/dev/null 2>&1
	then
		git notes --ref=box show "$note_commit" |
			sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' >"$note_file" &&
		grep -q "\"event\": \"$2\"" "$note_file"
		return
	fi &&
	{
		printf '{"box": "%s", "code": {}, "commit": "%s", ' \
			"$(git rev-list --first-parent --max-parents=0 "$note_commit")" "$note_commit" &&
		printf '"environment": {"git-box": "0.1.0"}, "event": "%s", "inputs": {' "$2" &&
		git ls-tree -r -l "$note_commit" -- input/ | {
			sep=
			while read -r mode type oid size path
			do
				printf '%s"%s": {"mode": "%s", "sha256": "%s", "size": %s}' "$sep" "$path" \
					"$mode" "$(git cat-file blob "$oid" | sha256sum | cut -d" " -f1)" "$size"
				sep=", "
			done
		} &&
		printf '}, "outputs": {}, "policy": "%s", "previous": null, ' \
			"$(git cat-file blob "$note_commit:.box/policy.yaml" | sha256sum | cut -d" " -f1)" &&
		printf '"schema": "git-box/manifest/v1", "time": "2023-11-14T22:13:20Z", "tree": "%s"}\n' \
			"$(git rev-parse "$note_commit^{tree}")"
	} >"$note_file" &&
	git notes --ref=box add -F "$note_file" "$note_commit"
}

# The payload file box_event_note wrote for REV.
box_payload () {
	echo "$SHARNESS_TRASH_DIRECTORY/payload-$(git rev-parse --verify "$1^{commit}").json"
}

# Cut a timestamp tag's parts out with sed, as gitbox-manifest(5) shows:
# tsa_cut TAG RESPONSE PAYLOAD
tsa_cut () {
	git cat-file tag "$1" |
		sed -n '/^-----BEGIN RFC3161 TIMESTAMP RESPONSE-----$/,/^-----END RFC3161 TIMESTAMP RESPONSE-----$/p' |
		sed '1d;$d' | openssl base64 -d -out "$2" &&
	git notes --ref=box show "$1^{commit}" | sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' >"$3"
}

# No timestamp tag exists in the repository.
tsa_no_tags () {
	git for-each-ref refs/tags/box/ >tags &&
	test_must_be_empty tags
}

#!/bin/sh
# The git box story, end to end, in a temporary folder over the sample data
# in contrib/demo/data: init, work, a refused change, checkpoint, a seal
# signed by two people and timestamped by a local TSA, the auditor's verify
# of a clone, the archivist's export, the offline verify of the bundle, and
# what verify says of a box someone tampered with. Run by `make demo`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/build:$PATH"
MANPATH="$top/build/man:"
export PATH MANPATH
work=$(mktemp -d "${TMPDIR:-/tmp}/git-box-demo.XXXXXX")
tsa_pid=
cleanup () {
	test -z "$tsa_pid" || kill "$tsa_pid" 2>/dev/null || :
	GNUPGHOME="$work/home/.gnupg" gpgconf --kill gpg-agent 2>/dev/null || :
	GNUPGHOME="$work/auditor/.gnupg" gpgconf --kill gpg-agent 2>/dev/null || :
	chmod -R u+w "$work" 2>/dev/null || :
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1 GNUPGHOME="$work/home/.gnupg"
mkdir -p "$HOME" "$GNUPGHOME"
chmod 700 "$GNUPGHOME"
git config --global user.name "Demo Analyst"
git config --global user.email "analyst@example.org"
git config --global init.defaultBranch main

step () {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

# A step that must be refused with exit code $1: the demo fails otherwise.
refused () {
	want=$1
	shift
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	if "$@"; then
		got=0
	else
		got=$?
	fi
	if test "$got" != "$want"; then
		echo >&2 "demo: '$*' exited $got, not $want"
		exit 1
	fi
	echo "(refused, exit $got: as it should be)"
}

echo "== Two throw-away OpenPGP keys: the analyst's and the reviewer's"
newkey () {
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1" ed25519 sign 1d 2>/dev/null
	gpg --with-colons --list-keys "$1" | awk -F: '$1 == "fpr" { print $10; exit }'
}
analyst=$(newkey "Demo Analyst <analyst@example.org>")
reviewer=$(newkey "Demo Reviewer <reviewer@example.org>")
git config --global user.signingKey "$analyst"
echo "analyst  $analyst"
echo "reviewer $reviewer"
# What the auditor is handed out of band: the two public keys.
gpg --batch --export --armor "$analyst" "$reviewer" >"$work/signers.asc"

echo
echo "== An independent clock: the site's own RFC 3161 TSA (contrib/tsa-server)"
step "$top/contrib/tsa-server/make-test-ca.sh" "$work/tsa" "sepsis demo"
git-box-tsa --key "$work/tsa/tsa.key" --cert "$work/tsa/tsa.pem" --port 0 \
	--port-file "$work/tsa/port" 2>"$work/tsa/log" &
tsa_pid=$!
n=0
while ! test -s "$work/tsa/port" && test $n -lt 100; do sleep 0.1; n=$((n + 1)); done
test -s "$work/tsa/port" || { cat >&2 "$work/tsa/log"; echo >&2 "demo: git-box-tsa did not start"; exit 1; }
tsa_url="http://127.0.0.1:$(cat "$work/tsa/port")/"
echo "git-box-tsa listens on $tsa_url"

cd "$work"
echo
echo "== A box over the sepsis study's data: two signatures and a timestamp seal it"
step git box init sepsis-2026 --name sepsis-2026 \
	--from "$top/contrib/demo/data/enrolment.csv" \
	--from "$top/contrib/demo/data/outcomes.csv" \
	--from "$top/contrib/demo/data/sites" \
	--signer "$analyst" --signer "$reviewer" --quorum 2 \
	--tsa "$tsa_url" --tsa-ca "$work/tsa/ca.pem"
cd sepsis-2026
step git box status
step ls -l input
step cat .box/policy.yaml

echo
echo "== The analyst works: code and outputs commit as usual"
cp "$top/contrib/demo/analysis.sh" .
step sh analysis.sh
step cat output/sofa-by-arm.csv
step git add analysis.sh output/sofa-by-arm.csv
step git commit -q -m "Mean SOFA score per arm"
step git box status

echo
echo "== The inputs are read-only: a change to one is refused, and restored"
echo "(someone makes input/enrolment.csv writable and adds a subject to it)"
chmod u+w input/enrolment.csv
echo "S999,BER,B,99,2026-03-01" >>input/enrolment.csv
step git box status
refused 128 git add input/enrolment.csv
refused 128 git commit -q -a -m "one more subject"
step git box restore input/enrolment.csv
step git box status

echo
echo "== Every event is a manifest in refs/notes/box, chained and signed"
step git box checkpoint -m "first look at the primary endpoint"
step git box seal -m "Final analysis: mean SOFA score per arm"
step git box log
echo "(the seal waits for its second signature: the quorum is 2)"
refused 1 git commit -q --allow-empty -m "one more thing after the seal"

echo
echo "== The reviewer clones the box, co-signs the seal and pushes the signature"
cd "$work"
step git clone -q sepsis-2026 review
cd review
step git box install
step git fetch -q origin refs/notes/box:refs/notes/box
git config user.signingKey "$reviewer"
step git box sign --role reviewer --reason "results checked against the analysis plan"
step git push -q origin refs/notes/box
cd "$work/sepsis-2026"
step git box status

echo
echo "== Anyone checks the parts with stock gpg and openssl, without git box's say-so"
step sh -c 'git box show --payload >../seal.json && git box show --signatures >../seal.asc'
step gpg --verify-options show-notations --verify ../seal.asc ../seal.json
step git cat-file tag box/seal-1
git cat-file tag box/seal-1 |
	sed -n '/^-----BEGIN RFC3161/,/^-----END RFC3161/p' | sed '1d;$d' |
	openssl base64 -d -out "$work/seal.tsr"
step openssl ts -verify -data ../seal.json -in ../seal.tsr -CAfile ../tsa/ca.pem
kill "$tsa_pid"
wait "$tsa_pid" 2>/dev/null || :
tsa_pid=

echo
echo "== The auditor clones it, installs nothing, and verifies against their own roots"
export GNUPGHOME="$work/auditor/.gnupg"
mkdir -p "$GNUPGHOME"
chmod 700 "$GNUPGHOME"
cd "$work"
step git clone -q sepsis-2026 audit
cd audit
echo "(verify believes no one it is not told to: without trust roots it cannot run)"
refused 2 git box verify
echo "(the auditor sets the roots once, in their own git configuration, never the box's)"
step git config --global box.verify.keyring "$work/signers.asc"
step git config --global --add box.verify.trustSigner "$analyst"
step git config --global --add box.verify.trustSigner "$reviewer"
step git config --global box.verify.tsaCa "$work/tsa/ca.pem"
echo "(a plain clone lacks the notes and tags: verify says how to fetch them)"
refused 2 git box verify
step git fetch -q origin refs/notes/box:refs/notes/box 'refs/tags/box/*:refs/tags/box/*'
seal_sha256=$(sha256sum ../seal.json | cut -d' ' -f1)
step git box verify --expect-seal "$seal_sha256"

echo "(the same check as the auditor's CI job runs it on every push, contrib/ci)"
step env BOX_SIGNERS="$analyst $reviewer" BOX_KEYRING="$work/signers.asc" \
	BOX_TSA_CA="$work/tsa/ca.pem" BOX_EXPECT_SEAL="$seal_sha256" BOX_REPORT="$work/verify.json" \
	sh "$top/contrib/ci/verify-box.sh" "file://$work/sepsis-2026"

echo
echo "== The archivist exports the audit bundle: one BagIt tar holding all the evidence"
export GNUPGHOME="$work/home/.gnupg"
cd "$work/sepsis-2026"
step git box export -o ../sepsis-2026.tar
step tar -tvf ../sepsis-2026.tar
mkdir ../unpacked
tar -xf ../sepsis-2026.tar -C ../unpacked
bag=$(ls ../unpacked)
step sh -c "cd ../unpacked/$bag && sha256sum -c --quiet manifest-sha256.txt tagmanifest-sha256.txt && echo 'every payload and tag file is whole'"
step sh -c "git init -q ../bundle-check && cd ../bundle-check && git bundle verify ../unpacked/$bag/box/repo.bundle"

echo
echo "== Years later, offline: the auditor verifies the bundle alone"
export GNUPGHOME="$work/auditor/.gnupg"
cd "$work"
step git box verify --keyring signers.asc --trust-signer "$analyst" \
	--trust-signer "$reviewer" --tsa-ca tsa/ca.pem --expect-seal "$seal_sha256" sepsis-2026.tar

echo
echo "== And what verify says when someone tampers"
echo "(a copy of the bundle with one byte of the data changed)"
cp sepsis-2026.tar tampered.tar
offset=$(grep -abo 'S001' tampered.tar | head -n 1 | cut -d: -f1)
printf 'X' | dd of=tampered.tar bs=1 seek="$offset" conv=notrunc status=none
refused 1 git box verify --quiet --keyring signers.asc --trust-signer "$analyst" \
	--trust-signer "$reviewer" --tsa-ca tsa/ca.pem tampered.tar
echo "(a clone whose host rewrote an input in history and re-signed nothing)"
git clone -q sepsis-2026 rewritten
cd rewritten
git fetch -q origin refs/notes/box:refs/notes/box 'refs/tags/box/*:refs/tags/box/*'
git -c core.hooksPath=/dev/null filter-branch -f --tree-filter \
	'chmod u+w input/enrolment.csv && sed -i s/S001/S00X/ input/enrolment.csv' -- main >/dev/null 2>&1
refused 1 git box verify --quiet --keyring ../signers.asc --trust-signer "$analyst" \
	--trust-signer "$reviewer" --tsa-ca ../tsa/ca.pem

echo
echo "Demo done: a box sealed by its analyst, co-signed by its reviewer,"
echo "timestamped, verified on a clone and from its audit bundle alone."

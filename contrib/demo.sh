#!/bin/sh
# The git box story, end to end, in a temporary folder over the sample data
# in contrib/demo/data. Run by `make demo`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/build:$PATH"
MANPATH="$top/build/man:"
export PATH MANPATH
work=$(mktemp -d "${TMPDIR:-/tmp}/git-box-demo.XXXXXX")
tsa_pid=
trap 'test -z "$tsa_pid" || kill "$tsa_pid" 2>/dev/null; GNUPGHOME="$work/home/.gnupg" gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$work"' EXIT
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

# Two throw-away OpenPGP keys: the analyst's and the reviewer's.
newkey () {
	gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1" ed25519 sign 1d 2>/dev/null
	gpg --with-colons --list-keys "$1" | awk -F: '$1 == "fpr" { print $10; exit }'
}
analyst=$(newkey "Demo Analyst <analyst@example.org>")
reviewer=$(newkey "Demo Reviewer <reviewer@example.org>")
git config --global user.signingKey "$analyst"

cd "$work"
echo "== A box over the sepsis study's data, in $work; the seal needs both signatures"
step git box init sepsis-2026 --name sepsis-2026 \
	--from "$top/contrib/demo/data/enrolment.csv" \
	--from "$top/contrib/demo/data/outcomes.csv" \
	--from "$top/contrib/demo/data/sites" \
	--signer "$analyst" --signer "$reviewer" --quorum 2
cd sepsis-2026
step git box status
step ls -l input
step cat .gitattributes

echo
echo "== An independent clock: the site's own RFC 3161 TSA (contrib/tsa-server)"
step "$top/contrib/tsa-server/make-test-ca.sh" "$work/tsa" "sepsis demo"
git-box-tsa --key "$work/tsa/tsa.key" --cert "$work/tsa/tsa.pem" --port 0 \
	--port-file "$work/tsa/port" 2>"$work/tsa/log" &
tsa_pid=$!
n=0
while ! test -s "$work/tsa/port" && test $n -lt 100; do sleep 0.1; n=$((n + 1)); done
tsa_url="http://127.0.0.1:$(cat "$work/tsa/port")/"
echo "git-box-tsa listens on $tsa_url"
init=$(git rev-parse HEAD)
if git notes --ref=box list "$init" >/dev/null 2>&1; then
	step git box timestamp "$init" --tsa "$tsa_url" --tsa-ca "$work/tsa/ca.pem"
	step git cat-file tag box/init-1
	echo "Anyone can check it with stock tools:"
	git cat-file tag box/init-1 |
		sed -n '/^-----BEGIN RFC3161/,/^-----END RFC3161/p' | sed '1d;$d' |
		openssl base64 -d -out "$work/init.tsr"
	git notes --ref=box show "$init" | sed '/^-----BEGIN PGP SIGNATURE-----$/,$d' >"$work/init.json"
	step openssl ts -verify -data "$work/init.json" -in "$work/init.tsr" -CAfile "$work/tsa/ca.pem"
else
	echo "(the init commit carries no manifest note yet: nothing to timestamp)"
fi
kill "$tsa_pid"
wait "$tsa_pid" || :
tsa_pid=

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
step git add input/enrolment.csv || true
step git box restore input/enrolment.csv
step git box status

echo "== Every event is a manifest in refs/notes/box, chained and signed"
step git box checkpoint -m "first look at the primary endpoint"
step git box seal -m "Final analysis: mean SOFA score per arm"
step git box log

echo
echo "== A second analyst clones the box and sets up the clone"
cd "$work"
step git clone -q sepsis-2026 review
cd review
step git box status
step git box install
step git fetch -q
step git box status --json

echo
echo "== The reviewer co-signs the seal and pushes the signature back"
git config user.signingKey "$reviewer"
step git box sign --role reviewer --reason "results checked against the analysis plan"
step git push -q origin refs/notes/box
cd "$work/sepsis-2026"
step git box status

echo
echo "== Anyone checks the seal with stock gpg, without git box's say-so"
step sh -c 'git box show --payload >../m.json && git box show --signatures >../m.asc'
step gpg --verify-options show-notations --verify ../m.asc ../m.json

echo
echo "Demo done: a box sealed by its analyst and co-signed by its reviewer."

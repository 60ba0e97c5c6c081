#!/bin/sh
# The git box story, end to end, in a temporary folder over the sample data
# in contrib/demo/data. Run by `make demo`.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/build:$PATH"
MANPATH="$top/build/man:"
export PATH MANPATH
work=$(mktemp -d "${TMPDIR:-/tmp}/git-box-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HOME="$work/home" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name "Demo Analyst"
git config --global user.email "analyst@example.org"
git config --global init.defaultBranch main

step () {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

cd "$work"
echo "== A box over the sepsis study's data, in $work"
step git box init sepsis-2026 --name sepsis-2026 \
	--from "$top/contrib/demo/data/enrolment.csv" \
	--from "$top/contrib/demo/data/outcomes.csv" \
	--from "$top/contrib/demo/data/sites"
cd sepsis-2026
step git box status
step ls -l input
step cat .gitattributes

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

echo
echo "== A second analyst clones the box and sets up the clone"
cd "$work"
step git clone -q sepsis-2026 review
cd review
step git box status
step git box install
step git box status --json

echo
echo "Demo done: the box, its policy, its hooks and its filter are in place."

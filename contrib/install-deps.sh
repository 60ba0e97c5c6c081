#!/bin/sh
# Install the Debian packages git box needs to build, test and run the demo.
# As root: installs what is missing. Otherwise: prints what to install.
set -e

# time: peak memory in the filter's tests; git-lfs: a peer in bench/;
# jq: the tests read the JSON reports with it.
packages="build-essential pkgconf git gnupg openssl ca-certificates
libgit2-dev libssl-dev libgpgme-dev libyaml-dev libarchive-dev
libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev
check sharness perl asciidoctor man-db zstd curl python3 time git-lfs strace jq"

missing=
for p in $packages; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
test -z "$missing" && exit 0

if test "$(id -u)" != 0; then
	echo >&2 "error: these packages are missing:$missing"
	echo >&2 "hint: as root, run: apt-get install$missing"
	exit 2
fi
echo "Installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

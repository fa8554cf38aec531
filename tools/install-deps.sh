#!/bin/sh
# Installs what building and testing tcplens needs on Debian 12 (as root).
# Does nothing when everything is there already. clang and its runtime
# (libFuzzer, whose package is only recommended) are for the fuzz session;
# chromium, its driver and Selenium for tests/html-browser.sh; clang-format
# for tools/check-format.sh. The compression libraries read compressed
# captures (each optional to configure); their command-line tools make
# tests/compressed.sh's files. GNU parallel runs docs/scale-out.md's
# recipe in tests/merge.sh; python3-yaml reads docs/scale-out/'s Kubernetes
# Job in tests/scale-out-recipes.sh.
set -eu
pkgs="gcc make autoconf automake pkg-config libpcap-dev libjansson-dev
      zlib1g-dev libzstd-dev liblz4-dev liblzma-dev gzip zstd lz4 xz-utils
      tcpdump iproute2 nftables ethtool python3 python3-yaml tshark python3-jsonschema
      clang libclang-rt-14-dev clang-format valgrind parallel
      chromium chromium-driver python3-selenium"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
    exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

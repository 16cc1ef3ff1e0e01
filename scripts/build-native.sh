#!/usr/bin/env bash
# Builds Gatehouse's native code and packages the Windows credential provider.
#
#   bash scripts/build-native.sh          build: Linux tools + tests, both DLLs, export check, zip
#   bash scripts/build-native.sh test     run the native unit tests (builds first)
#   bash scripts/build-native.sh smoke    run the DLL smoke test under wine64 (builds first)
#   bash scripts/build-native.sh all      build, test and smoke
#
# Outputs: native/build/linux/{gatehouse-native-tests,gatehouse-pipe-client}
#          native/build/win64/{gatehouse-credential-provider-x64.dll,gatehouse-smoke.exe,gatehouse-pipe-client.exe}
#          native/build/win32/gatehouse-credential-provider-x86.dll
#          dist/windows/gatehouse-credential-provider.zip
# Needs Debian's cmake, g++, mingw-w64 and zip (and wine64 for `smoke`); a missing tool stops the
# build with the package to install. Builds are incremental: a second run only relinks what changed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NATIVE="$ROOT/native"
BUILD="$NATIVE/build"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
MODE="${1:-build}"

die() {
  echo "build-native: $*" >&2
  exit 1
}

need() {  # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install the Debian package '$2' (apt-get install $2)"
}

check_tools() {
  need cmake cmake
  need g++ g++
  need make make
  need x86_64-w64-mingw32-g++-posix mingw-w64
  need i686-w64-mingw32-g++-posix mingw-w64
  need x86_64-w64-mingw32-objdump mingw-w64
  need zip zip
}

configure() {  # configure DIR [cmake args...]
  local dir="$1"
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$NATIVE" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 ||
      { cat "$dir.configure.log" >&2; die "cmake configure failed for $dir"; }
  fi
}

compile() {  # compile DIR [targets...]
  local dir="$1"
  shift
  local args=()
  for t in "$@"; do args+=(--target "$t"); done
  cmake --build "$dir" -j "$JOBS" "${args[@]}" >"$dir.build.log" 2>&1 || { tail -n 60 "$dir.build.log" >&2; die "build failed in $dir (full log: $dir.build.log)"; }
}

check_exports() {  # check_exports DLL
  local dll="$1" dump
  dump="$(x86_64-w64-mingw32-objdump -p "$dll")" || die "objdump cannot read $dll"
  for sym in DllGetClassObject DllCanUnloadNow DllRegisterServer DllUnregisterServer; do
    grep -Eq "\] $sym\$" <<<"$dump" || die "$dll does not export $sym"
  done
  # Statically linked: LogonUI must not need the MinGW runtime DLLs.
  if grep -Eiq "DLL Name: (libstdc\+\+|libgcc_s|libwinpthread)" <<<"$dump"; then
    die "$dll imports a MinGW runtime DLL: $(grep -Ei 'DLL Name: (libstdc|libgcc|libwinpthread)' <<<"$dump" | tr -d '\t')"
  fi
  echo "exports ok: $(basename "$dll") ($(grep 'DLL Name:' <<<"$dump" | awk '{print $3}' | tr '\n' ' '))"
}

package() {
  local stage="$BUILD/package" out="$ROOT/dist/windows/gatehouse-credential-provider.zip"
  rm -rf "$stage"
  mkdir -p "$stage" "$ROOT/dist/windows"
  cp "$BUILD/win64/gatehouse-credential-provider-x64.dll" "$BUILD/win32/gatehouse-credential-provider-x86.dll" \
    "$BUILD/win64/gatehouse-pipe-client.exe" "$stage/"
  cp "$NATIVE"/packaging/*.bat "$NATIVE"/packaging/*.reg "$NATIVE/packaging/gatehouse-agent.xml" "$NATIVE/packaging/README.md" "$stage/"
  # Windows tools want CRLF in scripts, .reg and text files.
  for f in "$stage"/*.bat "$stage"/*.reg "$stage"/*.xml "$stage"/README.md; do
    sed -i 's/\r$//; s/$/\r/' "$f"
  done
  touch -d '2000-01-01 00:00:00Z' "$stage"/*
  rm -f "$out"
  (cd "$stage" && zip -q -X -D "$out" ./*) || die "zip failed"
  echo "packaged $out"
}

build() {
  check_tools
  mkdir -p "$BUILD"
  configure "$BUILD/linux"
  compile "$BUILD/linux"
  configure "$BUILD/win64" -DCMAKE_TOOLCHAIN_FILE="$NATIVE/cmake/mingw-x64.cmake"
  compile "$BUILD/win64"
  configure "$BUILD/win32" -DCMAKE_TOOLCHAIN_FILE="$NATIVE/cmake/mingw-x86.cmake"
  compile "$BUILD/win32" gatehouse-credential-provider
  check_exports "$BUILD/win64/gatehouse-credential-provider-x64.dll"
  check_exports "$BUILD/win32/gatehouse-credential-provider-x86.dll"
  package
}

run_tests() {
  "$BUILD/linux/gatehouse-native-tests"
}

find_wine() {
  if command -v wine64 >/dev/null 2>&1; then command -v wine64
  elif [ -x /usr/lib/wine/wine64 ]; then echo /usr/lib/wine/wine64
  else die "wine64 not found: install the Debian package 'wine64' (apt-get install wine64)"
  fi
}

smoke() {
  local wine prefix log rc=0
  wine="$(find_wine)"
  prefix="${GATEHOUSE_WINEPREFIX:-$BUILD/wine-prefix}"
  log="$BUILD/smoke.log"
  export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
  unset DISPLAY
  if [ ! -f "$prefix/system.reg" ]; then
    # First start creates the prefix (30-60 s on a slow machine); later runs reuse it.
    echo "creating the Wine prefix $prefix (first run only)..."
    mkdir -p "$prefix"
    timeout 240 "$wine" wineboot --init >"$BUILD/wineboot.log" 2>&1 </dev/null || { cat "$BUILD/wineboot.log" >&2; die "wineboot failed"; }
  fi
  # stdout to a file: wineserver outlives wine and must not hold our caller's pipe open.
  (cd "$BUILD/win64" && timeout 180 "$wine" gatehouse-smoke.exe gatehouse-credential-provider-x64.dll) >"$log" 2>&1 </dev/null || rc=$?
  local server
  server="$(dirname "$wine")/wineserver"
  [ -x "$server" ] || server="$(command -v wineserver || true)"
  [ -n "$server" ] && "$server" -k >/dev/null 2>&1 </dev/null || true
  tr -d '\r' <"$log"
  [ "$rc" -eq 0 ] || die "smoke test failed (exit $rc)"
}

case "$MODE" in
  build) build ;;
  test) build && run_tests ;;
  smoke) build && smoke ;;
  all) build && run_tests && smoke ;;
  *) die "unknown mode '$MODE' (build, test, smoke, all)" ;;
esac

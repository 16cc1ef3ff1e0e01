#!/usr/bin/env bash
# Builds Gatehouse's native code and packages the Windows credential provider.
#
#   bash scripts/build-native.sh          build: Linux tools + tests, both DLLs, the service, export check, zip, MSI
#   bash scripts/build-native.sh test     run the native unit tests (builds first)
#   bash scripts/build-native.sh smoke    run the DLL smoke test under wine64 (builds first): the x64
#                                         DLL always; the x86 DLL only where Wine can run 32-bit
#                                         programs (wine32:i386 or a WoW64 Wine), else one line says
#                                         it was not run and why
#   bash scripts/build-native.sh all      build, test and smoke
#
# Outputs: native/build/linux/{gatehouse-native-tests,gatehouse-pipe-client}
#          native/build/win64/{gatehouse-credential-provider-x64.dll,gatehouse-service.exe,gatehouse-smoke.exe,gatehouse-pipe-client.exe,gatehouse-pipe-acl.exe}
#          native/build/win32/{gatehouse-credential-provider-x86.dll,gatehouse-smoke.exe}
#          dist/windows/gatehouse-credential-provider.zip, dist/windows/gatehouse-windows.msi
# Needs Debian cmake, g++, mingw-w64, zip and wixl (and wine64 for `smoke`); a missing tool stops the
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
  need wixl wixl
  need msibuild msitools
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
    "$BUILD/win64/gatehouse-pipe-client.exe" "$BUILD/win64/gatehouse-service.exe" "$stage/"
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

msi() {  # the MSI (native/packaging/gatehouse.wxs), built with wixl
  local out="$ROOT/dist/windows/gatehouse-windows.msi" version
  version="$(node -p "require('$ROOT/package.json').version" 2>/dev/null || sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$ROOT/package.json" | head -n 1)"
  mkdir -p "$ROOT/dist/windows"
  # wixl takes the files' paths relative to where it runs.
  (cd "$BUILD" && wixl -a x64 -D Version="$version" -D Win64Dir=win64 -D Win32Dir=win32 -o "$out.tmp" "$NATIVE/packaging/gatehouse.wxs") >"$BUILD/wixl.log" 2>&1 ||
    { cat "$BUILD/wixl.log" >&2; die "wixl failed"; }
  # What the service writes in %ProgramData%\Gatehouse goes at uninstall. wixl does not take
  # <RemoveFile>, so its rows are added to the RemoveFile table with msibuild (msitools);
  # InstallMode 2: on uninstall.
  local f
  for f in OfflineState:offline.bin OfflineStateNew:offline.bin.new; do
    msibuild "$out.tmp" -q "INSERT INTO \`RemoveFile\` (\`FileKey\`, \`Component_\`, \`FileName\`, \`DirProperty\`, \`InstallMode\`) VALUES ('${f%%:*}', 'ServiceData', '${f#*:}', 'DATADIR', 2)" ||
      die "msibuild could not add ${f#*:} to the RemoveFile table"
  done
  mv "$out.tmp" "$out"
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
  compile "$BUILD/win32" gatehouse-credential-provider gatehouse-smoke
  check_exports "$BUILD/win64/gatehouse-credential-provider-x64.dll"
  check_exports "$BUILD/win32/gatehouse-credential-provider-x86.dll"
  package
  msi
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

# Prints why this Wine cannot run 32-bit programs, or nothing when it can: Debian's wine64 alone has
# no 32-bit side (its experimental WoW64 mode finds no syswow64\ntdll.dll); wine32:i386 (the
# /usr/lib/wine/wine loader) or a Wine built with i386 PE modules can.
wine32_missing() {
  local d
  [ -x /usr/lib/wine/wine ] && return 0
  for d in /usr/lib/i386-linux-gnu/wine /usr/lib/x86_64-linux-gnu/wine /usr/lib/wine /usr/lib64/wine; do
    [ -f "$d/i386-windows/ntdll.dll" ] && return 0
  done
  echo "this Wine cannot run 32-bit programs: no wine32 loader (/usr/lib/wine/wine) and no i386-windows/ntdll.dll (Debian: dpkg --add-architecture i386 && apt-get install wine32:i386)"
}

run_smoke() {  # run_smoke WINE DIR DLL LOG: the smoke program of DIR against DLL, output to LOG
  # stdout to a file: wineserver outlives wine and must not hold our caller's pipe open.
  (cd "$2" && timeout 180 "$1" gatehouse-smoke.exe "$3") >"$4" 2>&1 </dev/null
}

smoke() {
  local wine prefix log rc=0 rc32=0 why32
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
  echo "--- x64: gatehouse-smoke.exe gatehouse-credential-provider-x64.dll"
  run_smoke "$wine" "$BUILD/win64" gatehouse-credential-provider-x64.dll "$log" || rc=$?
  tr -d '\r' <"$log"
  echo "--- x86: gatehouse-smoke.exe gatehouse-credential-provider-x86.dll"
  why32="$(wine32_missing)"
  if [ -n "$why32" ]; then
    echo "x86 smoke test NOT RUN: $why32"
  else
    # A win64 prefix runs 32-bit programs too (SysWOW64); the wine wrapper picks the 32-bit loader.
    local wine32="$wine"
    [ -x /usr/lib/wine/wine ] && wine32=/usr/lib/wine/wine
    if [ ! -f "$prefix/drive_c/windows/syswow64/ntdll.dll" ]; then
      # The prefix was made before 32-bit Wine was installed: give it its SysWOW64 side.
      timeout 240 "$wine" wineboot --update >"$BUILD/wineboot32.log" 2>&1 </dev/null || { cat "$BUILD/wineboot32.log" >&2; die "wineboot --update failed"; }
    fi
    run_smoke "$wine32" "$BUILD/win32" gatehouse-credential-provider-x86.dll "$BUILD/smoke32.log" || rc32=$?
    tr -d '\r' <"$BUILD/smoke32.log"
  fi
  local server
  server="$(dirname "$wine")/wineserver"
  [ -x "$server" ] || server="$(command -v wineserver || true)"
  [ -n "$server" ] && "$server" -k >/dev/null 2>&1 </dev/null || true
  [ "$rc" -eq 0 ] || die "x64 smoke test failed (exit $rc)"
  [ "$rc32" -eq 0 ] || die "x86 smoke test failed (exit $rc32)"
}

case "$MODE" in
  build) build ;;
  test) build && run_tests ;;
  smoke) build && smoke ;;
  all) build && run_tests && smoke ;;
  *) die "unknown mode '$MODE' (build, test, smoke, all)" ;;
esac

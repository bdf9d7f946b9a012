#!/usr/bin/env bash
# Builds the Debian package with CPack from a configured and built tree and
# checks what is in it, without installing it:
#
#   package_test.sh BUILD_DIR SOURCE_DIR VERSION
#
# - the control fields (name, version, architecture) and Depends: adduser,
#   and a package for every shared library the binaries load;
# - exactly the expected files, with their owners and modes (the
#   environment file 0600, a conffile), and the unit and environment file
#   as they are in deploy/debian/;
# - the binaries, extracted with dpkg-deb -x, run: --help and --version.
set -euo pipefail

build=$1 source=$2 version=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# --- Build it (in $tmp: the build tree gets no _CPack_Packages) ------------
if ! (cd "$build" && cpack -G DEB -B "$tmp/out" --config CPackConfig.cmake) >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  fail "cpack -G DEB failed"
fi
debs=("$tmp"/out/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "one .deb expected, found: ${debs[*]}"
deb=${debs[0]}
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "cursord_${version}-1_${arch}.deb" ] \
  || fail "file name $(basename "$deb"), expected cursord_${version}-1_${arch}.deb"

# --- Control fields ------------------------------------------------------------
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = cursord ] || fail "Package: $(field Package)"
[ "$(field Version)" = "${version}-1" ] || fail "Version: $(field Version)"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
depends=$(field Depends)
echo "Depends: $depends"
# One dependency per line, without version constraints.
dep_names=$(tr ',|' '\n\n' <<<"$depends" | sed -e 's/(.*)//' -e 's/ //g' | grep -v '^$' | sort -u)
grep -qx adduser <<<"$dep_names" || fail "Depends lacks adduser (the postinst's)"
# Every shared library the binaries link (NEEDED) comes from a package
# named in Depends (dpkg-shlibdeps' job): found with ldd, mapped with dpkg -S.
# Their own dependencies (zlib under gRPC, ...) are theirs to declare.
dpkg-deb -x "$deb" "$tmp/root"
for bin in cursord cursorctl; do
  ldd "$tmp/root/usr/bin/$bin" > "$tmp/ldd" || fail "ldd $bin"
  ! grep -q "not found" "$tmp/ldd" || fail "$bin: $(grep 'not found' "$tmp/ldd")"
  needed=$(readelf -d "$tmp/root/usr/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  [ -n "$needed" ] || fail "$bin: no NEEDED entries read"
  for soname in $needed; do
    lib=$(awk -v so="$soname" '$1 == so && $2 == "=>" { print $3 }' "$tmp/ldd")
    [ -n "$lib" ] || fail "$bin: ldd does not resolve $soname"
    # Debian registers libraries under /lib or /usr/lib (merged /usr):
    # ask for the path as ldd gives it and, failing that, the other one.
    owner=$(dpkg -S "$lib" 2>/dev/null || dpkg -S "${lib#/usr}" 2>/dev/null \
            || dpkg -S "/usr$lib" 2>/dev/null || true)
    owner=${owner%%:*}
    [ -n "$owner" ] || fail "$bin loads $lib, which no Debian package owns"
    grep -qx "$owner" <<<"$dep_names" \
      || fail "$bin loads $lib from $owner, which Depends does not name"
  done
done

# --- Maintainer scripts and conffiles --------------------------------------------
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/default/cursord ] \
  || fail "conffiles: $(cat "$tmp/control/conffiles" 2>/dev/null)"
for script in postinst prerm postrm; do
  [ -x "$tmp/control/$script" ] || fail "no executable $script"
  cmp -s "$tmp/control/$script" "$source/deploy/debian/$script" || fail "$script differs from deploy/debian/$script"
  sh -n "$tmp/control/$script" || fail "$script: syntax"
done

# --- Files ---------------------------------------------------------------------
# "mode owner path" of every file; directories and their modes aside.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $1, $2, $6 }' | sort > "$tmp/files"
sort > "$tmp/expected" <<'EOF'
-rw------- root/root ./etc/default/cursord
-rw-r--r-- root/root ./lib/systemd/system/cursord.service
-rwxr-xr-x root/root ./usr/bin/cursorctl
-rwxr-xr-x root/root ./usr/bin/cursord
-rw-r--r-- root/root ./usr/share/doc/cursord/CONTROL_API.md
-rw-r--r-- root/root ./usr/share/doc/cursord/OPERATIONS.md
-rw-r--r-- root/root ./usr/share/doc/cursord/PROTOCOL.md
-rw-r--r-- root/root ./usr/share/doc/cursord/README.md
EOF
if ! diff -u "$tmp/expected" "$tmp/files"; then
  fail "the package's files differ from the expected ones (- expected, + found)"
fi
cmp -s "$tmp/root/lib/systemd/system/cursord.service" "$source/deploy/debian/cursord.service" \
  || fail "the unit differs from deploy/debian/cursord.service"
cmp -s "$tmp/root/etc/default/cursord" "$source/deploy/debian/cursord.default" \
  || fail "/etc/default/cursord differs from deploy/debian/cursord.default"
# Stripped: debug information has no place in the service's package.
for bin in cursord cursorctl; do
  ! readelf -S "$tmp/root/usr/bin/$bin" | grep -q '\.debug_info' || fail "$bin is not stripped"
done

# --- The binaries run ----------------------------------------------------------
"$tmp/root/usr/bin/cursord" --help > "$tmp/cursord-help" || fail "cursord --help failed"
grep -q "CURSORD_LISTEN" "$tmp/cursord-help" || fail "cursord --help does not list CURSORD_LISTEN"
[ "$("$tmp/root/usr/bin/cursord" --version)" = "$version" ] \
  || fail "cursord --version: $("$tmp/root/usr/bin/cursord" --version), expected $version"
"$tmp/root/usr/bin/cursorctl" --help > "$tmp/cursorctl-help" || fail "cursorctl --help failed"
grep -q "rooms" "$tmp/cursorctl-help" || fail "cursorctl --help does not list its subcommands"

# --- The unit, as systemd reads it (where systemd-analyze is present) ------------
# systemd-analyze verify judges the keys and values; it wants ExecStart to
# exist, so the copy it reads points at the extracted binary. It exits 0 on
# unknown keys and bad values, so any line naming the unit fails the test.
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir "$tmp/unit"
  sed "s|^ExecStart=/usr/bin/cursord|ExecStart=$tmp/root/usr/bin/cursord|" \
    "$tmp/root/lib/systemd/system/cursord.service" > "$tmp/unit/cursord.service"
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
    "$tmp/unit/cursord.service" > "$tmp/verify" 2>&1 || true
  if grep "cursord.service" "$tmp/verify"; then
    fail "systemd-analyze verify finds fault with the unit"
  fi
fi

echo "ok: $(basename "$deb"), $(wc -l < "$tmp/files") files, binaries run"

#!/bin/sh
# stage.sh OUT PROGRAM...
# Lays out in OUT the root filesystem of a FROM-scratch image: each PROGRAM
# stripped into /usr/local/bin, exactly the shared objects `ldd` lists for
# them (at the paths ldd prints, the loader included) with an ld.so.cache for
# their directories, the CA bundle, and passwd/group/nsswitch files.
# Runs inside the build stage of images/*/Containerfile.
set -eu
out="$1"
shift
mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs"
libs="$out/.libs"
: >"$libs"
for prog in "$@"; do
  strip --strip-all -o "$out/usr/local/bin/${prog##*/}" "$prog"
  if ldd "$prog" | grep -q 'not found'; then
    ldd "$prog" >&2
    echo "stage.sh: $prog: unresolved shared objects" >&2
    exit 1
  fi
  # "name => /path (addr)" lines and the loader's "/path (addr)" line; not linux-vdso
  ldd "$prog" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' >>"$libs"
done
sort -u "$libs" | while read -r so; do
  mkdir -p "$out${so%/*}"
  cp -L "$so" "$out$so"
done
# the loader's cache for the staged root (ldconfig -r: as if chrooted there):
# the library directories outside the loader's built-in ones (/usr/local/lib,
# where images/minlibs.sh installs) are found at run time only through it
mkdir -p "$out/etc"
sed 's,/[^/]*$,,' "$libs" | sort -u >"$out/etc/ld.so.conf"
ldconfig -X -r "$out"
rm -f "$libs"
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
# 10001 is the image's USER; 65532 is what the controller's rendered pods run
# as (runAsUser); both get an entry so getpwuid() (libpq's default user name) works.
cat >"$out/etc/passwd" <<'P'
flinkpg:x:10001:10001:flinkpg:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin
P
cat >"$out/etc/group" <<'G'
flinkpg:x:10001:
nonroot:x:65532:
G
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$out/etc/nsswitch.conf"

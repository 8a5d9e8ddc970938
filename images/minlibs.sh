#!/bin/sh
# minlibs.sh — runs in the build stage of images/{sink,generator,controller}/Containerfile.
# Builds from Debian's own source packages (deb-src of the image's apt sources,
# Debian's patches applied) the three libraries whose Debian builds drag in
# what flinkpg never uses, with only what flinkpg uses, into /usr/local
# (headers, .pc files, stripped shared objects; ldconfig puts /usr/local/lib
# ahead of Debian's directories):
#   libpq         postgresql-15: OpenSSL only; no LDAP, GSSAPI, ICU, readline, zlib
#   libmicrohttpd libmicrohttpd: no HTTPS (no GnuTLS; flinkpg serves plain HTTP)
#   libcurl       curl: OpenSSL and zlib only; HTTP and HTTPS only (no HTTP/2,
#                 IDN, PSL, SSH, RTMP, LDAP, GSSAPI, brotli, zstd)
# Debian's libpq5/libmicrohttpd12/libcurl4 pull in GnuTLS (+ p11-kit, nettle,
# gmp, libunistring, libidn2, libtasn1), Kerberos and OpenLDAP: ~8 MB per image.
set -eu

# deb-src next to every deb line (one-line sources.list, as made by mmdebstrap,
# or the deb822 debian.sources of Docker Hub's debian:bookworm-slim)
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sed -i 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
fi
if [ -f /etc/apt/sources.list ]; then
  sed -n 's/^deb[[:space:]]/deb-src /p' /etc/apt/sources.list >/etc/apt/sources.list.d/flinkpg-deb-src.list
fi
apt-get update
# curl's Debian patches change its configure.ac and Makefile.am: regenerate them
# as debian/rules does (libmicrohttpd's and postgresql's touch only C sources)
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends autoconf automake libtool

src=/usr/src/flinkpg-min
mkdir -p "$src"
cd "$src"
# the newest version the mirror serves (a mirror may list bookworm-security's
# source package and not carry its files: then bookworm's, with a warning)
get_source() {
  for v in $(apt-cache showsrc "$1" | sed -n 's/^Version: //p' | sort -u -r -V); do
    if apt-get source --only-source "$1=$v"; then
      echo "minlibs.sh: $1 $v" >&2
      return 0
    fi
    echo "minlibs.sh: WARNING: $1 $v is listed but cannot be downloaded; trying an older version" >&2
  done
  echo "minlibs.sh: no source of $1 can be downloaded" >&2
  return 1
}
for p in postgresql-15 libmicrohttpd curl; do get_source "$p"; done
rm -rf /var/lib/apt/lists/*

# Debian's hardening flags (-O2, stack protector, _FORTIFY_SOURCE, relro)
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
jobs="$(nproc)"

# ---- libpq (src/interfaces/libpq and the client headers only) ----------------
cd "$src"/postgresql-15-*/
./configure --prefix=/usr/local --with-ssl=openssl --without-ldap --without-gssapi \
  --without-icu --without-readline --without-zlib --without-pam --disable-nls \
  --with-system-tzdata=/usr/share/zoneinfo >/dev/null
make -s -j"$jobs" -C src/interfaces/libpq
make -s -C src/interfaces/libpq install
make -s -C src/include install

# ---- libmicrohttpd -------------------------------------------------------------
cd "$src"/libmicrohttpd-*/
./configure --prefix=/usr/local --disable-https --disable-curl --disable-doc \
  --disable-examples --disable-static --disable-nls >/dev/null
make -s -j"$jobs"
make -s install

# ---- libcurl (lib/, headers, libcurl.pc; not the curl tool) -------------------
cd "$src"/curl-*/
# the OpenSSL flavour (libcurl4) is built, as in debian/rules, without the last
# two patches of the series (they rename the library for the NSS and GnuTLS flavours)
patch -R -s -p1 <debian/patches/99_nss.patch
patch -R -s -p1 <debian/patches/90_gnutls.patch
autoreconf -fi >/dev/null 2>&1
./configure --prefix=/usr/local --disable-static \
  --with-openssl --with-zlib --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
  --without-libpsl --without-librtmp --without-libssh2 --without-libssh --without-gssapi \
  --without-nghttp2 --without-nghttp3 --without-ngtcp2 --without-brotli --without-zstd \
  --without-libidn2 --without-libgsasl --disable-ldap --disable-ldaps \
  --enable-http --disable-ftp --disable-file --disable-dict --disable-telnet --disable-tftp \
  --disable-pop3 --disable-imap --disable-smtp --disable-gopher --disable-mqtt --disable-rtsp \
  --disable-smb --disable-manual --disable-docs --enable-threaded-resolver >/dev/null
make -s -j"$jobs" -C lib
make -s -C lib install
make -s -C include install
make -s install-pkgconfigDATA

strip --strip-unneeded /usr/local/lib/libpq.so.5.* /usr/local/lib/libmicrohttpd.so.12.* \
  /usr/local/lib/libcurl.so.4.*
rm -rf "$src"
ldconfig

#!/usr/bin/env bash
# Installs the Debian packages the product and its tests use (mail and DNS daemons,
# Redis, Chromium). Root only; packages must not start system daemons: tests and the
# run command start private instances on loopback.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "install-system-packages: not root, skipping apt (daemon-backed features need: dovecot postfix postfix-sqlite opendkim knot redis-server; building pymilter needs libmilter-dev gcc python3-dev)" >&2
  exit 0
fi
packages=(dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-managesieved
          dovecot-sqlite dovecot-pgsql postfix postfix-sqlite postfix-pgsql knot knot-dnsutils
          redis-server opendkim opendkim-tools
          libmilter-dev gcc python3-dev
          python3-venv openssl gettext)
[ "${WITH_BROWSER:-1}" = 1 ] && packages+=(chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
export DEBIAN_FRONTEND=noninteractive
# A policy-rc.d that refuses keeps the packages from starting system daemons.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
exit 0

#!/usr/bin/env bash
# The Debian packages the tests drive for real: nginx with the njs module (gateway tests),
# ShellCheck for rendered shell, cloud-init (user-data schema), systemd (systemd-analyze verify),
# prometheus (scrapes the gateway's metrics in test/gateway/usage-prometheus.test.ts; promtool checks prometheus.yml).
# Installs them with apt-get when missing and running as root; otherwise prints the command and fails.
set -euo pipefail

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_js_module.so ] || missing+=(libnginx-mod-http-js)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v cloud-init >/dev/null 2>&1 || missing+=(cloud-init)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests need: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start nginx on :80 and prometheus on :9090 where they can; the tests run their own.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx prometheus >/dev/null 2>&1 || true; fi
  nginx -s stop >/dev/null 2>&1 || true
  exit 0
fi
echo "missing: ${missing[*]}" >&2
echo "install them with: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
exit 1

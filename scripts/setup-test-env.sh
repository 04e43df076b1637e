#!/usr/bin/env bash
# Installs and starts what the tests need on a fresh Debian machine: the Docker engine, Chromium,
# docker-compose (benchmark baseline), git with ssh-keygen and gpg (signed commits), sshd, socat and
# openssl (remote engines) and the local
# busybox image (no registry is reachable here).
# Idempotent: each step is skipped when already done.
set -euo pipefail

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
dpkg -s busybox-static >/dev/null 2>&1 || need_apt+=(busybox-static)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
command -v git >/dev/null 2>&1 || need_apt+=(git)
# Signed-commit tests make keys and sign commits as a user would: ssh-keygen, and gpg with its agent.
command -v ssh-keygen >/dev/null 2>&1 || need_apt+=(openssh-client)
command -v gpg >/dev/null 2>&1 || need_apt+=(gpg)
command -v gpg-agent >/dev/null 2>&1 || need_apt+=(gpg-agent)
# Remote engines (issue 15): an SSH server on a loopback port and a TLS listener in front of the socket.
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v socat >/dev/null 2>&1 || need_apt+=(socat)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" != 0 ]; then echo "setup: need root for apt-get; run as root or install: ${need_apt[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The Debian client at /usr/bin/docker matches the daemon; a newer client earlier on PATH may not.
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=docker

if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  echo $! >/run/mooring-test-dockerd.pid
  for _ in $(seq 1 100); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.2
  done
  "$DOCKER" info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
fi

if ! "$DOCKER" image inspect local/busybox:1 >/dev/null 2>&1; then
  echo "setup: making local/busybox:1 from busybox-static"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/var/www"
  cp /bin/busybox "$root/bin/busybox"
  for app in sh ash cat echo env ls sleep httpd wget true false printf id grep mkdir rm test date hostname ps kill nc; do
    ln -s busybox "$root/bin/$app"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  tar -C "$root" -c . | "$DOCKER" import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - local/busybox:1 >/dev/null
  rm -rf "$root"
fi
echo "setup: docker $("$DOCKER" version --format '{{.Server.Version}}' 2>/dev/null), chromium $(chromium --version 2>/dev/null | awk '{print $2}'), local/busybox:1 ready"

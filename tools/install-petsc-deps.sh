#!/usr/bin/env sh
# Debian packages that PETSc and mpi4py are built against: BLAS, LAPACK and MPICH.
# Installs only what is missing; `make petsc` (and so `make test`) runs it first.
set -eu
pkgs="libblas-dev liblapack-dev mpich libmpich-dev"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "PETSc needs BLAS, LAPACK and MPICH (Debian:$missing): install them with your" \
         "package manager, or run 'make test PETSC=0' to test without PETSc" >&2
    exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing$missing (Debian packages for PETSc)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -q --no-install-recommends $missing \
    || { $sudo apt-get update -q && $sudo apt-get install -y -q --no-install-recommends $missing; }

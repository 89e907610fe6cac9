#!/bin/sh
# Install buylist from its source into a new venv, every distribution pinned by constraints.txt:
#   install.sh <venv> <source-dir>
# The backend image's builder stage runs this, and so does tests/chart/test_images.py: the test installs exactly what
# the image installs. PYTHON names the interpreter (default python3: the base image's /usr/local/bin/python3).
# POSIX sh: the slim base image has no bash.
set -eu

usage="usage: install.sh <venv> <source-dir>"
venv=${1:?$usage}
src=${2:?$usage}
constraints="$(cd "$(dirname "$0")" && pwd)/constraints.txt"

"${PYTHON:-python3}" -m venv "$venv"
pip() {
  "$venv/bin/python" -m pip --disable-pip-version-check --no-input "$@"
}
# The build backend comes from the lock too: an isolated build would fetch whatever setuptools is newest that day.
pip install --progress-bar off -c "$constraints" setuptools
pip install --progress-bar off --no-build-isolation -c "$constraints" "$src"
# The venv keeps only buylist and its closure.
pip uninstall -y setuptools
pip check

#!/usr/bin/env bash
# Install what buylist needs, idempotently and cached:
#   install.sh [venv|kafka|ferretdb|system|chromium|helm|checkov|bench|all]...
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need() {  # need <command> <how to get it>
  command -v "$1" >/dev/null 2>&1 || die "'$1' is missing. $2"
}

check_java() {
  need java "Install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless)."
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ {print $2}')
  [[ ${major%%.*} -ge 17 ]] || die "Java $major found; Kafka 4 needs Java 17+ (apt-get install openjdk-17-jre-headless)."
}

install_venv() {
  need python3 "Install Python 3.11+ (Debian: apt-get install python3 python3-venv)."
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ is required."
  local stamp="$BUYLIST_VENV/.buylist-stamp" want
  want=$(cat "$BUYLIST_ROOT/apps/pyproject.toml" "$BUYLIST_ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
  if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
    say "python venv: up to date ($BUYLIST_VENV)"
    return
  fi
  say "python venv: installing apps and test tools into $BUYLIST_VENV"
  [[ -x $BUYLIST_VENV/bin/python ]] || python3 -m venv "$BUYLIST_VENV"
  with_progress "pip install" "$BUYLIST_VENV/bin/pip" install --disable-pip-version-check -q \
    -r "$BUYLIST_ROOT/requirements-dev.txt" -e "$BUYLIST_ROOT/apps"
  echo "$want" >"$stamp"
}

install_kafka() {
  check_java
  if [[ -f $KAFKA_LIBS/.complete ]]; then
    say "kafka $KAFKA_VERSION: cached ($KAFKA_LIBS)"
    return
  fi
  need mvn "Install Maven to fetch the Kafka jars (Debian: apt-get install maven)."
  say "kafka $KAFKA_VERSION: fetching broker jars from Maven Central"
  rm -rf "$KAFKA_LIBS"
  mkdir -p "$KAFKA_LIBS"
  with_progress "mvn dependency:copy-dependencies" mvn -B -q -f "$BUYLIST_ROOT/scripts/kafka/pom.xml" \
    -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies
  touch "$KAFKA_LIBS/.complete"
  say "kafka $KAFKA_VERSION: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars"
}

install_ferretdb() {
  if [[ -x $FERRETDB_BIN ]]; then
    say "ferretdb $FERRETDB_VERSION: cached ($FERRETDB_BIN)"
    return
  fi
  need go "Install Go 1.24+ (https://go.dev/doc/install) to build FerretDB."
  command -v patch >/dev/null || apt_install patch
  say "ferretdb $FERRETDB_VERSION: building from its Go module (a few minutes the first time)"
  # `go install ...@version` builds a binary that panics at start: FerretDB embeds
  # build/version/version.txt, which its release tooling writes and the module zip lacks.
  # So: download the module, add that one file, apply buylist's patches (scripts/ferretdb/, each says why) and
  # build its cmd/ferretdb.
  local src build patch
  src=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d $src ]] || die "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed"
  build=$(mktemp -d)
  cp -r "$src/." "$build/"
  chmod -R u+w "$build"
  echo "$FERRETDB_VERSION" >"$build/build/version/version.txt"
  for patch in "$BUYLIST_ROOT"/scripts/ferretdb/*.patch; do
    patch --quiet --forward -p1 -d "$build" <"$patch" || die "$patch does not apply to FerretDB $FERRETDB_VERSION"
  done
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  with_progress "go build ./cmd/ferretdb" go -C "$build" build -trimpath -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  rm -rf "$build"
}

install_bench() {
  if command -v wrk >/dev/null 2>&1; then
    say "wrk: present"
  else
    say "wrk: installing Debian's wrk (the benchmark's load generator)"
    apt_install wrk
  fi
}

install_helm() {
  if [[ -x $HELM_BIN ]]; then
    say "helm $HELM_VERSION: cached ($HELM_BIN)"
    return
  fi
  need go "Install Go 1.24+ (https://go.dev/doc/install) to build helm."
  say "helm $HELM_VERSION: building with go install"
  mkdir -p "$(dirname "$HELM_BIN")"
  with_progress "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    env GOBIN="$(dirname "$HELM_BIN")" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

install_checkov() {
  if [[ -x $CHECKOV_VENV/bin/checkov ]]; then
    say "checkov $CHECKOV_VERSION: cached ($CHECKOV_VENV)"
    return
  fi
  say "checkov $CHECKOV_VERSION: installing into a venv of its own"
  rm -rf "$CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  with_progress "pip install checkov==$CHECKOV_VERSION" \
    "$CHECKOV_VENV/bin/pip" install --disable-pip-version-check -q "checkov==$CHECKOV_VERSION"
}

apt_install() {  # apt_install <package>... : install Debian packages whose commands are missing
  need apt-get "Install these packages with your system's package manager: $*"
  local sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  if [[ ! -f $BUYLIST_CACHE/.apt-updated ]] || [[ -n $(find "$BUYLIST_CACHE/.apt-updated" -mmin +1440) ]]; then
    with_progress "apt-get update" "${sudo[@]}" apt-get update -q
    mkdir -p "$BUYLIST_CACHE" && touch "$BUYLIST_CACHE/.apt-updated"
  fi
  with_progress "apt-get install $*" env DEBIAN_FRONTEND=noninteractive \
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@"
}

install_system() {
  local missing=()
  [[ -x /usr/bin/prometheus ]] || missing+=(prometheus)
  [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
  if ((${#missing[@]})); then
    say "system packages: installing ${missing[*]}"
    apt_install "${missing[@]}"
    # Debian starts the packaged daemons; buylist runs its own copies on its own ports.
    for svc in "${missing[@]}"; do
      if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
      pkill -x "$svc" 2>/dev/null || true
    done
  else
    say "system packages: prometheus and nginx present"
  fi
}

install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    say "chromium: present"
  else
    say "chromium: installing Debian's chromium for the browser tests"
    apt_install chromium
  fi
}

preflight() {  # name every missing prerequisite at once, before installing anything
  local missing=()
  command -v python3 >/dev/null || missing+=("python3 3.11+ (Debian: apt-get install python3 python3-venv)")
  command -v curl >/dev/null || missing+=("curl (Debian: apt-get install curl)")
  if [[ ! -f $KAFKA_LIBS/.complete ]] || ! command -v java >/dev/null; then
    command -v java >/dev/null || missing+=("java 17+ to run Kafka (Debian: apt-get install openjdk-17-jre-headless)")
    [[ -f $KAFKA_LIBS/.complete ]] || command -v mvn >/dev/null \
      || missing+=("mvn to fetch the Kafka jars (Debian: apt-get install maven)")
  fi
  [[ -x $FERRETDB_BIN ]] || command -v go >/dev/null \
    || missing+=("go 1.24+ to build FerretDB (https://go.dev/doc/install)")
  if [[ ! -x /usr/bin/prometheus || ! -x /usr/sbin/nginx ]] && ! command -v apt-get >/dev/null; then
    missing+=("apt-get to install prometheus and nginx (or install both with your package manager)")
  fi
  if ((${#missing[@]})); then
    printf '\033[1;31merror:\033[0m missing prerequisites:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
}

main() {
  local parts=("$@")
  ((${#parts[@]})) || parts=(all)
  for part in "${parts[@]}"; do
    case $part in
      venv) install_venv ;;
      kafka) install_kafka ;;
      ferretdb) install_ferretdb ;;
      system) install_system ;;
      chromium) install_chromium ;;
      helm) install_helm ;;
      bench) install_bench ;;
      checkov) install_checkov ;;
      all) preflight; install_venv; install_kafka; install_ferretdb; install_system ;;
      *) die "unknown part '$part' (venv, kafka, ferretdb, system, chromium, helm, checkov, bench, all)" ;;
    esac
  done
}

main "$@"

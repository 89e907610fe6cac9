"""Both images' recipes, checked without a container engine.

No image can be built here (no Docker engine, no registry). So hadolint lints both Dockerfiles, and their steps are
replayed into a scratch directory standing for the image's root:
- backend: the builder stage's COPY lines (filtered by apps/.dockerignore) and its RUN, which is apps/docker/install.sh,
  build the venv from the lock with the base image's Python version; then each component is started the way the image
  starts it (its ENTRYPOINT and ENV, a HOME that does not exist, /tmp as the only writable place) against a Kafka and a
  MongoDB nobody listens on.
- frontend: its RUN and COPY lines are applied to a replica of nginx-unprivileged's layout, the templates rendered the
  way that image's entrypoint renders them (envsubst, NGINX_ENVSUBST_FILTER), and Debian's nginx checks and serves
  the result.
What only a real build shows: the base images themselves (CPython on Debian 12, nginx on Alpine), file ownership and
the USER switch, and a filesystem that is really read-only (here: nothing outside /tmp may change).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import pytest
import requests

from buylist.common.settings import COMPONENTS, Settings
from tests.support.processes import ROOT, VENV_BIN, Process, free_port

pytestmark = pytest.mark.chart

APPS = ROOT / "apps"
FRONTEND = APPS / "frontend"
DOCKERFILES = (APPS / "Dockerfile", FRONTEND / "Dockerfile")
DEFAULT_PORTS = {"customer-facing": 3000, "customer-management-api": 3001, "customer-management-worker": 3002}
# The image's /tmp (a mounted emptyDir in the cluster), mapped into each scratch root like every image path.
IMAGE_TMP = "/tmp"  # noqa: S108 - a path inside the image, never this machine's /tmp
# nginx variables the server block uses: set as environment variables, they must still reach nginx unsubstituted.
NGINX_VARIABLES = ("request_uri", "buylist_upstream_uri", "uri", "request_id", "proxy_add_x_forwarded_for", "scheme")


# --- reading a Dockerfile ---------------------------------------------------------------------------------------


@dataclass
class Stage:
    """One FROM ... section: its base image, name and instructions as (KEYWORD, text) pairs."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        """Return the text of every instruction with this keyword."""
        return [text for kw, text in self.instructions if kw == keyword]

    def last(self, keyword: str) -> str:
        """Return the text of the last instruction with this keyword."""
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage FROM {self.base}"
        return found[-1]


def substitute(text: str, variables: dict[str, str]) -> str:
    """Expand $NAME and ${NAME} as Docker does for ARG and ENV values."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], ""), text)


def key_values(text: str, variables: dict[str, str]) -> dict[str, str]:
    """Parse the KEY=value pairs of an ENV, LABEL or ARG instruction."""
    pairs = {}
    for token in shlex.split(text):
        key, _, value = token.partition("=")
        pairs[key] = substitute(value, variables)
    return pairs


def parse_dockerfile(path: Path) -> list[Stage]:
    """Split a Dockerfile into stages, joining continued lines and expanding the ARGs declared before FROM."""
    lines: list[str] = []
    current = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        lines.append((current + line).strip())
        current = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, text = line.partition(" ")
        keyword, text = keyword.upper(), text.strip()
        if keyword == "ARG" and not stages:
            global_args |= key_values(text, global_args)
        elif keyword == "FROM":
            base, _, name = substitute(text, global_args).partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        else:
            stages[-1].instructions.append((keyword, text))
    return stages


def dockerignore(context: Path) -> Callable[[str], bool]:
    """Return whether a context-relative path is sent to the builder, per the context's .dockerignore.

    Docker's rules: the last matching pattern wins, `!` re-includes, a pattern matching a directory matches all
    below it, `**` spans directories.
    """
    patterns: list[tuple[bool, re.Pattern[str]]] = []
    for raw in (context / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        regex = ""
        pattern = line.removeprefix("!").strip().strip("/")
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                regex, i = regex + "(?:.*/)?", i + 3
            elif pattern.startswith("**", i):
                regex, i = regex + ".*", i + 2
            elif pattern[i] == "*":
                regex, i = regex + "[^/]*", i + 1
            elif pattern[i] == "?":
                regex, i = regex + "[^/]", i + 1
            elif pattern[i] == "[":
                end = pattern.index("]", i)
                regex, i = regex + pattern[i : end + 1], end + 1
            else:
                regex, i = regex + re.escape(pattern[i]), i + 1
        patterns.append((not line.startswith("!"), re.compile(regex)))

    def sent(relative: str) -> bool:
        parts = relative.split("/")
        candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
        excluded = False
        for exclude, regex in patterns:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                excluded = exclude
        return not excluded

    return sent


# --- replaying it into a scratch root -----------------------------------------------------------------------------


@dataclass
class Scratch:
    """A directory standing for an image's root filesystem."""

    root: Path

    def path(self, image_path: str) -> Path:
        """Return where an absolute path of the image lives in the scratch root."""
        return self.root / image_path.lstrip("/")

    def remap_shell(self, command: str) -> str:
        """Point every absolute path in a shell command into the scratch root; refuse a command that would escape."""
        remapped = re.sub(r"(?<![\w.:/-])/(?=[\w.-])", str(self.root) + "/", command)
        for path in re.findall(r"(?<![\w.:/-])/[\w./-]+", remapped):
            assert path.startswith(str(self.root)), f"{path} in {command!r} escapes the scratch root"
        return remapped


def copy_instruction(text: str, context: Path, sent: Callable[[str], bool], scratch: Scratch, workdir: str) -> None:
    """Apply `COPY src... dest` from the build context, as filtered by .dockerignore."""
    *sources, dest = shlex.split(text)
    assert not [s for s in sources if s.startswith("--")], f"COPY {text}: flags are not replayed here"
    dest_path = scratch.path(os.path.join(workdir, dest))
    copied = 0
    for source in sources:
        origin = context / source.rstrip("/")
        files = [p for p in origin.rglob("*") if p.is_file()] if origin.is_dir() else [origin]
        for file in files:
            if not sent(file.relative_to(context).as_posix()):
                continue
            if origin.is_dir():
                target = dest_path / file.relative_to(origin)
            else:
                target = dest_path / file.name if dest.endswith("/") else dest_path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
            copied += 1
    assert copied, f"COPY {text} copied nothing: is it excluded by {context}/.dockerignore?"


def image_python(base: str) -> str:
    """Return an interpreter of the base image's Python minor version, or this one when the machine has none."""
    version = re.fullmatch(r"python:(\d+\.\d+)\.\d+-slim-bookworm", base)
    assert version, f"the backend base must be an exact python:<x.y.z>-slim-bookworm tag, got {base}"
    minor = version[1]
    pyenv = os.path.expanduser(os.environ.get("PYENV_ROOT", "~/.pyenv"))
    candidates = [
        os.environ.get("BUYLIST_IMAGE_PYTHON", ""),
        *sorted(glob.glob(f"{pyenv}/versions/{minor}.*/bin/python{minor}"), reverse=True),
        shutil.which(f"python{minor}") or "",
        f"/usr/bin/python{minor}",
    ]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == minor:
            return candidate
    return sys.executable


@dataclass
class BackendImage:
    """The replayed backend image: its scratch root and the runtime stage's metadata."""

    scratch: Scratch
    python: str
    env: dict[str, str]
    user: str
    exposed: list[str]
    entrypoint: list[str]
    labels: dict[str, str]
    stages: list[Stage]

    def command(self, component: str) -> list[str]:
        """Return the argv the image runs for a component, its entrypoint resolved on the image's PATH."""
        program = shutil.which(self.entrypoint[0], path=self.env["PATH"])
        assert program, f"{self.entrypoint[0]} is not on the image's PATH {self.env['PATH']}"
        assert program.startswith(str(self.scratch.root)), f"{program} is not the image's"
        return [program, *self.entrypoint[1:], component]

    def component_env(self, component: str, port: int, dead_port: int) -> dict[str, str]:
        """Return the container's environment: the image's ENV and what the chart would set, dependencies down."""
        return {
            **self.env,
            "HOME": str(self.scratch.path("/nonexistent")),
            "TMPDIR": str(self.scratch.path(IMAGE_TMP)),
            "BUYLIST_PORT": str(port),
            "BUYLIST_LOG_FORMAT": "json",
            "BUYLIST_WEB_WORKERS": "1",
            "BUYLIST_WEB_THREADS": "2",
            "BUYLIST_KAFKA_BOOTSTRAP": f"127.0.0.1:{dead_port}",
            "BUYLIST_MONGODB_URI": f"mongodb://127.0.0.1:{dead_port}/",
            "BUYLIST_MONGODB_TIMEOUT_MS": "500",
            "BUYLIST_MANAGEMENT_URL": f"http://127.0.0.1:{dead_port}",
        }


def replay_backend(root: Path) -> BackendImage:
    """Run the backend Dockerfile's builder stage into `root`, then read what its runtime stage sets."""
    stages = parse_dockerfile(APPS / "Dockerfile")
    scratch = Scratch(root)
    sent = dockerignore(APPS)
    builder = next(stage for stage in stages if stage.name == "builder")
    python = image_python(builder.base)
    workdir, env = "/", {}
    for keyword, text in builder.instructions:
        if keyword == "WORKDIR":
            workdir = os.path.join(workdir, text)
            scratch.path(workdir).mkdir(parents=True, exist_ok=True)
        elif keyword == "ENV":
            env |= key_values(text, env)
        elif keyword == "COPY":
            copy_instruction(text, APPS, sent, scratch, workdir)
        elif keyword == "RUN":
            assert text.startswith("["), f"RUN {text}: the builder's RUN must be exec form to be replayed"
            argv = json.loads(text)
            argv = argv[:1] + [str(scratch.path(a)) if a.startswith("/") else a for a in argv[1:]]
            # The pip cache only makes this faster (the image builds without one); the lock decides what is installed.
            run_env = {**os.environ, **env, "PYTHON": python}
            run_env.pop("PIP_NO_CACHE_DIR", None)
            result = subprocess.run(
                argv, cwd=scratch.path(workdir), env=run_env, capture_output=True, text=True, timeout=300, check=False
            )
            assert result.returncode == 0, f"RUN {text} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        else:
            raise AssertionError(f"{keyword} in the builder stage is not replayed by this test")

    final = stages[-1]
    variables: dict[str, str] = {"PATH": "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"}
    labels: dict[str, str] = {}
    env_keys: set[str] = set()
    # The runtime stage's RUN only creates the account (checked in test_backend_runtime_stage, not replayed: it would
    # change this machine); USER, EXPOSE and ENTRYPOINT are read where they are used.
    for keyword, text in final.instructions:
        if keyword == "ARG":
            variables |= key_values(text, variables)
        elif keyword == "ENV":
            pairs = key_values(text, variables)
            variables |= pairs
            env_keys |= pairs.keys()
        elif keyword == "LABEL":
            labels |= key_values(text, variables)
        elif keyword == "COPY":
            flags = [t for t in shlex.split(text) if t.startswith("--")]
            assert flags == ["--from=builder"], f"COPY {text}: only whole paths from the builder are expected"
            _, source, dest = shlex.split(text)
            assert source == dest, "the venv must keep its path: its scripts name their interpreter absolutely"
            assert scratch.path(source).is_dir(), f"COPY --from=builder {source}: the builder left nothing there"
    image_env = {key: variables[key] for key in env_keys}
    # On the image's PATH, what the image itself holds is found in the scratch root; the rest stands for the base.
    image_env["PATH"] = os.pathsep.join(
        str(scratch.path(entry)) if scratch.path(entry).is_dir() else entry for entry in variables["PATH"].split(":")
    )
    return BackendImage(
        scratch=scratch,
        python=python,
        env=image_env,
        user=final.last("USER"),
        exposed=[port for text in final.all("EXPOSE") for port in text.split()],
        entrypoint=json.loads(final.last("ENTRYPOINT")),
        labels=labels,
        stages=stages,
    )


def tree(directory: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Return size and mtime of everything under `directory` except `skip`."""
    return {
        str(path.relative_to(directory)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in directory.rglob("*")
        if skip not in path.parents and path != skip
    }


def requirement_pins(path: Path) -> dict[str, str]:
    """Return name -> version for every `name==version` line, names normalised as pip does."""
    pins = {}
    for line in path.read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)", line.strip())
        if match:
            pins[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return pins


def required_variables(component: str) -> list[str]:
    """Return the BUYLIST_* variables a component cannot start without."""
    return [f.metadata["env"] for f in fields(Settings) if component in f.metadata.get("required_by", ())]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> BackendImage:
    """The backend image replayed once for this module."""
    image = replay_backend(tmp_path_factory.mktemp("backend-image"))
    image.scratch.path(IMAGE_TMP).mkdir(exist_ok=True)
    return image


# --- tests ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_finds_nothing(dockerfile: Path, tmp_path: Path) -> None:
    config = tmp_path / "hadolint.yaml"
    config.write_text("failure-threshold: style\n")
    labels = [
        "org.opencontainers.image.title:text",
        "org.opencontainers.image.source:url",
        "org.opencontainers.image.version:text",
        "org.opencontainers.image.revision:text",
    ]
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--config", str(config), "--format", "json", "--no-color"]
        + [arg for label in labels for arg in ("--require-label", label)]
        + [str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_install_script_passes_shellcheck() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "shellcheck"), str(APPS / "docker/install.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_backend_lock_carries_the_tested_pins() -> None:
    lock = requirement_pins(APPS / "docker/constraints.txt")
    tested = requirement_pins(ROOT / "requirements-dev.txt")
    project = tomllib.loads((APPS / "pyproject.toml").read_text())["project"]
    direct = [
        re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", dep, maxsplit=1)[0]).lower() for dep in project["dependencies"]
    ]
    for name in direct:
        assert name in lock, f"{name} (apps/pyproject.toml) is not pinned in apps/docker/constraints.txt"
        assert name in tested, f"{name} (apps/pyproject.toml) is not pinned in requirements-dev.txt"
    disagree = {name: (lock[name], tested[name]) for name in lock.keys() & tested.keys() if lock[name] != tested[name]}
    assert disagree == {}, f"image lock vs requirements-dev.txt: {disagree}"
    build_backend = tomllib.loads((APPS / "pyproject.toml").read_text())["build-system"]["requires"]
    assert [re.split(r"[<>=!~]", dep, maxsplit=1)[0] for dep in build_backend] == ["setuptools"]
    assert "setuptools" in lock


def test_backend_venv_holds_exactly_the_lock(backend: BackendImage) -> None:
    venv_python = backend.scratch.path("/opt/buylist/bin/python")
    listed = subprocess.run(
        [str(venv_python), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(listed.stdout)}
    lock = requirement_pins(APPS / "docker/constraints.txt")
    version = tomllib.loads((APPS / "pyproject.toml").read_text())["project"]["version"]
    assert installed.pop("buylist") == version == backend.labels["org.opencontainers.image.version"]
    installed.pop("pip")
    assert "setuptools" not in installed, "the build backend must not stay in the runtime venv"
    unpinned = {name: v for name, v in installed.items() if lock.get(name) != v}
    assert unpinned == {}, f"installed but not pinned so in apps/docker/constraints.txt (python {backend.python})"


def test_backend_runtime_stage(backend: BackendImage) -> None:
    final = backend.stages[-1]
    assert final.base == backend.stages[0].base, "both stages must use the same base: the venv links its Python"
    user = backend.user.partition(":")[0]
    assert user.isdigit(), f"USER {backend.user}: Kubernetes' runAsNonRoot needs a numeric uid"
    assert int(user) > 0
    assert f"--uid {user}" in final.last("RUN"), "the account created must be the USER"
    assert backend.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert backend.env["PYTHONUNBUFFERED"] == "1"
    assert backend.entrypoint == ["buylist"]
    assert not final.all("CMD"), "no default component: the chart names one"
    assert sorted(int(port) for port in backend.exposed) == sorted(DEFAULT_PORTS.values())
    for label in ("title", "source", "version", "revision", "description"):
        assert backend.labels.get(f"org.opencontainers.image.{label}"), label


@pytest.mark.parametrize("component", COMPONENTS)
def test_backend_component_starts_with_the_image_command(backend: BackendImage, component: str, tmp_path: Path) -> None:
    port, dead_port = free_port(), free_port()
    image_tmp = backend.scratch.path(IMAGE_TMP)
    before = tree(backend.scratch.root, image_tmp)
    process = Process(component, backend.command(component), tmp_path)
    process.env = backend.component_env(component, port, dead_port)
    process.start()
    try:
        base = f"http://127.0.0.1:{port}"
        process.wait_ready(lambda: requests.get(f"{base}/health", timeout=2).status_code == 200, timeout=30)
        # Not ready while a dependency is down: Kubernetes sends the pod no traffic.
        ready = requests.get(f"{base}/ready", timeout=15)
        assert ready.status_code == 503, ready.text
        assert ready.json()["error"], ready.text
    finally:
        code = process.stop(timeout=30)
    assert code == 0, f"{component} did not stop cleanly on SIGTERM ({code}):\n{process.log_tail()}"
    after = tree(backend.scratch.root, image_tmp)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert changed == [], f"{component} wrote outside /tmp, which a read-only root filesystem refuses: {changed}"


@pytest.mark.parametrize("component", COMPONENTS)
def test_backend_component_without_its_settings_stops_naming_them(backend: BackendImage, component: str) -> None:
    required = required_variables(component)
    assert required, f"{component} must require something, or this test proves nothing"
    env = {k: v for k, v in backend.component_env(component, free_port(), free_port()).items() if k not in required}
    result = subprocess.run(
        backend.command(component), env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode != 0
    for name in required:
        assert name in result.stderr, f"{name} not named in:\n{result.stderr}"


# --- frontend -------------------------------------------------------------------------------------------------------

# What nginx-unprivileged's nginx.conf sets (pid and temp paths in /tmp, conf.d included inside http), with paths
# into the scratch root; `user` only when this test runs as root, where the image runs master and workers as uid 101.
NGINX_CONF = """{user}
worker_processes 1;
error_log stderr notice;
pid {tmp}/nginx.pid;
events {{
    worker_connections 64;
}}
http {{
    proxy_temp_path {tmp}/proxy_temp;
    client_body_temp_path {tmp}/client_temp;
    fastcgi_temp_path {tmp}/fastcgi_temp;
    uwsgi_temp_path {tmp}/uwsgi_temp;
    scgi_temp_path {tmp}/scgi_temp;
    include {etc}/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    include {etc}/conf.d/*.conf;
}}
"""
STOCK_DEFAULT_CONF = """server {
    listen 8080;
    location / {
        root /usr/share/nginx/html;
        index index.html;
    }
}
"""
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_mime_types() -> Path:
    """Return the mime.types beside the nginx.conf this nginx was built with."""
    built = subprocess.run([NGINX, "-V"], capture_output=True, text=True, check=True).stderr
    conf = re.search(r"--conf-path=(\S+)", built)
    return Path(conf[1] if conf else "/etc/nginx/nginx.conf").parent / "mime.types"


MIME_TYPES = nginx_mime_types() if os.path.exists(NGINX) else Path("/etc/nginx/mime.types")


@dataclass
class FrontendImage:
    """The replayed frontend image: its scratch root and the ENV it sets."""

    scratch: Scratch
    stage: Stage
    env: dict[str, str]

    def container_env(self, **overrides: str) -> dict[str, str]:
        """Return the container's environment: the base image's, the Dockerfile's ENV, decoys and overrides."""
        base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/", "HOSTNAME": "pod"}
        decoys = dict.fromkeys(NGINX_VARIABLES, "DECOY")
        return {**base, "NGINX_VERSION": "1.30.5", **decoys, **self.env, **overrides}

    def render(self, env: dict[str, str]) -> dict[str, str]:
        """Render the templates as the entrypoint's 20-envsubst-on-templates.sh does; return name -> text."""
        template_dir = self.scratch.path(env.get("NGINX_ENVSUBST_TEMPLATE_DIR", "/etc/nginx/templates"))
        suffix = env.get("NGINX_ENVSUBST_TEMPLATE_SUFFIX", ".template")
        output_dir = self.scratch.path(env.get("NGINX_ENVSUBST_OUTPUT_DIR", "/etc/nginx/conf.d"))
        names = sorted(name for name in env if re.search(env.get("NGINX_ENVSUBST_FILTER", ""), name))
        shell_format = " ".join(f"${{{name}}}" for name in names)
        envsubst = shutil.which("envsubst")
        assert envsubst, "envsubst (gettext-base) is needed to render the templates"
        rendered = {}
        for template in sorted(template_dir.rglob(f"*{suffix}")):
            output = output_dir / template.relative_to(template_dir).as_posix().removesuffix(suffix)
            text = subprocess.run(
                [envsubst, shell_format],
                input=template.read_text(),
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text)
            rendered[output.name] = text
        return rendered


def replay_frontend(root: Path) -> FrontendImage:
    """Lay out nginx-unprivileged's files in `root`, then apply the frontend Dockerfile's RUN and COPY lines."""
    scratch = Scratch(root)
    etc = scratch.path("/etc/nginx")
    (etc / "conf.d").mkdir(parents=True)
    scratch.path(IMAGE_TMP).mkdir()
    shutil.copy(MIME_TYPES, etc)
    (etc / "conf.d/default.conf").write_text(scratch.remap_shell(STOCK_DEFAULT_CONF))
    html = scratch.path("/usr/share/nginx/html")
    html.mkdir(parents=True)
    (html / "index.html").write_text("<h1>Welcome to nginx!</h1>\n")
    user = "user root;" if os.geteuid() == 0 else ""
    (etc / "nginx.conf").write_text(NGINX_CONF.format(user=user, tmp=scratch.path(IMAGE_TMP), etc=etc))

    (stage,) = parse_dockerfile(FRONTEND / "Dockerfile")
    sent = dockerignore(FRONTEND)
    variables: dict[str, str] = {}
    env: dict[str, str] = {}
    for keyword, text in stage.instructions:
        if keyword == "ARG":
            variables |= key_values(text, variables)
        elif keyword == "ENV":
            pairs = key_values(text, variables)
            variables |= pairs
            env |= pairs
        elif keyword == "RUN":
            assert not text.startswith("["), "the frontend's RUN is a shell command"
            subprocess.run(["/bin/sh", "-ec", scratch.remap_shell(text)], check=True, timeout=30)
        elif keyword == "COPY":
            copy_instruction(text, FRONTEND, sent, scratch, "/")
    return FrontendImage(scratch, stage, env)


@pytest.fixture
def frontend(tmp_path: Path) -> FrontendImage:
    """The frontend image replayed into a fresh scratch root."""
    return replay_frontend(tmp_path / "frontend-image")


def test_frontend_image_settings(frontend: FrontendImage) -> None:
    assert re.fullmatch(r"nginxinc/nginx-unprivileged:\d+\.\d+\.\d+-(alpine\d+\.\d+|bookworm)", frontend.stage.base)
    assert frontend.env["BUYLIST_FRONTEND_PORT"] == "8080"
    assert frontend.env["BUYLIST_CUSTOMER_FACING_URL"] == "http://customer-facing:80"
    assert frontend.stage.last("USER") == "101"
    assert frontend.stage.all("EXPOSE") == ["8080"]
    # The base image's entrypoint renders the templates only when it starts nginx itself.
    assert not frontend.stage.all("CMD")
    assert not frontend.stage.all("ENTRYPOINT")
    assert not frontend.scratch.path("/etc/nginx/conf.d/default.conf").exists(), "the welcome page must be gone"


def test_frontend_renders_its_defaults(frontend: FrontendImage) -> None:
    rendered = frontend.render(frontend.container_env())
    assert sorted(rendered) == ["default.conf", "root.conf"]
    server = rendered["default.conf"]
    assert "listen 8080;" in server
    assert "proxy_pass http://customer-facing:80$buylist_upstream_uri;" in server
    assert "DECOY" not in server, "the filter must keep nginx's own $variables out of envsubst"
    for variable in NGINX_VARIABLES:
        assert f"${variable}" in server
    assert "${" not in server, "every ${BUYLIST_...} placeholder must be substituted"
    html = frontend.scratch.path("/usr/share/nginx/html")
    assert rendered["root.conf"].strip() == f"root {html};"


@pytest.fixture
def served_frontend(frontend: FrontendImage, tmp_path: Path) -> Iterator[str]:
    """nginx on the replayed image's config, customer-facing unreachable; yields the base URL."""
    port = free_port()
    frontend.render(
        frontend.container_env(
            BUYLIST_FRONTEND_PORT=str(port), BUYLIST_CUSTOMER_FACING_URL=f"http://127.0.0.1:{free_port()}"
        )
    )
    conf = frontend.scratch.path("/etc/nginx/nginx.conf")
    prefix = str(frontend.scratch.path("/etc/nginx")) + "/"
    checked = subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", prefix, "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr
    process = Process("frontend", [NGINX, "-e", "stderr", "-p", prefix, "-c", str(conf), "-g", "daemon off;"], tmp_path)
    process.start()
    try:
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(lambda: requests.get(f"{url}/healthz", timeout=2).status_code == 200, timeout=20)
        yield url
    finally:
        process.stop(timeout=10)


def test_frontend_serves_the_ui_and_forwards_the_api(served_frontend: str) -> None:
    page = requests.get(f"{served_frontend}/", timeout=5)
    assert page.status_code == 200
    assert page.content == (FRONTEND / "public/index.html").read_bytes()
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    script = requests.get(f"{served_frontend}/app.js", timeout=5)
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    api = requests.get(f"{served_frontend}/api/getAllUserBuys/u1", timeout=10)
    assert api.status_code == 502
    assert api.json()["error"] == "upstream_unavailable"

"""Run the real servers and the services as local processes (no Docker needed).

    python deploy/local/localrun.py up        # Kafka + FerretDB + topics + every service
    python deploy/local/localrun.py servers   # only Kafka + FerretDB + topics + S3
    python deploy/local/localrun.py down      # stop what `up` started (by PID, nothing else)
    python deploy/local/localrun.py status

* Kafka: the Apache Kafka broker (KRaft, single node) from Maven Central jars, resolved once
  with ``mvn`` into ``.cache/kafka/<pom hash>/libs``, run with the installed JDK.
* MongoDB wire protocol: FerretDB 1.24.2 (SQLite backend) plus our patch series
  (deploy/local/ferretdb/patches), built once with ``go build`` from our own tiny ``main``
  (deploy/local/ferretdb) into ``.cache/bin``.
* S3-compatible object storage (the media service's bytes): versitygw v1.8.0, an S3 gateway
  over a directory, built once with ``go install`` from the Go module proxy into
  ``.cache/bin`` (needs Go >= 1.25).
* ffmpeg/ffprobe (the media worker) are Debian packages: ``make media-tools`` installs them.
* SMTP (for the notifications service): aiosmtpd from the dev lock on 127.0.0.1:1025,
  keeping every message in the Maildir ``.run/<profile>/maildir`` for inspection.
* State, PIDs and logs live in ``.run/<profile>/`` (``dev`` for ``make up``; the test session
  uses ``test``). Everything is on 127.0.0.1.

The test suite imports this module (tests/servers.py) to start the servers when nothing
else provides them.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
VENV_PY = ROOT / ".venv" / "bin" / "python"


class StartError(RuntimeError):
    """A server could not be started; the message names its log file."""


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def _say(msg: str) -> None:
    print(f"[localrun] {msg}", flush=True)


# ----------------------------------------------------------------------------- caches


def kafka_libs() -> Path:
    """Resolve the broker jars with mvn once per machine (per pom.xml content)."""
    pom = HERE / "kafka" / "pom.xml"
    libs = CACHE / "kafka" / _digest(pom) / "libs"
    if (libs / ".complete").exists():
        return libs
    if not shutil.which("mvn"):
        raise StartError("mvn is not installed; it resolves the Kafka jars from Maven Central")
    _say(f"resolving Apache Kafka jars with mvn into {libs} (once per machine)")
    tmp = libs.with_name("libs.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={tmp}",
        ],
        check=True,
    )
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    (libs / ".complete").touch()
    return libs


FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"  # the proxy lists no versions: always name it exactly


class PatchError(StartError):
    """One of deploy/local/ferretdb/patches/*.patch no longer applies to the module."""


def ferretdb_patches() -> list[Path]:
    """Our patch series on FerretDB, applied in file-name order (0001-..., 0002-...)."""
    return sorted((HERE / "ferretdb" / "patches").glob("*.patch"))


def _ferretdb_module_dir(src: Path) -> Path:
    """The pristine module in the Go module cache (downloaded from the proxy if needed)."""
    r = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        cwd=src,
        capture_output=True,
        text=True,
    )
    info = json.loads(r.stdout or "{}")
    if r.returncode or not info.get("Dir"):
        raise StartError(
            f"go mod download {FERRETDB_MODULE}@{FERRETDB_VERSION} failed: "
            f"{info.get('Error') or r.stderr.strip()}"
        )
    return Path(info["Dir"])


def _apply_patches(tree: Path, patches: list[Path]) -> None:
    """Apply each patch with ``git apply`` (all or nothing, no fuzz); stop at the first that
    does not apply. GIT_CEILING_DIRECTORIES keeps git from treating the tree as a subdirectory
    of an enclosing repository (``.cache`` lives in this one), where it would skip the paths."""
    if patches and not shutil.which("git"):
        raise StartError("git is not installed; it applies deploy/local/ferretdb/patches")
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    for p in patches:
        cmd = ["git", "apply", "-p1", "--whitespace=nowarn", str(p)]
        check = subprocess.run([*cmd, "--check"], cwd=tree, env=env, capture_output=True, text=True)
        if check.returncode:
            raise PatchError(
                f"FerretDB patch {p.name} no longer applies to {FERRETDB_MODULE}@"
                f"{FERRETDB_VERSION}; fix or drop it ({p}):\n{check.stdout}{check.stderr}"
            )
        subprocess.run(cmd, cwd=tree, env=env, check=True)


def ferretdb_binary() -> Path:
    """Build our FerretDB main once per machine (per source + patch content).

    FerretDB 1.24.2 is copied from the Go module cache into ``.cache/ferretdb-build/``,
    our patch series (deploy/local/ferretdb/patches) is applied to that copy, and our main is
    built against it through a ``replace`` directive written into a copy of its go.mod. The
    key covers main.go, go.mod, go.sum and every patch, so changing a patch rebuilds.
    """
    src = HERE / "ferretdb"
    patches = ferretdb_patches()
    key = _digest(src / "main.go", src / "go.mod", src / "go.sum", *patches)
    binary = CACHE / "bin" / f"ferretdb-local-{key}"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        raise StartError("go is not installed; it builds FerretDB from the Go module proxy")
    _say(
        f"building FerretDB {FERRETDB_VERSION} + {len(patches)} patches with go build "
        "(once per machine; a few minutes cold)"
    )
    # a directory of its own per build: concurrent builds (make up, a test session) never
    # share one; removed after a successful build (the binary does not refer to it)
    build = CACHE / "ferretdb-build" / f"{key}-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    module = build / "FerretDB"
    shutil.copytree(_ferretdb_module_dir(src), module)
    for d, _, files in os.walk(module):  # the module cache is read-only
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644)
    _apply_patches(module, patches)
    main = build / "main"
    main.mkdir()
    for name in ("main.go", "go.mod", "go.sum"):
        shutil.copy2(src / name, main / name)
    subprocess.run(
        ["go", "mod", "edit", f"-replace={FERRETDB_MODULE}={module}"], cwd=main, check=True
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(f".{os.getpid()}.tmp")
    subprocess.run(["go", "build", "-trimpath", "-o", str(tmp), "."], cwd=main, check=True)
    tmp.rename(binary)
    shutil.rmtree(build, ignore_errors=True)
    return binary


VERSITYGW_MODULE = "github.com/versity/versitygw/cmd/versitygw"
VERSITYGW_VERSION = "v1.8.0"  # the only version on the proxy; needs Go >= 1.25
#: the development credentials of the local S3 server (the media service's defaults)
S3_ACCESS_KEY = "community-dev"
S3_SECRET_KEY = "community-dev-secret"
S3_BUCKET = "community-media"


def versitygw_binary() -> Path:
    """Build versitygw once per machine (per version) into ``.cache/bin``."""
    binary = CACHE / "bin" / f"versitygw-{VERSITYGW_VERSION}"
    if binary.exists():
        return binary
    if not shutil.which("go"):
        raise StartError("go (>= 1.25) is not installed; it builds versitygw, the local S3 server")
    _say(f"building versitygw {VERSITYGW_VERSION} with go install (once per machine; ~1 min)")
    # a GOBIN of its own per build: concurrent builds never share a half-written binary
    gobin = CACHE / "versitygw-build" / str(os.getpid())
    shutil.rmtree(gobin, ignore_errors=True)
    gobin.mkdir(parents=True)
    subprocess.run(
        [
            "go",
            "install",
            f"-ldflags=-s -w -X main.Version={VERSITYGW_VERSION}",
            f"{VERSITYGW_MODULE}@{VERSITYGW_VERSION}",
        ],
        env={**os.environ, "GOBIN": str(gobin)},
        check=True,
    )
    binary.parent.mkdir(parents=True, exist_ok=True)
    (gobin / "versitygw").rename(binary)
    shutil.rmtree(gobin, ignore_errors=True)
    return binary


# ----------------------------------------------------------------------------- processes


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Profile:
    """Where one set of processes keeps its state, logs and PIDs."""

    name: str = "dev"
    base: Path = field(init=False)

    def __post_init__(self) -> None:
        self.base = ROOT / ".run" / self.name

    @property
    def logs(self) -> Path:
        p = self.base / "logs"
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def pids(self) -> Path:
        p = self.base / "pids"
        p.mkdir(parents=True, exist_ok=True)
        return p

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def spawn(
        self, name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.Popen[bytes]:
        out = open(self.log(name), "ab")  # noqa: SIM115 - the child owns it
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
        (self.pids / f"{name}.pid").write_text(str(proc.pid))
        return proc

    def running(self) -> dict[str, int]:
        out = {}
        for f in sorted(self.pids.glob("*.pid")):
            pid = int(f.read_text())
            if _alive(pid):
                out[f.stem] = pid
            else:
                f.unlink()
        return out

    def stop(self, name: str, timeout: float = 20) -> bool:
        f = self.pids / f"{name}.pid"
        if not f.exists():
            return False
        pid = int(f.read_text())
        f.unlink()
        if not _alive(pid):
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as dead
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _wait(
    check: object, what: str, log: Path, timeout: float, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StartError(f"{what} exited with code {proc.returncode}; see {log}")
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    if proc is not None:  # not left running behind the error (it would hold its ports)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    raise StartError(f"{what} did not become ready within {timeout:.0f}s; see {log}")


# ----------------------------------------------------------------------------- servers

KAFKA_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={data}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
"""


def _java() -> str:
    java = shutil.which("java")
    if not java:
        raise StartError("java is not installed; the Kafka broker needs a JDK 17+")
    return java


def start_kafka(profile: Profile, port: int = 9092, controller_port: int = 9093) -> str:
    address = f"127.0.0.1:{port}"
    if "kafka" in profile.running():
        return address
    for p in (port, controller_port):
        if port_open(p):
            raise StartError(
                f"port {p} is already taken by another program; stop it or choose other ports"
            )
    libs = kafka_libs()
    data = profile.base / "kafka" / "data"
    conf = profile.base / "kafka" / "server.properties"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(KAFKA_PROPERTIES.format(port=port, controller_port=controller_port, data=data))
    (conf.parent / "log4j2.properties").write_text(
        "rootLogger.level=INFO\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
        "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
        "appender.stdout.layout.type=PatternLayout\n"
        "appender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
        "logger.kafka.name=kafka\nlogger.kafka.level=WARN\n"
        "logger.apache.name=org.apache.kafka\nlogger.apache.level=WARN\n"
    )
    cp = f"{libs}/*"
    java = _java()
    log = profile.log("kafka")
    jvm = [
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        f"-Dlog4j2.configurationFile={conf.parent / 'log4j2.properties'}",
    ]
    if not (data / "meta.properties").exists():
        cluster_id = uuid.uuid4().hex[:22]
        with open(log, "ab") as out:
            r = subprocess.run(
                [
                    java,
                    *jvm,
                    "-cp",
                    cp,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(conf),
                    "--ignore-formatted",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if r.returncode:
            raise StartError(f"formatting Kafka storage failed; see {log}")
    _say(f"starting Kafka on {address} (log: {log})")
    proc = profile.spawn("kafka", [java, *jvm, "-cp", cp, "kafka.Kafka", str(conf)])
    # a JVM on two busy cores has been seen to take over 90 s before it listens
    _wait(lambda: port_open(port), "Kafka", log, 180, proc)
    return address


def start_ferretdb(profile: Profile, port: int = 27017) -> str:
    url = f"mongodb://127.0.0.1:{port}"
    if "ferretdb" in profile.running():
        return url
    if port_open(port):
        raise StartError(f"port {port} is already taken by another program; stop it first")
    binary = ferretdb_binary()
    log = profile.log("ferretdb")
    data = profile.base / "ferretdb"
    data.mkdir(parents=True, exist_ok=True)
    _say(f"starting FerretDB on {url} (log: {log})")
    proc = profile.spawn(
        "ferretdb", [str(binary), "-listen", f"127.0.0.1:{port}", "-dir", str(data)]
    )
    _wait(lambda: port_open(port), "FerretDB", log, 30, proc)
    return url


def start_s3(profile: Profile, port: int = 7070) -> str:
    """versitygw serving ``.run/<profile>/s3/data`` as S3 on 127.0.0.1:``port`` (region
    us-east-1; object metadata in a sidecar directory, so no xattr support is needed)."""
    port_file = profile.base / "s3" / "port"
    if "s3" in profile.running() and port_file.exists():
        return f"http://127.0.0.1:{port_file.read_text().strip()}"
    url = f"http://127.0.0.1:{port}"
    if port_open(port):
        raise StartError(f"port {port} is already taken by another program; stop it first")
    binary = versitygw_binary()
    log = profile.log("s3")
    data, meta = profile.base / "s3" / "data", profile.base / "s3" / "meta"
    data.mkdir(parents=True, exist_ok=True)
    meta.mkdir(parents=True, exist_ok=True)
    _say(f"starting versitygw (S3) on {url} (log: {log})")
    proc = profile.spawn(
        "s3",
        [
            str(binary),
            "--port",
            f"127.0.0.1:{port}",
            "--access",
            S3_ACCESS_KEY,
            "--secret",
            S3_SECRET_KEY,
            "--quiet",
            "posix",
            "--sidecar",
            str(meta),
            str(data),
        ],
    )
    port_file.write_text(str(port))
    _wait(lambda: port_open(port), "versitygw", log, 30, proc)
    return url


def create_topics(bootstrap: str, log: Path) -> None:
    """Explicit partition counts (6 for *.events, 1 for DLQs); never auto-creation."""
    code = (
        "import asyncio, sys; from communitykit.kafka import ensure_topics; "
        "asyncio.run(ensure_topics(sys.argv[1]))"
    )
    deadline = time.monotonic() + 60
    while True:
        with open(log, "ab") as out:
            r = subprocess.run(
                [str(VENV_PY), "-c", code, bootstrap], stdout=out, stderr=subprocess.STDOUT
            )
        if r.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise StartError(f"could not create topics on {bootstrap}; see {log}")
        time.sleep(1)


def start_smtp(profile: Profile, port: int = 1025) -> tuple[str, Path]:
    """A local SMTP server that keeps every message (aiosmtpd's Maildir handler) for the
    notifications service: (``smtp://`` URL, Maildir). ``-n``: never drop privileges (as
    root it would become ``nobody`` and could not write the Maildir)."""
    url = f"smtp://127.0.0.1:{port}"
    maildir = profile.base / "maildir"
    if "smtp" in profile.running():
        return url, maildir
    if port_open(port):
        raise StartError(f"port {port} is already taken by another program; stop it first")
    log = profile.log("smtp")
    _say(f"starting SMTP (aiosmtpd) on {url}, mail kept in {maildir} (log: {log})")
    proc = profile.spawn(
        "smtp",
        [
            str(VENV_PY),
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
    )
    _wait(lambda: port_open(port), "SMTP", log, 30, proc)
    return url, maildir


# ----------------------------------------------------------------------------- services

SERVICES = {
    "forum": 8001,
    "ideas": 8002,
    "reputation": 8003,
    "analytics": 8004,
    "search": 8005,
    "gatherings": 8006,
    "media": 8007,
    "notifications": 8008,
}


def start_service(profile: Profile, name: str, port: int, env: dict[str, str]) -> str:
    base = f"http://127.0.0.1:{port}"
    if name in profile.running():
        return base
    if port_open(port):
        raise StartError(f"port {port} for {name} is already taken by another program")
    log = profile.log(name)
    _say(f"starting {name} on {base} (log: {log})")
    proc = profile.spawn(
        name, [str(VENV_PY), "-m", name], env={**env, f"{name.upper()}_PORT": str(port)}
    )
    _wait(lambda: _ready(base), name, log, 60, proc)
    return base


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
            return bool(r.status == 200)
    except Exception:  # noqa: BLE001
        return False


def up(profile: Profile, with_services: bool = True) -> dict[str, str]:
    t0 = time.monotonic()
    bootstrap = start_kafka(profile)
    mongo = start_ferretdb(profile)
    create_topics(bootstrap, profile.log("topics"))
    s3 = start_s3(profile)
    smtp, maildir = start_smtp(profile)
    where = {"kafka": bootstrap, "mongodb": mongo, "s3": s3, "smtp": smtp, "maildir": str(maildir)}
    if with_services:
        env = {
            "NOTIFICATIONS_SMTP_URL": smtp,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "MONGODB_URL": mongo,
            # the search index is local state of the profile, like the servers' data
            "SEARCH_INDEX_PATH": str(profile.base / "search-index"),
            "MEDIA_S3_ENDPOINT_URL": s3,
            "MEDIA_S3_ACCESS_KEY": S3_ACCESS_KEY,
            "MEDIA_S3_SECRET_KEY": S3_SECRET_KEY,
            "MEDIA_S3_BUCKET": S3_BUCKET,
        }
        for name, port in SERVICES.items():
            where[name] = start_service(profile, name, port, env)
    _say(f"up in {time.monotonic() - t0:.1f}s")
    return where


def down(profile: Profile) -> None:
    order = [*SERVICES, "s3", "smtp", "ferretdb", "kafka"]
    running = profile.running()
    for name in order + [n for n in running if n not in order]:
        if profile.stop(name):
            _say(f"stopped {name}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("command", choices=["up", "servers", "down", "status", "prepare"])
    ap.add_argument("--profile", default="dev")
    args = ap.parse_args()
    profile = Profile(args.profile)
    try:
        if args.command == "prepare":
            kafka_libs()
            ferretdb_binary()
            versitygw_binary()
        elif args.command in ("up", "servers"):
            where = up(profile, with_services=args.command == "up")
            width = max(len(k) for k in where)
            print("\nThe community platform is up:")
            for k, v in where.items():
                print(f"  {k:<{width}}  {v}")
            print(f"  {'logs':<{width}}  {profile.logs}")
            print("Stop it with: make down")
        elif args.command == "down":
            down(profile)
        else:
            for name, pid in profile.running().items():
                print(f"{name}\tpid {pid}\tlog {profile.log(name)}")
    except (StartError, subprocess.CalledProcessError) as e:
        print(f"[localrun] error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

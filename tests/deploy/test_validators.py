"""`make validate-deploy`'s checks pass on the repository and fail on broken fixtures."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import validate_deploy as vd
import yaml
from discovery import Service, discover

from .conftest import FIXTURES, ROOT

SERVICES = discover()


@pytest.fixture(scope="module")
def drain() -> float:
    return vd.drain_seconds()


@pytest.fixture(scope="module")
def compose_model() -> dict[str, Any]:
    problems, model = vd.compose_config(ROOT / "docker-compose.yml", ROOT / ".env.example")
    assert problems == []
    return model


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    problems, rendered = vd.kustomize(ROOT / "deploy/k8s/overlays/production")
    assert problems == []
    return [d for d in yaml.safe_load_all(rendered) if d]


def test_every_check_passes_on_the_repository() -> None:
    failed = {label: problems for label, problems, _ in vd.check_all() if problems}
    assert failed == {}


def test_drain_time_is_read_from_the_kit() -> None:
    # consumers' graceful_timeout (15 s) + the outbox relay's last drain (5 s), from the source
    assert vd.drain_seconds() == 20


# ----------------------------------------------------------------------------- Dockerfile


def test_hadolint_flags_the_broken_dockerfile() -> None:
    problems = vd.hadolint(FIXTURES / "broken.Dockerfile")
    text = "\n".join(problems)
    assert "DL3025" in text  # shell-form CMD
    assert "DL3006" in text or "DL3013" in text  # untagged image / unpinned pip install


def test_image_rules_flag_the_broken_dockerfile() -> None:
    text = "\n".join(vd.dockerfile_rules(FIXTURES / "broken.Dockerfile"))
    for rule in (
        "multi-stage",
        "slim Python",
        "ARG SERVICE",
        "non-root USER",
        "HEALTHCHECK",
        "PYTHONDONTWRITEBYTECODE",
        "requirements-dev.lock",
        "--require-hashes",
    ):
        assert rule in text, rule


def test_image_rules_catch_a_single_regression(tmp_path: Path) -> None:
    good = (ROOT / "Dockerfile").read_text()
    broken = tmp_path / "Dockerfile"
    broken.write_text(good.replace("USER 10001:10001", "USER root"))
    assert vd.dockerfile_rules(broken) == [
        "the runtime stage must end as a numeric non-root USER (uid:gid)"
    ]


def test_image_rules_want_a_pinned_slim_helper_stage(tmp_path: Path) -> None:
    good = (ROOT / "Dockerfile").read_text()
    assert "ARG NODE_IMAGE=node:" in good  # the npm stage of browser assets (analytics)
    broken = tmp_path / "Dockerfile"
    broken.write_text(good.replace("node:20.20.2-bookworm-slim", "node:20"))
    assert vd.dockerfile_rules(broken) == [
        "base image 'node:20': pin a slim image (name:X.Y.Z-...-slim)"
    ]


# ----------------------------------------------------------------------------- compose


def test_compose_schema_flags_the_broken_file() -> None:
    problems = vd.compose_schema(FIXTURES / "compose-schema-broken.yml")
    assert problems
    assert vd.compose_schema(ROOT / "docker-compose.yml") == []


def test_compose_config_flags_the_broken_file() -> None:
    problems, model = vd.compose_config(
        FIXTURES / "compose-config-broken.yml", ROOT / ".env.example"
    )
    assert model == {}
    assert any("kafka-init" in p or "forum-data" in p for p in problems), problems


def test_compose_config_needs_the_jwt_secret(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    shutil.copy(ROOT / "docker-compose.yml", tmp_path / "docker-compose.yml")
    problems, _ = vd.compose_config(tmp_path / "docker-compose.yml", empty)
    assert any("COMMUNITY_JWT_SECRET" in p for p in problems), problems


def test_env_example_must_document_every_compose_variable(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        (ROOT / "docker-compose.yml").read_text() + "\nx-extra: ${UNDOCUMENTED_KNOB:-1}\n"
    )
    assert vd.env_example_problems(compose, ROOT / ".env.example") == [
        ".env.example does not document UNDOCUMENTED_KNOB (used in docker-compose.yml)"
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda m: m["services"]["forum"].pop("read_only"), "read_only"),
        (lambda m: m["services"]["forum"].update(cap_drop=[]), "cap_drop"),
        (lambda m: m["services"]["forum"].pop("healthcheck"), "no healthcheck"),
        (lambda m: m["services"]["forum"].update(stop_grace_period="10s"), "stop_grace_period"),
        (lambda m: m["services"]["forum"]["depends_on"].pop("mongo"), "mongo to be healthy"),
        (lambda m: m["services"]["mongo"].update(command=["mongod"]), "replica set"),
        (lambda m: m["services"]["forum"]["build"]["args"].update(SERVICE="x"), "SERVICE=forum"),
        (lambda m: m["services"]["forum"].update(ports=[]), "listens on 8001"),
        (lambda m: m["services"].pop("jaeger"), "'jaeger' missing"),
    ],
)
def test_compose_rules_catch(
    compose_model: dict[str, Any], drain: float, mutate: Any, expected: str
) -> None:
    assert vd.compose_rules(compose_model, SERVICES, drain) == []
    broken = copy.deepcopy(compose_model)
    mutate(broken)
    problems = vd.compose_rules(broken, SERVICES, drain)
    assert any(expected in p for p in problems), problems


def test_a_new_service_without_its_blocks_is_reported(
    compose_model: dict[str, Any], production: list[dict[str, Any]], drain: float
) -> None:
    class NewService(Service):
        port = 8099  # type: ignore[assignment]
        env_prefix = "NEWSERVICE_"  # type: ignore[assignment]

    new = NewService("newservice", ROOT / "services" / "newservice")
    compose = vd.compose_rules(compose_model, [new], drain)
    assert any("service newservice missing" in p for p in compose), compose
    k8s = vd.k8s_rules(production, [new], "production", drain)
    assert any("newservice: no Deployment" in p for p in k8s), k8s


# ----------------------------------------------------------------------------- kubernetes


def test_kustomize_flags_the_broken_overlay() -> None:
    problems, rendered = vd.kustomize(FIXTURES / "k8s-kustomize-broken")
    assert problems and rendered == ""


def test_kubernetes_validate_flags_the_broken_manifest() -> None:
    problems, rendered = vd.kustomize(FIXTURES / "k8s-schema-broken")
    assert problems == []
    text = "\n".join(vd.k8s_schema(rendered, "k8s-schema-broken"))
    assert "deployment/forum" in text and "replica" in text
    assert "deployment/reputation" in text and "forty-five" in text


def test_k8s_rules_flag_the_broken_manifest(drain: float) -> None:
    problems, rendered = vd.kustomize(FIXTURES / "k8s-policy-broken")
    assert problems == []
    assert vd.k8s_schema(rendered, "k8s-policy-broken") == []  # valid, but against the rules
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    text = "\n".join(vd.k8s_rules(docs, SERVICES, "production", drain))
    assert "forum: readOnlyRootFilesystem" in text
    assert "forum: terminationGracePeriodSeconds 10" in text
    assert "forum: COMMUNITY_JWT_SECRET must come from a Secret" in text
    assert "reputation:" not in text


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe"),
            "readinessProbe missing",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["securityContext"][
                "capabilities"
            ].update(drop=[]),
            "capabilities drop ALL",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["securityContext"].pop("runAsNonRoot"),
            "runAsNonRoot",
        ),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0].update(
                image="community-forum:dev"
            ),
            "has no registry",
        ),
        (lambda d: d["spec"].update(replicas=3), "HPA owns the count"),
        (
            lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
                containerPort=8080
            ),
            "listens on 8001",
        ),
    ],
)
def test_k8s_rules_catch(
    production: list[dict[str, Any]], drain: float, mutate: Any, expected: str
) -> None:
    assert vd.k8s_rules(production, SERVICES, "production", drain) == []
    docs = copy.deepcopy(production)
    forum = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "forum")
    mutate(forum)
    problems = vd.k8s_rules(docs, SERVICES, "production", drain)
    assert any(expected in p for p in problems), problems


def test_k8s_rules_want_a_pdb_and_an_hpa_per_service(
    production: list[dict[str, Any]], drain: float
) -> None:
    docs = [
        d
        for d in production
        if not (
            d["kind"] in ("PodDisruptionBudget", "HorizontalPodAutoscaler")
            and d["metadata"]["name"] == "reputation"
        )
    ]
    text = "\n".join(vd.k8s_rules(docs, SERVICES, "production", drain))
    assert "reputation: no PodDisruptionBudget" in text
    assert "reputation: no HorizontalPodAutoscaler" in text


def test_production_renders_no_secret_and_local_does(production: list[dict[str, Any]]) -> None:
    assert not [d for d in production if d["kind"] == "Secret"]
    problems, rendered = vd.kustomize(ROOT / "deploy/k8s/overlays/local")
    assert problems == []
    assert [d for d in yaml.safe_load_all(rendered) if d and d["kind"] == "Secret"]


def test_env_example_names_only_real_variables(tmp_path: Path) -> None:
    example = tmp_path / ".env.example"
    example.write_text(
        (ROOT / ".env.example").read_text() + "\n#FORUM_ESCALATION_AFTER_SECOND=60\n"
    )
    problems = vd.env_example_names_known(
        example, ROOT / "docker-compose.yml", vd.reference_names()
    )
    assert problems == [".env.example: FORUM_ESCALATION_AFTER_SECOND is read by nothing"]


def test_topic_script_must_match_the_contracts(tmp_path: Path) -> None:
    script = ROOT / "deploy/k8s/base/kafka-topics/create-topics.sh"
    assert vd.topics_problems(script) == []
    broken = tmp_path / "create-topics.sh"
    broken.write_text(script.read_text().replace("ideas.events             6", "ideas.events 3"))
    assert vd.topics_problems(broken)


def test_a_per_service_dockerfile_is_refused(tmp_path: Path) -> None:
    (tmp_path / "services/search").mkdir(parents=True)
    (tmp_path / "services/search/Dockerfile").write_text("FROM python:3.11\n")
    assert vd.stray_dockerfiles(tmp_path) == [
        "services/search/Dockerfile: delete it; `docker build --build-arg SERVICE=search .` "
        "builds every service from the repository's Dockerfile"
    ]
    assert vd.stray_dockerfiles(ROOT) == []


def search_statefulset(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "search")


def search_env(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    app = search_statefulset(docs)["spec"]["template"]["spec"]["containers"][0]
    return next(e for e in app["env"] if e["name"] == name)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda docs: search_statefulset(docs)["spec"].pop("replicas"), "explicit `replicas`"),
        (
            lambda docs: search_env(docs, "SEARCH_CONSUMER_GROUP").update(value="search"),
            "one consumer group per pod",
        ),
        (
            lambda docs: search_statefulset(docs)["spec"].pop("volumeClaimTemplates"),
            "volumeMount 'index' has no volume",
        ),
        (
            lambda docs: docs.append(
                {
                    "kind": "HorizontalPodAutoscaler",
                    "metadata": {"name": "search"},
                    "spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "search"}},
                }
            ),
            "HPA on a StatefulSet",
        ),
        (lambda docs: search_statefulset(docs)["spec"].update(serviceName="nope"), "serviceName"),
    ],
)
def test_statefulset_rules_catch(
    production: list[dict[str, Any]], drain: float, mutate: Any, expected: str
) -> None:
    """search keeps a full index per replica: a StatefulSet with a fixed count, a volume per
    pod and a consumer group per pod."""
    assert search_statefulset(production)["spec"]["volumeClaimTemplates"]
    docs = copy.deepcopy(production)
    mutate(docs)
    problems = vd.k8s_rules(docs, SERVICES, "production", drain)
    assert any(expected in p for p in problems), problems

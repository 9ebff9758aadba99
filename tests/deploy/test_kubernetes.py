"""deploy/kubernetes, checked without a cluster: every resource valid by the Kubernetes schemas
(kubernetes-validate, strict) or, for KEDA and Strimzi resources, by the schemas vendored in
tests/deploy/schemas; and everything named — services, ports, probes, settings, consumer
groups, topics — exists in the code."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from carepath.settings import SERVICE_PORTS, SERVICES
from tests.deploy.facts import (
    KUBERNETES_DIR,
    all_topics,
    consumed_topics,
    database_variable,
    load_yaml_documents,
    serve_command,
    unknown_variables,
)

KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")  # the oldest supported and the newest known
CUSTOM_SCHEMAS = {
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda-v1alpha1.json",
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"): "kafkatopic-kafka-v1beta2.json",
}
Resource = dict[str, Any]


def kustomized_files(directory: Path = KUBERNETES_DIR) -> list[Path]:
    """The files a `kubectl apply -k` of the directory applies, following sub-kustomizations."""
    kustomization = load_yaml_documents(directory / "kustomization.yaml")[0]
    files: list[Path] = []
    for entry in kustomization["resources"]:
        path = directory / entry
        assert path.exists(), f"{directory / 'kustomization.yaml'} lists missing {entry}"
        files.extend(kustomized_files(path) if path.is_dir() else [path])
    return files


RESOURCES: list[Resource] = [doc for path in kustomized_files()
                             for doc in load_yaml_documents(path)]
EXAMPLE_SECRETS: list[Resource] = load_yaml_documents(KUBERNETES_DIR / "secrets.example.yaml")


def by_kind(kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in RESOURCES if r["kind"] == kind}


def container(service: str) -> dict[str, Any]:
    pod = by_kind("Deployment")[f"carepath-{service}"]["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = pod["containers"]
    assert [c["name"] for c in containers] == [service]
    return containers[0]


def test_every_yaml_file_is_applied_or_an_example() -> None:
    listed = {path.resolve() for path in kustomized_files()}
    on_disk = {path.resolve() for path in KUBERNETES_DIR.rglob("*.yaml")
               if path.name not in ("kustomization.yaml", "secrets.example.yaml")}
    assert on_disk == listed


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_resource_is_valid_by_its_schema(version: str) -> None:
    for resource in RESOURCES + EXAMPLE_SECRETS:
        schema_file = CUSTOM_SCHEMAS.get((resource["apiVersion"], resource["kind"]))
        if schema_file is None:
            kubernetes_validate.validate(resource, version, strict=True)
        else:
            schema = json.loads((Path(__file__).parent / "schemas" / schema_file).read_text())
            jsonschema.validate(resource, schema)


def test_each_service_has_its_deployment_service_configmap_and_disruption_budget() -> None:
    names = {f"carepath-{service}" for service in SERVICES}
    for kind in ("Deployment", "Service", "ConfigMap", "PodDisruptionBudget"):
        assert names <= set(by_kind(kind)), kind
    for name, budget in by_kind("PodDisruptionBudget").items():
        pods = by_kind("Deployment")[name]["spec"]["template"]["metadata"]["labels"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pods.items()


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_listens_on_its_port_and_is_probed_on_paths_it_serves(
    service: str, get_paths_by_service: dict[str, set[str]]
) -> None:
    main = container(service)
    assert serve_command(main["args"]) == (service, SERVICE_PORTS[service])
    assert main["ports"] == [{"name": "http", "containerPort": SERVICE_PORTS[service]}]
    exposed = by_kind("Service")[f"carepath-{service}"]["spec"]
    assert exposed["ports"][0]["port"] == SERVICE_PORTS[service]
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert main["livenessProbe"]["httpGet"]["path"] == "/healthz"
    probed = {main[probe]["httpGet"]["path"] for probe in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    assert probed <= get_paths_by_service[service]


@pytest.mark.parametrize("service", SERVICES)
def test_the_database_is_migrated_before_the_service_starts(service: str) -> None:
    pod = by_kind("Deployment")[f"carepath-{service}"]["spec"]["template"]["spec"]
    [migrate] = pod["initContainers"]
    assert migrate["args"] == ["migrate", service]
    assert migrate["image"] == container(service)["image"]
    secret = {"secretRef": {"name": f"carepath-{service}"}}
    assert secret in migrate["envFrom"] and secret in container(service)["envFrom"]
    assert by_kind("ConfigMap")["carepath-common"]["data"]["CAREPATH_AUTO_MIGRATE"] == "false"


def test_every_reference_resolves_and_every_variable_is_read_by_carepath() -> None:
    secrets = {s["metadata"]["name"]: s["stringData"] for s in EXAMPLE_SECRETS}
    named: set[str] = set()
    for service in SERVICES:
        for source in container(service)["envFrom"]:
            if "configMapRef" in source:
                named |= set(by_kind("ConfigMap")[source["configMapRef"]["name"]]["data"])
            else:
                keys = secrets[source["secretRef"]["name"]]
                assert database_variable(service) in keys
                named |= set(keys)
    assert unknown_variables(named) == set()


@pytest.mark.parametrize("service", SERVICES)
def test_each_consumer_scales_on_the_lag_of_its_own_group(service: str) -> None:
    scaled = by_kind("ScaledObject").get(f"carepath-{service}")
    if not consumed_topics(service):
        assert scaled is None  # nothing to lag behind: a fixed replica count
        return
    assert scaled is not None
    assert scaled["spec"]["scaleTargetRef"]["name"] in by_kind("Deployment")
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    assert trigger["metadata"]["consumerGroup"] == f"carepath.{service}"
    common = by_kind("ConfigMap")["carepath-common"]["data"]
    assert trigger["metadata"]["bootstrapServers"] == common["CAREPATH_KAFKA_BOOTSTRAP"]
    partitions = {name: t["spec"]["partitions"] for name, t in by_kind("KafkaTopic").items()}
    # more members than partitions would sit idle
    assert scaled["spec"]["maxReplicaCount"] <= min(partitions[t]
                                                    for t in consumed_topics(service))


def test_the_topics_are_exactly_the_ones_the_code_uses_and_events_are_kept() -> None:
    topics = by_kind("KafkaTopic")
    assert set(topics) == all_topics()
    clusters: dict[str, set[str]] = defaultdict(set)
    for name, topic in topics.items():
        clusters[topic["metadata"]["labels"]["strimzi.io/cluster"]].add(name)
        if name.endswith(".v1"):  # replaying from the beginning rebuilds the journey
            assert topic["spec"]["config"]["retention.ms"] == -1
    assert len(clusters) == 1

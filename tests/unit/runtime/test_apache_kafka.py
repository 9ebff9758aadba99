"""How the project's Apache Kafka is fetched and configured, without starting one."""

from __future__ import annotations

from pathlib import Path

import pytest

from carepath.dev import apache_kafka
from carepath.dev.apache_kafka import ApacheKafka, KafkaUnavailable, fetch


def test_without_maven_the_fetch_says_what_to_install(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apache_kafka, "java_version", lambda: 17)
    monkeypatch.setattr(apache_kafka.shutil, "which", lambda name: None)
    with pytest.raises(KafkaUnavailable, match="needs Maven .*apt-get install maven"):
        fetch(tmp_path)


def test_an_old_java_is_refused_with_the_version_needed(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apache_kafka, "java_version", lambda: 11)
    with pytest.raises(KafkaUnavailable, match="needs Java 17 or newer; `java` is version 11"):
        fetch(tmp_path)


def test_without_java_the_fetch_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(KafkaUnavailable, match="install a JDK"):
        apache_kafka.java_version(str(tmp_path / "no-such-java"))


def test_a_fetched_cache_is_reused_without_maven(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apache_kafka, "java_version", lambda: 17)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / ".complete").write_text(apache_kafka.KAFKA_VERSION)
    monkeypatch.setattr(apache_kafka.shutil, "which", lambda name: None)
    assert fetch(tmp_path) == tmp_path / "lib"


def test_a_fetched_cache_still_needs_java(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / ".complete").write_text(apache_kafka.KAFKA_VERSION)
    monkeypatch.setattr(apache_kafka, "java_version", lambda: 0)
    with pytest.raises(KafkaUnavailable, match="needs Java 17"):
        fetch(tmp_path)


def test_a_cluster_restarts_on_the_ports_its_quorum_was_formatted_with(tmp_path: Path) -> None:
    first = ApacheKafka(tmp_path, nodes=3)
    again = ApacheKafka(tmp_path, nodes=3)
    assert [(n.port, n.controller_port) for n in again.nodes] == \
        [(n.port, n.controller_port) for n in first.nodes]
    voters = again.nodes[0].properties(again._quorum())["controller.quorum.voters"]
    assert voters == ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in first.nodes)


def test_three_brokers_replicate_as_production_does(tmp_path: Path) -> None:
    node = ApacheKafka(tmp_path, nodes=3).nodes[0]
    settings = node.properties({})
    assert settings["default.replication.factor"] == "3"
    assert settings["min.insync.replicas"] == "2"
    assert settings["offsets.topic.replication.factor"] == "3"
    single = ApacheKafka(tmp_path / "one", nodes=1, port=29999).nodes[0].properties({})
    assert single["default.replication.factor"] == "1" and single["min.insync.replicas"] == "1"
    assert single["listeners"].startswith("PLAINTEXT://127.0.0.1:29999,")

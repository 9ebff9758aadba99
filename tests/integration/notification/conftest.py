"""Real delivery endpoints on loopback for notification's integration tests: an SMTP server
(aiosmtpd), a webhook receiver, and a config dir whose care team and audiences use them."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from carepath.dev.embedded import free_port
from carepath.settings import Settings


@dataclass
class SmtpInbox:
    port: int
    refuse: bool = False
    received: list[tuple[list[str], Message]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return "451 4.3.0 mailbox temporarily unavailable"
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp_inbox() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    url: str
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    port = free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/notify")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            receiver.requests.append({**json.loads(body), "status": receiver.status})
            self.send_response(receiver.status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def config_dir(tmp_path: Path, *, care_team: dict[str, str] | None = None,
               audiences: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None
               ) -> Path:
    """A copy of config/ with Boston's care team and notifications.yaml changed as given."""
    target = tmp_path / "config"
    shutil.copytree(Settings().config_dir, target)
    sites = yaml.safe_load((target / "sites.yaml").read_text())
    if care_team:
        sites["sites"]["boston"]["care_team"] = care_team
    (target / "sites.yaml").write_text(yaml.safe_dump(sites))
    notifications = yaml.safe_load((target / "notifications.yaml").read_text())
    notifications["audiences"].update(audiences or {})
    notifications["delivery"].update({"poll_interval_s": 0.05, **(delivery or {})})
    (target / "notifications.yaml").write_text(yaml.safe_dump(notifications))
    return target

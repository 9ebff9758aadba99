"""The example consumer in contracts/README.md runs against the real broker: it reads the
published events from the beginning and prints them under their client."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from contracts import LevelOfCare as L
from tests.unit.journey.stories import ClientStory

EXAMPLE = Path(__file__).parents[3] / "contracts" / "examples" / "consume.py"


def test_the_example_consumer_prints_each_clients_events_from_the_beginning(
        kafka_bootstrap: str, publish: Callable[..., None]) -> None:
    story = ClientStory()
    story.referred(0)
    story.admitted(L.residential, 1)
    story.stepped_down(L.residential, L.php, 15)
    publish(*story.envelopes, story.envelopes[-1])  # a redelivery: printed once

    run = subprocess.run([sys.executable, str(EXAMPLE), "--bootstrap", kafka_bootstrap,
                          "--max-events", "3", "--idle-exit", "30"],
                         capture_output=True, text=True, timeout=90, check=True)

    lines = run.stdout.splitlines()
    mine = [line for line in lines if line.startswith(f"{story.client_ref}  ")]
    # Arrival order holds within a topic only; the closing summary puts them in time order.
    assert sorted(line.split()[3] for line in mine) == [
        "intake.ClientReferred.v1", "placement.ClientAdmitted.v1", "placement.SteppedDown.v1"]
    assert any(line.endswith("placement.SteppedDown.v1  residential -> php") for line in mine)
    assert f"{story.client_ref}: ClientReferred -> ClientAdmitted -> SteppedDown" in lines
    assert "1 client(s), 3 event(s)" in run.stdout

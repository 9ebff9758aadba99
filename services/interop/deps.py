"""What interop runs with: its sites (Organization and Location resources), whether the ADT feed
is on and where it goes, and where bulk exports are written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from carepath.app.spec import Runtime, deps_of
from carepath.config import SiteConfig, load_sites
from carepath.settings import Settings


@dataclass(frozen=True)
class AdtConfig:
    """MSH-3/4 (sending application and facility) and MSH-5/6 (receiving), and how the sender
    waits: for an ACK, and between attempts while the receiver is away."""

    sending_application: str = "CAREPATH"
    sending_facility: str = "CAREPATH"
    receiving_application: str = "ADT-RECEIVER"
    receiving_facility: str = "RECEIVER"
    ack_timeout_s: float = 10.0
    max_backoff_s: float = 30.0
    batch: int = 100


@dataclass(frozen=True)
class InteropDeps:
    sites: dict[str, SiteConfig]
    mllp_url: str | None = None  # host:port; None: no ADT feed
    adt: AdtConfig = field(default_factory=AdtConfig)
    export_dir: Path = Path("var/exports")

    @property
    def feed(self) -> bool:
        return self.mllp_url is not None


def make_deps(settings: Settings) -> InteropDeps:
    return InteropDeps(sites=dict(load_sites(settings).sites), mllp_url=settings.hl7_mllp_url,
                       export_dir=settings.var_dir / "exports")


DepsDep = Annotated[InteropDeps, deps_of(InteropDeps)]
InteropRuntime = Runtime[InteropDeps]

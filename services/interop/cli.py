"""Interop's command-line verbs, registered with `carepath` (carepath/registry.py): the HL7 v2
ADT feed's test receiver and its dead letters."""

from __future__ import annotations

import argparse
import sys

from carepath.registry import Commands
from carepath.settings import Settings


def register(commands: Commands) -> None:
    p = commands.add_parser("hl7", help="the HL7 v2 ADT feed: a test receiver (listen), "
                            "its dead letters, and re-driving them")
    p.add_argument("action", choices=("listen", "dead-letters", "redrive"))
    p.add_argument("seqs", nargs="*", type=int, help="redrive: the dead letters' SEQs")
    p.add_argument("--all", action="store_true", help="redrive every dead letter")
    p.add_argument("--host", default="127.0.0.1", help="listen: the address to bind")
    p.add_argument("--port", type=int, default=2575, help="listen: the port (default 2575)")
    p.add_argument("--ack", choices=("AA", "AE", "AR"), default="AA",
                   help="listen: the acknowledgement code to answer with")
    p.set_defaults(func=hl7)


def hl7(args: argparse.Namespace) -> int:
    """The HL7 v2 ADT feed: a receiver to point it at, and its dead letters."""
    if args.action == "listen":
        return _hl7_listen(args)
    from carepath.persistence.db import make_engine
    from services.interop import feed

    engine = make_engine(Settings().database_url_for("interop"))
    try:
        if args.action == "dead-letters":
            letters = feed.dead_letters(engine)
            for letter in letters:
                print(f"{letter.seq}\t{letter.trigger}\t{letter.client_ref}\t"
                      f"{letter.ack_code}\t{letter.error}")
            print(f"{len(letters)} ADT dead letter(s)")
            return 0
        if not args.all and not args.seqs:
            print("carepath hl7 redrive: name SEQ(s) (as `dead-letters` prints) or --all",
                  file=sys.stderr)
            return 2
        count = feed.redrive(engine, None if args.all else args.seqs)
        print(f"re-drove {count} ADT message(s): pending again, sent in seq order")
        return 0 if count else 1
    finally:
        engine.dispose()


def _hl7_listen(args: argparse.Namespace) -> int:
    import asyncio

    from services.interop.mllp import Received, Receiver

    def show(message: Received) -> None:  # ids only: never the message's content
        print(f"{message.trigger}\t{message.control_id}\t{message.client_ref}\t"
              f"ACK {message.ack_code}", flush=True)

    async def listen() -> None:
        async with Receiver(host=args.host, port=args.port, ack=args.ack,
                            on_message=show) as receiver:
            print(f"MLLP receiver listening on {args.host}:{receiver.port} (answering "
                  f"{args.ack})", flush=True)
            await receiver.serve_forever()

    try:
        asyncio.run(listen())
    except KeyboardInterrupt:
        pass
    return 0

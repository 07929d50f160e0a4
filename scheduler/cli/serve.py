"""``lean-scheduler serve``: the gRPC service until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import logging

from scheduler.cli.output import writable, write
from scheduler.service.config import load_config
from scheduler.service.server import Server
from scheduler.service.server import serve as run_server
from scheduler.twin.whatif import TwinCheck


def serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(args.config, addr=args.addr, data_dir=args.data_dir, store=args.store, tls_cert=args.tls_cert,
                         tls_key=args.tls_key, client_ca=args.client_ca, token_file=args.token_file,
                         max_solves=args.max_solves)  # fmt: skip
    writable(args.port_file, "--port-file")

    def ready(server: Server) -> None:
        host = config.addr.rsplit(":", 1)[0]
        print(f"lean-scheduler: listening on {host}:{server.port} (store: {server.store})", flush=True)
        if args.port_file:
            write(args.port_file, f"{server.port}\n", "--port-file")

    asyncio.run(run_server(config, ready, TwinCheck()))
    return 0

"""``lean-scheduler serve``: the gRPC service until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio

from scheduler.cli.output import writable, write
from scheduler.logs import configure as configure_logs
from scheduler.service.config import load_config
from scheduler.service.server import Server
from scheduler.service.server import serve as run_server
from scheduler.twin.whatif import TwinCheck


def serve(args: argparse.Namespace) -> int:
    configure_logs(args.log_format, args.log_level)
    config = load_config(args.config, addr=args.addr, data_dir=args.data_dir, store=args.store, tls_cert=args.tls_cert,
                         tls_key=args.tls_key, client_ca=args.client_ca, token_file=args.token_file,
                         max_solves=args.max_solves, metrics_addr=args.metrics_addr,
                         improve_share=args.improve_share, lease_s=args.lease_s, replica_id=args.replica_id,
                         advertise_addr=args.advertise_addr, http_addr=args.http_addr,
                         sweeps_dir=args.sweeps_dir)  # fmt: skip
    writable(args.port_file, "--port-file")

    def ready(server: Server) -> None:
        host = config.addr.rsplit(":", 1)[0]
        metrics = "" if server.metrics_port is None else f"; metrics on port {server.metrics_port}"
        print(f"lean-scheduler: listening on {host}:{server.port} (store: {server.store}){metrics}", flush=True)
        if server.http_port is not None:
            http_host = (config.http_addr or "").rsplit(":", 1)[0] or "127.0.0.1"
            print(f"lean-scheduler: console at http://{http_host}:{server.http_port}/", flush=True)
        if args.port_file:
            write(args.port_file, f"{server.port}\n", "--port-file")

    asyncio.run(run_server(config, ready, TwinCheck()))
    return 0

"""`ragprep` command line: serve, models and ingest."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from app.cli import ingest as cli_ingest
from app.cli import models as cli_models
from app.cli.options import add_storage_options, settings_from


def _serve(args: argparse.Namespace) -> int:
    from app.serving import serve  # uvicorn and the app load only for this command

    serve(settings_from(args), host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragprep", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    add_storage_options(serve)
    serve.set_defaults(handler=_serve)

    cli_models.add_parser(commands)
    cli_ingest.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    handler = args.handler
    takes_settings = handler in (cli_models.run, cli_ingest.run)
    code: int = handler(args, settings_from(args)) if takes_settings else handler(args)
    return code

"""meshctl: the operators' CLI. A thin client; all validation runs on the server.

Errors go to stderr as `error: …` with exit 1; usage errors exit 2 (argparse).
"""

from __future__ import annotations

import argparse
import sys

from certs import cli as ca_cli
from control_plane import audit_cli, commands, devup, translate_cli
from mesh import logs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meshctl", description="Operate a Tsunagi mesh.")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    ca_cli.add_commands(subcommands)
    devup.add_commands(subcommands)
    commands.add_commands(subcommands)
    audit_cli.add_commands(subcommands)
    translate_cli.add_commands(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure(console=True, level="warning")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

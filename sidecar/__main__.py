"""`python -m sidecar --config FILE`: run one sidecar until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import structlog

from mesh import logs
from sidecar.errors import ConfigError
from sidecar.runtime import Sidecar
from sidecar.settings import load_settings


async def main(config: Path) -> int:
    log = structlog.get_logger("sidecar")
    try:
        settings = load_settings(config)
        sidecar = await Sidecar.start(settings)
    except ConfigError as exc:
        for problem in exc.problems:
            log.error("sidecar_config_refused", problem=problem)
            print(f"error: {problem}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with asyncio.TaskGroup() as tasks:
        background = [tasks.create_task(work) for work in sidecar.background()]
        await stop.wait()
        # Drain while the background work still runs: the audit writer must flush every
        # record of the calls that finish during the drain.
        await sidecar.drain()
        for task in background:
            task.cancel()
    return 0


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m sidecar", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="sidecar YAML config")
    parser.add_argument("--log-format", choices=("json", "console"), default="json")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    logs.configure(console=args.log_format == "console", level=args.log_level)
    sys.exit(asyncio.run(main(args.config)))


if __name__ == "__main__":
    run()

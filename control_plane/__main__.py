"""`python -m control_plane --config FILE`: run the control plane until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import structlog

from control_plane.errors import ControlPlaneError
from control_plane.server import ControlPlane
from control_plane.settings import SettingsError, load_settings
from mesh import logs


async def main(config: Path) -> int:
    log = structlog.get_logger("control_plane")
    try:
        settings = load_settings(config)
        plane = await ControlPlane.start(settings)
    except SettingsError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 1
    except ControlPlaneError as exc:
        log.error("control_plane_start_failed", reason=exc.message)
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with asyncio.TaskGroup() as tasks:
        background = tasks.create_task(plane.background())
        await stop.wait()
        background.cancel()
    await plane.stop()
    return 0


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m control_plane", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--log-format", choices=("json", "console"), default="json")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    logs.configure(console=args.log_format == "console", level=args.log_level)
    sys.exit(asyncio.run(main(args.config)))


if __name__ == "__main__":
    run()

"""City A's resident registry: a plain gRPC server that knows nothing about the mesh.

`python -m demo.registry --port PORT` serves demo.v1.ResidentRegistry on 127.0.0.1 (h2c).
It prints what identity the mesh says is calling (x-mesh-caller), to show the sidecar's work.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import AsyncIterator

import grpc
from grpc import aio
from grpc_reflection.v1alpha import reflection

from demo.v1 import registry_pb2 as pb
from demo.v1 import registry_pb2_grpc as rpc

RESIDENTS = [
    pb.Resident(resident_code="12345678901", shimei="村上　春樹", shimei_kana="ﾑﾗｶﾐ ﾊﾙｷ",
                seinengappi="昭和24年1月12日", seibetsu="男", jusho="東京都千代田区内幸町一丁目1番1号",
                yubin_bango="〒100-0011", household_id="H-0001"),
    pb.Resident(resident_code="12345678902", shimei="村上　陽子", shimei_kana="ﾑﾗｶﾐ ﾖｳｺ",
                seinengappi="昭和26年9月3日", seibetsu="女", jusho="東京都千代田区内幸町一丁目1番1号",
                yubin_bango="〒100-0011", household_id="H-0001"),
    pb.Resident(resident_code="12345678903", shimei="髙橋　花子", shimei_kana="ﾀｶﾊｼ ﾊﾅｺ",
                seinengappi="平成元年1月8日", seibetsu="女", jusho="東京都千代田区永田町二丁目3番1号",
                yubin_bango="〒100-0014", household_id="H-0002"),
    # A legacy record without the space between family and given name: the mesh must refuse
    # to guess where to split it, and say so.
    pb.Resident(resident_code="12345678904", shimei="山田太郎", shimei_kana="ﾔﾏﾀﾞ ﾀﾛｳ",
                seinengappi="令和元年5月1日", seibetsu="男", jusho="東京都千代田区永田町一丁目7番1号",
                yubin_bango="〒100-0014", household_id="H-0003"),
]


class ResidentRegistry(rpc.ResidentRegistryServicer):
    async def GetResident(self, request: pb.GetResidentRequest, context: aio.ServicerContext) -> pb.Resident:
        caller = dict(context.invocation_metadata() or ()).get("x-mesh-caller", "(none)")
        print(f"  [registry] GetResident {request.resident_code} asked by {caller}", flush=True)
        for resident in RESIDENTS:
            if resident.resident_code == request.resident_code:
                return resident
        await context.abort(grpc.StatusCode.NOT_FOUND, f"住民票コード {request.resident_code} は登録されていません")
        raise AssertionError("unreachable")

    async def ListHousehold(self, request: pb.ListHouseholdRequest, context: aio.ServicerContext) -> AsyncIterator[pb.Resident]:
        for resident in RESIDENTS:
            if resident.household_id == request.household_id:
                yield resident


async def serve(port: int) -> None:
    server = aio.server(options=[("grpc.so_reuseport", 0)])
    rpc.add_ResidentRegistryServicer_to_server(ResidentRegistry(), server)
    # Like many real services, it offers server reflection (`meshctl dev up` reads it).
    reflection.enable_server_reflection(
        (pb.DESCRIPTOR.services_by_name["ResidentRegistry"].full_name, reflection.SERVICE_NAME), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()

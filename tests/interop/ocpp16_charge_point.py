#!/usr/bin/env python3
"""An OCPP 1.6J charge point built on the `ocpp` package (mobilityhouse),
which checks every message in both directions against the official OCPP 1.6
JSON schemas. Plugway's interop test runs it against a real `plugway serve`.

It boots, heartbeats, reports status, authorizes, runs a whole transaction
with meter values, then waits for the central system to start and stop a
second transaction remotely. Exit status 0 only if every step succeeded and
every answer passed the schemas.

Usage: ocpp16_charge_point.py --url ws://127.0.0.1:8080/ocpp/CP1 --id CP1
       --password PW --id-tag TAG --wait 60
"""
import argparse
import asyncio
import base64
import logging
import sys
from datetime import datetime, timezone

import websockets
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as Cp
from ocpp.v16 import call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ChargePointErrorCode,
    ChargePointStatus,
    Measurand,
    ReadingContext,
    Reason,
    RegistrationStatus,
    RemoteStartStopStatus,
    UnitOfMeasure,
)

logging.basicConfig(level=logging.INFO, format="interop-cp: %(message)s")
log = logging.getLogger("interop-cp")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ChargePoint(Cp):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meter_wh = 1000
        self.tx_id = None
        self.pending_tag = None
        self.remote_started = asyncio.Event()
        self.remote_stopped = asyncio.Event()

    async def must(self, payload):
        # suppress=False: a CALLERROR from the central system raises.
        result = await self.call(payload, suppress=False)
        log.info("%s -> %s", type(payload).__name__, result)
        return result

    async def status(self, connector_id, status):
        await self.must(call.StatusNotification(
            connector_id=connector_id, error_code=ChargePointErrorCode.no_error, status=status, timestamp=now()))

    async def start_tx(self, id_tag, connector_id=1):
        result = await self.must(call.StartTransaction(
            connector_id=connector_id, id_tag=id_tag, meter_start=self.meter_wh, timestamp=now()))
        if result.id_tag_info["status"] != AuthorizationStatus.accepted:
            raise RuntimeError(f"start refused: {result.id_tag_info}")
        self.tx_id = result.transaction_id
        await self.status(connector_id, ChargePointStatus.charging)

    async def meter(self, connector_id=1):
        self.meter_wh += 500
        await self.must(call.MeterValues(connector_id=connector_id, transaction_id=self.tx_id, meter_value=[{
            "timestamp": now(),
            "sampled_value": [
                {"value": str(self.meter_wh), "measurand": Measurand.energy_active_import_register,
                 "unit": UnitOfMeasure.wh, "context": ReadingContext.sample_periodic},
                {"value": "7.4", "measurand": Measurand.power_active_import, "unit": UnitOfMeasure.kw},
            ],
        }]))

    async def stop_tx(self, reason, id_tag=None, connector_id=1):
        self.meter_wh += 250
        await self.must(call.StopTransaction(
            meter_stop=self.meter_wh, timestamp=now(), transaction_id=self.tx_id, reason=reason, id_tag=id_tag,
            transaction_data=[{"timestamp": now(), "sampled_value": [{"value": str(self.meter_wh), "unit": UnitOfMeasure.wh}]}]))
        self.tx_id = None
        await self.status(connector_id, ChargePointStatus.available)

    @on(Action.remote_start_transaction)
    async def on_remote_start(self, id_tag, connector_id=None, **kwargs):
        log.info("<- RemoteStartTransaction %s %s", id_tag, connector_id)
        if self.tx_id is not None:
            return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.rejected)
        self.pending_tag = id_tag
        return call_result.RemoteStartTransaction(status=RemoteStartStopStatus.accepted)

    @after(Action.remote_start_transaction)
    async def after_remote_start(self, id_tag, connector_id=None, **kwargs):
        if self.pending_tag == id_tag:
            self.pending_tag = None
            await self.status(connector_id or 1, ChargePointStatus.preparing)
            await self.start_tx(id_tag, connector_id or 1)
            await self.meter(connector_id or 1)
            self.remote_started.set()

    @on(Action.remote_stop_transaction)
    async def on_remote_stop(self, transaction_id, **kwargs):
        log.info("<- RemoteStopTransaction %s", transaction_id)
        ok = self.tx_id is not None and transaction_id == self.tx_id
        return call_result.RemoteStopTransaction(
            status=RemoteStartStopStatus.accepted if ok else RemoteStartStopStatus.rejected)

    @after(Action.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id, **kwargs):
        if self.tx_id is not None and transaction_id == self.tx_id:
            await self.stop_tx(Reason.remote)
            self.remote_stopped.set()


async def main(args) -> int:
    token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
    async with websockets.connect(args.url, subprotocols=["ocpp1.6"],
                                  additional_headers={"Authorization": f"Basic {token}"}, proxy=None) as ws:
        if ws.subprotocol != "ocpp1.6":
            raise RuntimeError(f"server selected {ws.subprotocol!r}")
        cp = ChargePoint(args.id, ws)
        listener = asyncio.create_task(cp.start())
        try:
            boot = await cp.must(call.BootNotification(
                charge_point_vendor="InteropVendor", charge_point_model="PyOCPP", firmware_version="2.1.0",
                charge_point_serial_number="PY-1", iccid="8988211000000123456", meter_type="AC", meter_serial_number="M-1"))
            if boot.status != RegistrationStatus.accepted:
                raise RuntimeError(f"boot refused: {boot}")
            await cp.must(call.Heartbeat())
            await cp.status(0, ChargePointStatus.available)
            await cp.status(1, ChargePointStatus.available)
            auth = await cp.must(call.Authorize(id_tag=args.id_tag))
            if auth.id_tag_info["status"] != AuthorizationStatus.accepted:
                raise RuntimeError(f"authorize refused: {auth}")
            await cp.status(1, ChargePointStatus.preparing)
            await cp.start_tx(args.id_tag)
            await cp.meter()
            await cp.meter()
            await cp.stop_tx(Reason.local, id_tag=args.id_tag)
            await cp.must(call.FirmwareStatusNotification(status="Installed"))
            await cp.must(call.DiagnosticsStatusNotification(status="Idle"))
            await cp.must(call.DataTransfer(vendor_id="org.example", message_id="ping", data="hello"))
            print("LOCAL-SEQUENCE-DONE", flush=True)
            await asyncio.wait_for(cp.remote_started.wait(), args.wait)
            print("REMOTE-START-DONE", flush=True)
            await asyncio.wait_for(cp.remote_stopped.wait(), args.wait)
            print("REMOTE-STOP-DONE", flush=True)
        finally:
            listener.cancel()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--id-tag", required=True)
    parser.add_argument("--wait", type=float, default=60.0)
    try:
        sys.exit(asyncio.run(main(parser.parse_args())))
    except Exception as exc:  # every failure is a non-zero exit the test reports
        log.error("FAILED: %r", exc)
        sys.exit(1)

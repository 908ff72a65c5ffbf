#!/usr/bin/env python3
"""An OCPP 2.0.1 charging station built on the `ocpp` package (mobilityhouse),
which checks every message in both directions against the official OCPP
2.0.1 JSON schemas. Plugway's interop test runs it against a real
`plugway serve`.

Before anything else it sends broken frames and checks the CALLERROR codes
it gets (the connection must stay). It boots, heartbeats, reports status,
authorizes, runs a whole transaction (TransactionEvent Started, Updated,
Ended, with meter values), reports a security event and its firmware
status, has its certificate signed (SignCertificate with a real CSR, then
the CSMS's CertificateSigned, checked), answers GetBaseReport with its
device model and Get/SetVariables, then charges for a driver's app: a
RequestStartTransaction, readings every second while it charges, until
the RequestStopTransaction. Exit status 0 only if every step succeeded and
every message passed the schemas.

Usage: ocpp201_station.py --url ws://127.0.0.1:8080/ocpp/CS1 --id CS1
       --password PW --id-token TAG --wait 60
"""
import argparse
import asyncio
import base64
import logging
import sys
import uuid
from datetime import datetime, timezone

import json

import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint as Cp
from ocpp.v201 import call, call_result

logging.basicConfig(level=logging.INFO, format="interop-cs: %(message)s")
log = logging.getLogger("interop-cs")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Station(Cp):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.meter_wh = 1000
        self.tx_id = None
        self.seq = 0
        self.remote = None
        self.remote_started = asyncio.Event()
        self.remote_stopped = asyncio.Event()
        self.reported = asyncio.Event()
        self.certified = asyncio.Event()
        self.metering = None

    async def must(self, payload):
        # suppress=False: a CALLERROR from the CSMS raises.
        result = await self.call(payload, suppress=False)
        log.info("%s -> %s", type(payload).__name__, result)
        return result

    async def status(self, evse_id, status):
        await self.must(call.StatusNotification(
            timestamp=now(), connector_status=status, evse_id=evse_id, connector_id=1))

    def reading(self, context):
        return [{"timestamp": now(), "sampled_value": [
            {"value": self.meter_wh, "context": context, "measurand": "Energy.Active.Import.Register",
             "unit_of_measure": {"unit": "Wh"}},
            {"value": 7.4, "context": context, "measurand": "Power.Active.Import",
             "unit_of_measure": {"unit": "kW"}},
        ]}]

    async def event(self, event_type, trigger, info, id_token=None, evse=None, context="Sample.Periodic"):
        result = await self.must(call.TransactionEvent(
            event_type=event_type, timestamp=now(), trigger_reason=trigger, seq_no=self.seq,
            transaction_info=info, id_token=id_token, evse=evse, meter_value=self.reading(context)))
        self.seq += 1
        return result

    async def start_tx(self, id_token, evse_id=1, trigger="Authorized", remote_start_id=None):
        self.tx_id = str(uuid.uuid4())
        self.seq = 0
        info = {"transaction_id": self.tx_id, "charging_state": "Charging"}
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        await self.status(evse_id, "Occupied")
        result = await self.event("Started", trigger, info, id_token=id_token,
                                  evse={"id": evse_id, "connector_id": 1}, context="Transaction.Begin")
        if result.id_token_info["status"] != "Accepted":
            raise RuntimeError(f"start refused: {result.id_token_info}")

    async def meter(self):
        self.meter_wh += 500
        await self.event("Updated", "MeterValuePeriodic",
                         {"transaction_id": self.tx_id, "charging_state": "Charging"})

    async def stop_tx(self, reason, trigger, id_token=None, evse_id=1):
        self.meter_wh += 250
        await self.event("Ended", trigger, {"transaction_id": self.tx_id, "stopped_reason": reason},
                         id_token=id_token, context="Transaction.End")
        self.tx_id = None
        await self.status(evse_id, "Available")

    @on("RequestStartTransaction")
    async def on_request_start(self, id_token, remote_start_id, evse_id=None, **kwargs):
        log.info("<- RequestStartTransaction %s %s", id_token, evse_id)
        if self.tx_id is not None:
            return call_result.RequestStartTransaction(status="Rejected")
        self.remote = (id_token, remote_start_id, evse_id or 1)
        return call_result.RequestStartTransaction(status="Accepted")

    @after("RequestStartTransaction")
    async def after_request_start(self, id_token, remote_start_id, evse_id=None, **kwargs):
        if self.remote is not None:
            token, start_id, evse = self.remote
            self.remote = None
            await self.start_tx(token, evse, trigger="RemoteStart", remote_start_id=start_id)
            await self.meter()
            print(f"REMOTE-START-DONE {self.tx_id}", flush=True)
            self.remote_started.set()
            self.metering = asyncio.create_task(self.meter_while_charging())

    async def meter_while_charging(self):
        # Readings every second while the driver charges, as a station
        # configured with a short SampledDataTxUpdatedInterval sends them.
        while self.tx_id is not None:
            await asyncio.sleep(1)
            if self.tx_id is not None:
                await self.meter()

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id, **kwargs):
        log.info("<- RequestStopTransaction %s", transaction_id)
        ok = self.tx_id is not None and transaction_id == self.tx_id
        return call_result.RequestStopTransaction(status="Accepted" if ok else "Rejected")

    @after("RequestStopTransaction")
    async def after_request_stop(self, transaction_id, **kwargs):
        if self.tx_id is not None and transaction_id == self.tx_id:
            if self.metering is not None:
                self.metering.cancel()
            await self.stop_tx("Remote", "RemoteStop")
            self.remote_stopped.set()

    @on("CertificateSigned")
    async def on_certificate_signed(self, certificate_chain, certificate_type=None, **kwargs):
        # The leaf must be ours: our identity, our key.
        chain = x509.load_pem_x509_certificates(certificate_chain.encode())
        leaf = chain[0]
        cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        ours = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        mine = self.csr_key.public_key().public_bytes(serialization.Encoding.DER,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)
        ok = cn == self.id and ours == mine and len(chain) == 2
        log.info("<- CertificateSigned for %s (%d certificates): %s", cn, len(chain), ok)
        if ok:
            self.certified.set()
        return call_result.CertificateSigned(status="Accepted" if ok else "Rejected")

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data, **kwargs):
        return call_result.SetVariables(set_variable_result=[
            {"attribute_status": "Accepted", "component": d["component"], "variable": d["variable"]}
            for d in set_variable_data])

    @on("GetBaseReport")
    async def on_get_base_report(self, request_id, report_base, **kwargs):
        log.info("<- GetBaseReport %s %s", request_id, report_base)
        self.report_request = request_id
        return call_result.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    async def after_get_base_report(self, request_id, report_base, **kwargs):
        await self.must(call.NotifyReport(request_id=request_id, generated_at=now(), seq_no=0, tbc=False, report_data=[
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"},
             "variable_attribute": [{"type": "Actual", "value": "1", "mutability": "ReadOnly"}],
             "variable_characteristics": {"data_type": "integer", "supports_monitoring": False}},
            {"component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
             "variable_attribute": [{"type": "MaxSet", "value": "22000", "mutability": "ReadOnly"}],
             "variable_characteristics": {"data_type": "decimal", "unit": "W", "supports_monitoring": True}},
        ]))
        self.reported.set()

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data, **kwargs):
        return call_result.GetVariables(get_variable_result=[
            {"attribute_status": "Accepted", "attribute_value": "1",
             "component": d["component"], "variable": d["variable"]} for d in get_variable_data])


async def main(args) -> int:
    token = base64.b64encode(f"{args.id}:{args.password}".encode()).decode()
    async with websockets.connect(args.url, subprotocols=["ocpp2.0.1"],
                                  additional_headers={"Authorization": f"Basic {token}"}, proxy=None) as ws:
        if ws.subprotocol != "ocpp2.0.1":
            raise RuntimeError(f"server selected {ws.subprotocol!r}")
        # Broken frames first, on the raw connection: each gets its CALLERROR
        # and the connection stays.
        for frame, code in [
            ("this is not json", "RpcFrameworkError"),
            (json.dumps([2, "neg-1", "Heartbeat", {"extra": 1}]), "FormatViolation"),
            (json.dumps([2, "neg-2", "Authorize", {"idToken": {"type": "ISO14443"}}]), "OccurrenceConstraintViolation"),
            (json.dumps([2, "neg-3", "MeterValues", {"evseId": "one", "meterValue": []}]), "TypeConstraintViolation"),
            (json.dumps([2, "neg-4", "RequestStartTransaction", {}]), "NotSupported"),
        ]:
            await ws.send(frame)
            answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if answer[0] != 4 or answer[2] != code:
                raise RuntimeError(f"{frame!r} was answered {answer}, not {code}")
        print("NEGATIVE-DONE", flush=True)
        cs = Station(args.id, ws)
        listener = asyncio.create_task(cs.start())
        try:
            boot = await cs.must(call.BootNotification(
                charging_station={"vendor_name": "InteropVendor", "model": "PyOCPP201",
                                  "firmware_version": "2.1.0", "serial_number": "PY-201"},
                reason="PowerUp"))
            if boot.status != "Accepted":
                raise RuntimeError(f"boot refused: {boot}")
            await cs.must(call.Heartbeat())
            await cs.status(1, "Available")
            id_token = {"id_token": args.id_token, "type": "ISO14443"}
            auth = await cs.must(call.Authorize(id_token=id_token))
            if auth.id_token_info["status"] != "Accepted":
                raise RuntimeError(f"authorize refused: {auth}")
            await cs.start_tx(id_token)
            await cs.meter()
            await cs.meter()
            await cs.stop_tx("Local", "StopAuthorized", id_token=id_token)
            await cs.must(call.SecurityEventNotification(type="StartupOfTheDevice", timestamp=now(),
                                                        tech_info="interop"))
            await cs.must(call.FirmwareStatusNotification(status="Installed"))
            await cs.must(call.DataTransfer(vendor_id="org.example", message_id="ping", data="hello"))
            # A certificate for its own identity, from a CSR it makes.
            cs.csr_key = ec.generate_private_key(ec.SECP256R1())
            csr = (x509.CertificateSigningRequestBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, args.id),
                                            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Interop CPO")]))
                   .sign(cs.csr_key, hashes.SHA256()))
            signing = await cs.must(call.SignCertificate(
                csr=csr.public_bytes(serialization.Encoding.PEM).decode(),
                certificate_type="ChargingStationCertificate"))
            if signing.status != "Accepted":
                raise RuntimeError(f"certificate request refused: {signing}")
            await asyncio.wait_for(cs.certified.wait(), args.wait)
            print("CERTIFICATE-DONE", flush=True)
            print("LOCAL-SEQUENCE-DONE", flush=True)
            await asyncio.wait_for(cs.reported.wait(), args.wait)
            print("REPORT-DONE", flush=True)
            await asyncio.wait_for(cs.remote_started.wait(), args.wait)
            await asyncio.wait_for(cs.remote_stopped.wait(), args.wait)
            print("REMOTE-STOP-DONE", flush=True)
        finally:
            listener.cancel()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--id-token", required=True)
    parser.add_argument("--wait", type=float, default=60.0)
    try:
        sys.exit(asyncio.run(main(parser.parse_args())))
    except Exception as exc:  # every failure is a non-zero exit the test reports
        log.error("FAILED: %r", exc)
        sys.exit(1)

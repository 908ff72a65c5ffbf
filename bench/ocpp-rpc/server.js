// An in-memory OCPP central system on ocpp-rpc (npm), the peer of
// `plugway bench ocpp --peer ocpp-rpc` (docs/benchmarks.md): it answers what
// the benchmark's chargers send, each call and answer checked against the
// OCPP JSON schemas (strictMode, as Plugway checks them), and keeps nothing.
// Usage: node server.js [PORT]; prints "ocpp-rpc listening on PORT" when ready.
"use strict";
const { RPCServer, createRPCError } = require("ocpp-rpc");

const port = Number(process.argv[2] || 0);
const server = new RPCServer({ protocols: ["ocpp1.6", "ocpp2.0.1"], strictMode: true });
server.auth((accept) => accept());
server.on("client", (client) => {
  const now = () => new Date().toISOString();
  client.handle("BootNotification", () => ({ status: "Accepted", interval: 300, currentTime: now() }));
  client.handle("Heartbeat", () => ({ currentTime: now() }));
  client.handle("StatusNotification", () => ({}));
  client.handle("MeterValues", () => ({}));
  client.handle(({ method }) => {
    throw createRPCError("NotImplemented", `${method} is not handled by this peer`);
  });
});
server.listen(port, "127.0.0.1").then((http) => {
  console.log(`ocpp-rpc listening on ${http.address().port}`);
});

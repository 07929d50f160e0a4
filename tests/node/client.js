// Creates a plan from a scenario file and reports a downtime, using only protos/ and
// @grpc/grpc-js. Usage: node client.js ADDR PROTO_ROOT SCENARIO.yaml MACHINE
// Prints one JSON line with what came back.
"use strict";
const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [addr, protoRoot, scenarioPath, machine] = process.argv.slice(2);
const definition = protoLoader.loadSync(path.join(protoRoot, "scheduler/rpc/v1/scheduler.proto"), {
  includeDirs: [protoRoot],
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { SchedulerService } = grpc.loadPackageDefinition(definition).scheduler.rpc.v1;
const client = new SchedulerService(addr, grpc.credentials.createInsecure());

function call(method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 60000);
    client[method](request, { deadline }, (error, response) => (error ? reject(error) : resolve(response)));
  });
}

async function main() {
  const created = await call("CreatePlan", {
    plan_id: "from-node",
    scenario: { format: "DOCUMENT_FORMAT_YAML", content: fs.readFileSync(scenarioPath) },
  });
  const answer = await call("ReportEvents", {
    plan_id: "from-node",
    events: [{
      event_id: "node-1",
      source: "node-mes",
      occur_time: { seconds: Math.floor(Date.parse("2026-03-02T07:00:00Z") / 1000), nanos: 0 },
      downtime_started: { machine, downtime_id: "node-stop", expected_duration: 20, reason: "jam" },
    }],
  });
  let invalid = null;
  try {
    await call("ReportEvents", {
      plan_id: "from-node",
      events: [{ event_id: "node-2", occur_tick: 70, downtime_started: { machine: "NOPE", downtime_id: "x" } }],
    });
  } catch (error) {
    invalid = { code: error.code, details: error.details };
  }
  const ack = answer.acks[0];
  console.log(JSON.stringify({
    created_version: created.plan.version,
    operations: created.plan.schedule.operation_ids.length,
    version: answer.plan.version,
    now_tick: answer.plan.now_tick,
    tier: ack.receipt.tier,
    valid: ack.receipt.valid,
    duplicate: ack.duplicate,
    invalid,
  }));
  client.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

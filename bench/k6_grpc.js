// k6 side of the gRPC part (bench/protocols.sh): 50 VUs, each iteration one unary
// shop.Catalog/GetProduct over h2c (one connection per VU, opened in its first iteration)
// and one check on its status. Parameters: GRPC_ADDR (host:port), VUS, DURATION,
// SUMMARY_JSON.
import grpc from 'k6/net/grpc';
import { check } from 'k6';
import exec from 'k6/execution';

export const options = {
  scenarios: {
    bench: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 50),
      duration: __ENV.DURATION || '10s',
    },
  },
};

const client = new grpc.Client();
client.load(['../examples/protos'], 'shop.proto');

export default function () {
  if (exec.vu.iterationInScenario === 0) {
    client.connect(__ENV.GRPC_ADDR || '127.0.0.1:18090', { plaintext: true });
  }
  const id = (exec.vu.iterationInScenario % 1000) + 1;
  const r = client.invoke('shop.Catalog/GetProduct', { id: id });
  check(r, { 'status OK': (res) => res && res.status === grpc.StatusOK });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

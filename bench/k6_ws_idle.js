// k6 side of the idle WebSocket part (bench/protocols.sh): each VU opens one session to
// the demo shop's /ws/echo and holds it, sending nothing, for HOLD; one iteration per VU.
// Parameters: WS_URL, VUS, HOLD (e.g. 15s), SUMMARY_JSON.
import ws from 'k6/ws';
import { check } from 'k6';

export const options = {
  scenarios: {
    idle: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.VUS || 10000),
      iterations: 1,
      maxDuration: '2m',
    },
  },
};

const url = (__ENV.WS_URL || 'ws://127.0.0.1:18090') + '/ws/echo';
const holdMs = parseFloat(__ENV.HOLD || '15s') * 1000;

export default function () {
  let got = 0;
  const res = ws.connect(url, {}, function (socket) {
    socket.on('message', () => { got += 1; });
    socket.setTimeout(() => socket.close(), holdMs);
  });
  check(res, { 'idle': (r) => r && r.status === 101 && got === 0 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

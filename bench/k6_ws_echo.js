// k6 side of the WebSocket throughput part (bench/protocols.sh): each VU opens one session
// to the demo shop's /ws/echo, sends a message, and on every echo checks it and sends the
// next, for DURATION. Parameters: WS_URL, VUS, DURATION (e.g. 10s), SUMMARY_JSON.
import ws from 'k6/ws';
import { check } from 'k6';

export const options = {
  scenarios: {
    echo: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.VUS || 50),
      iterations: 1,
      maxDuration: '2m',
    },
  },
};

const url = (__ENV.WS_URL || 'ws://127.0.0.1:18090') + '/ws/echo';
const durMs = parseFloat(__ENV.DURATION || '10s') * 1000;
const msg = 'volley benchmark message';

export default function () {
  ws.connect(url, {}, function (socket) {
    socket.on('open', () => socket.send(msg));
    socket.on('message', (data) => {
      check(data, { 'echoed': (d) => d === msg });
      socket.send(msg);
    });
    socket.setTimeout(() => socket.close(), durMs);
  });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

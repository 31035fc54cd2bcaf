// k6 side of part 2 (bench/run.sh): each VU sends one GET then sleeps 1 s, holding its
// keep-alive connection. Parameters: BASE_URL, VUS, DURATION, SUMMARY_JSON.
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  scenarios: {
    sleepers: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 5000),
      duration: __ENV.DURATION || '15s',
      gracefulStop: '5s',
    },
  },
};

const url = (__ENV.BASE_URL || 'http://127.0.0.1:18080') + '/';

export default function () {
  const r = http.get(url);
  check(r, { 'status 200': (res) => res.status === 200 });
  sleep(1);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

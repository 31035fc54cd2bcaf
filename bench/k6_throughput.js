// k6 side of part 1 (bench/run.sh): 50 VUs for 10 s, a GET and a check per iteration.
// Parameters come from the environment: BASE_URL, VUS, DURATION, SUMMARY_JSON.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    bench: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 50),
      duration: __ENV.DURATION || '10s',
      gracefulStop: '5s',
    },
  },
};

const url = (__ENV.BASE_URL || 'http://127.0.0.1:18080') + '/';

export default function () {
  const r = http.get(url);
  check(r, { 'status 200': (res) => res.status === 200 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

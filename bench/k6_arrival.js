// k6 side of part 3 (bench/run.sh): constant-arrival-rate, the open model.
// Parameters: BASE_URL, RATE (iterations per second), DURATION, SUMMARY_JSON.
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  scenarios: {
    open_model: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 20000),
      timeUnit: '1s',
      duration: __ENV.DURATION || '10s',
      preAllocatedVUs: 500,
      maxVUs: 2000,
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

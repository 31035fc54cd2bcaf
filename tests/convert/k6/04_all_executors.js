// oracle: plan
// Every executor, with startTime, gracefulStop, gracefulRampDown, tags and exec.
import http from 'k6/http';
import { sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    steady: { executor: 'constant-vus', vus: 4, duration: '20s', tags: { kind: 'steady' } },
    ramp: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [{ duration: '10s', target: 6 }, { duration: '10s', target: 0 }],
      gracefulRampDown: '5s',
      startTime: '5s',
    },
    open: {
      executor: 'constant-arrival-rate',
      rate: 20,
      timeUnit: '1s',
      duration: '15s',
      preAllocatedVUs: 5,
      maxVUs: 10,
      exec: 'health',
    },
    ramp_open: {
      executor: 'ramping-arrival-rate',
      startRate: 5,
      timeUnit: '1s',
      stages: [{ duration: '10s', target: 30 }, { duration: '10s', target: 5 }],
      preAllocatedVUs: 8,
      maxVUs: 20,
      exec: 'health',
    },
    shared: { executor: 'shared-iterations', vus: 3, iterations: 30, maxDuration: '40s', gracefulStop: '10s' },
    each: { executor: 'per-vu-iterations', vus: 2, iterations: 5, maxDuration: '1m', startTime: '30s' },
  },
};

export function health() {
  http.get(`${BASE_URL}/health`);
}

export default function () {
  http.get(`${BASE_URL}/api/products`);
  sleep(1);
}

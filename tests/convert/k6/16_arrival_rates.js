// oracle: plan
// Arrival rates over other time units, maxVUs defaulting to preAllocatedVUs.
import http from 'k6/http';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    per_minute: { executor: 'constant-arrival-rate', rate: 120, timeUnit: '1m', duration: '1m', preAllocatedVUs: 4 },
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      preAllocatedVUs: 10,
      maxVUs: 50,
      stages: [
        { target: 50, duration: '30s' },
        { target: 50, duration: '1m' },
        { target: 0, duration: '30s' },
      ],
    },
  },
  thresholds: { dropped_iterations: ['count<10'] },
};

export default function () {
  http.get(`${BASE_URL}/health`);
}

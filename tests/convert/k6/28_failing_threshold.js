// oracle: run
// A threshold that fails: both k6 and the conversion exit 99.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 1,
  iterations: 3,
  thresholds: {
    checks: ['rate>0.99'],
    http_req_failed: ['rate<0.5'],
  },
};

export default function () {
  const res = http.get(`${BASE_URL}/api/products/5000`);
  check(res, { 'exists': (r) => r.status === 200 });
}

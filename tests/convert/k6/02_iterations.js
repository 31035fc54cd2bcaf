// oracle: run
// The vus/iterations shortcut (shared-iterations), a JSON POST and its checks.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 2,
  iterations: 6,
  thresholds: {
    http_req_failed: ['rate<0.01'],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const payload = JSON.stringify({ product_id: 1 + (__ITER % 5), qty: 1 });
  const res = http.post(`${BASE_URL}/api/cart`, payload, {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'cart created': (r) => r.status === 201 });
  http.get(`${BASE_URL}/health`);
}

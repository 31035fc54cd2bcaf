// oracle: plan
// http.put, http.patch, http.head and http.options with bodies and params.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    writers: { executor: 'constant-vus', vus: 2, duration: '5s', gracefulStop: '0s' },
  },
  thresholds: { 'http_req_duration{method:PUT}': ['p(90)<1000'] },
};

export default function () {
  const body = JSON.stringify({ name: 'chair', price: 10 });
  const put = http.put(`${BASE_URL}/api/products/1`, body, { headers: { 'Content-Type': 'application/json' } });
  check(put, { 'refused': (r) => r.status === 405 });
  http.patch(`${BASE_URL}/api/products/1`, 'price=11', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  http.head(`${BASE_URL}/health`);
  http.options(`${BASE_URL}/api/products`);
}

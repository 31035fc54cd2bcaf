// oracle: run
// setup() logs in once and returns a token; every iteration sends it; teardown reports.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 2,
  iterations: 4,
  thresholds: { 'http_req_duration{name:orders}': ['p(95)<3000'] },
};

export function setup() {
  const res = http.post(`${BASE_URL}/api/admin/reset`);
  const token = res.headers['X-Token'];
  return { token: token };
}

export default function (data) {
  const res = http.post(`${BASE_URL}/api/orders`, JSON.stringify({ qty: 1 }), {
    headers: { 'Content-Type': 'application/json', 'x-token': data.token },
    tags: { name: 'orders' },
  });
  check(res, { 'created': (r) => r.status === 201 });
}

export function teardown(data) {
  http.post(`${BASE_URL}/api/admin/report`);
}

// oracle: run
// Helper functions: a login flow returning a token, reused by the iteration.
import http from 'k6/http';
import { check, group } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: { shoppers: { executor: 'per-vu-iterations', vus: 2, iterations: 2, maxDuration: '30s' } },
  thresholds: { 'http_req_duration{group:::checkout}': ['p(95)<3000'] },
};

function login(email) {
  const res = http.post(`${BASE_URL}/api/login`, JSON.stringify({ email: email, password: 'pw' }), {
    headers: { 'Content-Type': 'application/json' },
  });
  return res.json('token');
}

const addToCart = (id) => {
  const r = http.post(`${BASE_URL}/api/cart`, JSON.stringify({ product_id: id, qty: 1 }), {
    headers: { 'Content-Type': 'application/json' },
  });
  return r.status;
};

export default function () {
  const token = login(`user${__VU}@example.com`);
  group('checkout', function () {
    const status = addToCart(3);
    check(status, { 'added': (s) => s === 201 });
    const pay = http.post(`${BASE_URL}/api/checkout`, JSON.stringify({}), {
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    });
    check(pay, { 'paid': (r) => r.json('status') === 'paid' });
  });
}

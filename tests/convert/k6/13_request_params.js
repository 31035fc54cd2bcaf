// oracle: run
// Request params: headers, tags (name and others), timeout, redirects; http.request and
// http.del.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 1,
  iterations: 2,
  thresholds: { 'http_req_duration{tier:free}': ['max<5000'] },
};

export default function () {
  http.get(`${BASE_URL}/api/products?limit=3`, {
    headers: { Accept: 'application/json', 'X-Client': 'k6-corpus' },
    tags: { name: 'products', tier: 'free' },
    timeout: '10s',
  });
  const r = http.request('GET', `${BASE_URL}/api/orders`, null, { timeout: 5000, redirects: 0 });
  check(r, { 'counted': (r) => r.json('count') >= 0 });
  const s = http.post(`${BASE_URL}/api/session`, JSON.stringify({ email: `u${__VU}@example.com`, password: 'x' }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(s, { 'session': (r) => r.status === 200 });
  http.del(`${BASE_URL}/api/session`);
}

// oracle: run
// Thresholds with tag filters (name, group, method, status) and abortOnFail.
import http from 'k6/http';
import { check, group } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    buyers: { executor: 'per-vu-iterations', vus: 2, iterations: 3 },
  },
  thresholds: {
    http_req_failed: ['rate<0.05'],
    http_req_duration: ['p(95)<2000', 'avg<1000'],
    'http_req_duration{name:product}': ['p(99)<2000'],
    'http_req_duration{group:::browse}': [{ threshold: 'p(95)<2000', abortOnFail: true }],
    'http_reqs{method:POST}': ['count>=6'],
    checks: [{ threshold: 'rate>0.9', abortOnFail: true, delayAbortEval: '5s' }],
  },
};

export default function () {
  group('browse', function () {
    const list = http.get(`${BASE_URL}/api/products?page=1&limit=5`);
    check(list, { 'listed': (r) => r.status === 200 });
    http.get(`${BASE_URL}/api/products/7`, { tags: { name: 'product' } });
  });
  const res = http.post(`${BASE_URL}/api/orders`, JSON.stringify({ note: 'x' }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'ordered': (r) => r.status === 201 });
}

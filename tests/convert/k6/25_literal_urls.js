// oracle: plan
// Literal URLs: each origin becomes a target with a param; string concatenation in paths.
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  scenarios: {
    api: { executor: 'constant-vus', vus: 3, duration: '45s', gracefulStop: '5s' },
  },
  thresholds: { 'http_req_duration{scenario:api}': ['p(95)<800'] },
};

export default function () {
  const id = 1 + (__ITER % 10);
  const res = http.get('http://127.0.0.1:8088/api/products/' + id);
  check(res, { 'ok': (r) => r.status === 200 });
  http.get('https://test.k6.io/');
  sleep(1);
}

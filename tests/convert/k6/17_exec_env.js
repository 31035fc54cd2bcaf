// oracle: run
// exec functions and a scenario env read through __ENV.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    small: { executor: 'per-vu-iterations', vus: 1, iterations: 2, exec: 'browse', env: { PER_PAGE: '5' } },
    large: { executor: 'shared-iterations', vus: 2, iterations: 4, exec: 'browse', env: { PER_PAGE: '50' } },
    orders: { executor: 'shared-iterations', vus: 1, iterations: 3, exec: 'order', startTime: '1s' },
  },
};

export function browse() {
  const r = http.get(`${BASE_URL}/api/catalog?per_page=${__ENV.PER_PAGE}`);
  check(r, { 'paged': (r) => r.status === 200 });
}

export function order() {
  http.post(`${BASE_URL}/api/orders`, '{}', { headers: { 'Content-Type': 'application/json' } });
}

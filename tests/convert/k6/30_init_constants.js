// oracle: run
// Init-context constants, options computed from them, a scenario-level tag and gracefulStop.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';
const VUS = 3;
const PER_VU = 2;
const PAGE_SIZE = 10;
const PRODUCTS = [1, 2, 3, 4];

export const options = {
  scenarios: {
    browse: {
      executor: 'per-vu-iterations',
      vus: VUS,
      iterations: PER_VU,
      gracefulStop: '5s',
      tags: { team: 'catalog' },
    },
  },
  thresholds: { 'http_reqs{team:catalog}': ['count>=' + VUS * PER_VU] },
};

export default function () {
  const id = PRODUCTS[__ITER % PRODUCTS.length];
  const res = http.get(`${BASE_URL}/api/catalog?per_page=${PAGE_SIZE}`);
  check(res, { 'page size': (r) => r.json('items').length === PAGE_SIZE });
  http.get(`${BASE_URL}/api/products/${id}`);
  sleep(0.1);
}

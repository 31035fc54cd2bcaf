// oracle: run
// Nested groups and group_duration thresholds.
import http from 'k6/http';
import { group, check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 1,
  iterations: 4,
  thresholds: {
    'group_duration{group:::shop}': ['avg<5000'],
    'http_req_duration{group:::shop::catalog}': ['p(90)<3000'],
  },
};

export default function () {
  group('shop', function () {
    group('catalog', () => {
      const r = http.get(`${BASE_URL}/api/catalog?page=1&per_page=10`);
      check(r, { 'ten items': (r) => r.json('items').length === 10 });
    });
    group('product', () => {
      http.get(`${BASE_URL}/api/products/3`);
    });
  });
}

// oracle: run
// if/else, counting for loops, for-of over a JSON array, while, and per-VU state.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

let visits = 0;

export const options = { vus: 1, iterations: 2 };

export default function () {
  visits++;
  for (let i = 1; i <= 3; i++) {
    http.get(`${BASE_URL}/api/products/${i}`);
  }
  const page = http.get(`${BASE_URL}/api/catalog?per_page=3`);
  let cheap = 0;
  for (const item of page.json('items')) {
    if (item.price < 100) {
      cheap += 1;
    } else {
      cheap -= 0;
    }
  }
  let n = 0;
  while (n < 2) {
    http.get(`${BASE_URL}/health`);
    n++;
  }
  if (visits > 1) {
    http.get(`${BASE_URL}/api/orders`);
  }
  check(page, { 'counted': () => cheap >= 0 });
}

// oracle: run
// SharedArray over a JSON file, rows by iteration.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

const products = new SharedArray('products', () => JSON.parse(open('./data/products.json')));

export const options = { vus: 2, iterations: 8 };

export default function () {
  const p = products[__ITER % products.length];
  const res = http.post(`${BASE_URL}/api/cart`, JSON.stringify({ product_id: p.product_id, qty: p.qty }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'added': (r) => r.status === 201 });
}

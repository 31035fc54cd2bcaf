// oracle: run
// Random pauses and values: Math.random() sleeps, k6-utils helpers.
import http from 'k6/http';
import { sleep } from 'k6';
import { randomIntBetween, randomItem, randomString, uuidv4 } from './lib/k6-utils.js';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 3 };

export default function () {
  const id = randomIntBetween(1, 100);
  http.get(`${BASE_URL}/api/products/${id}`, { tags: { name: 'product' } });
  const size = randomItem([5, 10, 20]);
  http.get(`${BASE_URL}/api/catalog?per_page=${size}`, { tags: { name: 'catalog' } });
  http.post(`${BASE_URL}/api/orders`, JSON.stringify({ ref: uuidv4(), note: randomString(8) }), {
    headers: { 'Content-Type': 'application/json' },
  });
  sleep(Math.random() * 0.2);
  sleep(0.05 + Math.random() * 0.1);
}

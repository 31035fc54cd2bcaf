// oracle: run
// JSON body access: json(path), json().field, JSON.parse(body), lengths and indexes.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 2 };

export default function () {
  const page = http.get(`${BASE_URL}/api/catalog?page=1&per_page=5`);
  const body = page.json();
  const first = page.json('items.0.id');
  const parsed = JSON.parse(page.body);
  check(page, {
    'five': (r) => r.json('items').length === 5,
    'first is 1': () => first === 1,
    'next page': () => parsed.next_page === 2,
    'page': () => body.page === 1,
  });
  const id = body.items[1].id;
  const p = http.get(`${BASE_URL}/api/products/${id}`);
  check(p, { 'same id': (r) => r.json('id') === 2 });
}

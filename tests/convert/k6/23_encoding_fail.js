// oracle: run
// k6/encoding, check(..) || fail(..), and a helper function called as a flow.
import http from 'k6/http';
import { check, fail } from 'k6';
import encoding from 'k6/encoding';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 2 };

function product(id) {
  const r = http.get(`${BASE_URL}/api/products/${id}`, { tags: { name: 'product' } });
  return r;
}

export default function () {
  const basic = encoding.b64encode(`user${__VU}:pw`);
  const res = http.get(`${BASE_URL}/api/products/5`, { headers: { Authorization: `Basic ${basic}` } });
  check(res, { 'found': (r) => r.status === 200 }) || fail('product 5 is missing');
  const again = product(6);
  check(again, { 'six': (r) => r.json('id') === 6 });
}

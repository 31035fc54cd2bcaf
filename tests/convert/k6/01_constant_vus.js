// oracle: plan
// The vus/duration shortcut: k6's default scenario as constant_vus.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 5,
  duration: '30s',
};

export default function () {
  const res = http.get(`${BASE_URL}/api/products`);
  check(res, {
    'status is 200': (r) => r.status === 200,
    'has items': (r) => r.json('items').length > 0,
  });
  sleep(1);
}

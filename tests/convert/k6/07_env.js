// oracle: run
// __ENV: a base URL (a param), a credential (a secret) and a plain setting (env()).
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 3 };

export default function () {
  const size = __ENV.PAGE_SIZE || '5';
  const res = http.get(`${BASE_URL}/api/catalog?per_page=${size}`, {
    headers: { Authorization: `Bearer ${__ENV.API_TOKEN}` },
  });
  check(res, { 'ok': (r) => r.status === 200 });
}

// oracle: run
// http.batch in its three forms; the responses read by index.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 3 };

export default function () {
  const responses = http.batch([
    ['GET', `${BASE_URL}/api/products/1`],
    { method: 'GET', url: `${BASE_URL}/api/products/2` },
    `${BASE_URL}/health`,
  ]);
  check(responses[0], { 'first': (r) => r.status === 200 });
  check(responses[2], { 'health': (r) => r.body === 'ok' });
}

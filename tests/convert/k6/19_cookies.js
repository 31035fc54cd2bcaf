// oracle: run
// A session cookie from the jar, sent back on the next request.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 2, iterations: 4 };

export default function () {
  const login = http.post(`${BASE_URL}/api/session`, JSON.stringify({ email: `user${__VU}@example.com`, password: 'pw' }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(login, { 'logged in': (r) => r.status === 200 });
  const me = http.get(`${BASE_URL}/api/account`);
  check(me, { 'me': (r) => r.json('user') === `user${__VU}@example.com` });
  sleep(0.2);
}

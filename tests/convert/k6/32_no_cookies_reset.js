// oracle: run
// options.noCookiesReset: the VU logs in on its first iteration and stays logged in.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: {
    members: { executor: 'per-vu-iterations', vus: 2, iterations: 3 },
  },
  noCookiesReset: true,
  thresholds: { checks: ['rate==1'] },
};

export default function () {
  if (__ITER === 0) {
    const login = http.post(`${BASE_URL}/api/session`, JSON.stringify({ email: `user${__VU}@example.com`, password: 'pw' }), {
      headers: { 'Content-Type': 'application/json' },
    });
    check(login, { 'logged in': (r) => r.status === 200 });
  }
  const me = http.get(`${BASE_URL}/api/account`);
  check(me, { 'still logged in': (r) => r.status === 200 });
}

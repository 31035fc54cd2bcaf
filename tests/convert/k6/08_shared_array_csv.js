// oracle: run
// SharedArray with papaparse over a CSV file: each VU logs in with its own row.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { SharedArray } from 'k6/data';
import papaparse from './lib/papaparse.js';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

const users = new SharedArray('users', function () {
  return papaparse.parse(open('./data/users.csv'), { header: true }).data;
});

export const options = {
  scenarios: { logins: { executor: 'per-vu-iterations', vus: 4, iterations: 2 } },
  thresholds: { checks: ['rate==1'] },
};

export default function () {
  const user = users[__VU - 1];
  const res = http.post(`${BASE_URL}/api/login`, JSON.stringify({ email: user.email, password: user.password }), {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'logged in': (r) => r.status === 200 });
  sleep(0.1);
}

// oracle: run
// An HTML form with a CSRF token: res.html().find().attr(), an object body (form-encoded).
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = { vus: 1, iterations: 2 };

export default function () {
  const page = http.get(`${BASE_URL}/html/feedback`);
  const csrf = page.html().find('input[name=csrf]').attr('value');
  const sent = http.post(`${BASE_URL}/html/feedback`, { csrf: csrf, message: 'hello' });
  check(sent, {
    'accepted': (r) => r.status === 200,
    'thanked': (r) => r.body.includes('Thank you'),
  });
}

// oracle: run
// The VU's cookie jar (http.cookieJar()): set, clear, delete, cookiesForURL, a request's
// `jar`, and a jar of its own (new http.CookieJar()).
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';
const own = new http.CookieJar();

export const options = {
  vus: 1,
  iterations: 2,
  thresholds: { checks: ['rate==1'] },
};

export default function () {
  const jar = http.cookieJar();
  // A session the script chose: the form's token is bound to it.
  jar.set(`${BASE_URL}/`, 'sid', `visitor-${__VU}`);
  const page = http.get(`${BASE_URL}/html/feedback`, { jar: jar });
  const csrf = page.html().find('input[name=csrf]').attr('value');
  // Cleared, the session is gone: the form is refused.
  jar.clear(`${BASE_URL}/`);
  const refused = http.post(`${BASE_URL}/html/feedback`, { csrf: csrf, message: 'hi' });
  check(refused, { 'no session after clear': (r) => r.status === 403 });
  // Set again, the token matches.
  jar.set(BASE_URL, 'sid', `visitor-${__VU}`);
  const sent = http.post(`${BASE_URL}/html/feedback`, { csrf: csrf, message: 'hi' });
  check(sent, { 'the session set is sent': (r) => r.status === 200 });
  // A path below `/` and options Volley's jar cannot express: dropped, with a note.
  jar.set(`${BASE_URL}/api/products`, 'seen', 'list', { secure: true, max_age: 600 });
  // No equivalent: left as comments.
  jar.delete(BASE_URL, 'seen');
  const stored = jar.cookiesForURL(`${BASE_URL}/`);
  check(stored, { 'sid stored': (c) => c.sid.length === 1 });
  own.set(BASE_URL, 'other', '1');
  // A jar of its own for one request: the VU's jar here.
  http.get(`${BASE_URL}/api/products`, { jar: own });
}

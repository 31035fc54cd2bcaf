// oracle: run
// A text file read with open().split('\n'), one path a line, picked at random.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

const paths = open('./data/paths.txt').split('\n');

export const options = { vus: 1, iterations: 4 };

export default function () {
  const path = paths[Math.floor(Math.random() * paths.length)];
  const res = http.get(`${BASE_URL}${path}`, { tags: { name: 'product' } });
  check(res, { 'ok': (r) => r.status === 200 });
}

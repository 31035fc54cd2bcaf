// oracle: plan
// The stages shortcut: ramping-vus starting from options.vus (1 by default).
import http from 'k6/http';
import { sleep } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  stages: [
    { duration: '10s', target: 10 },
    { duration: '20s', target: 10 },
    { duration: '5s', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<500', 'p(99)<1500'],
  },
};

export default function () {
  http.get(`${BASE_URL}/api/products?page=1&limit=20`);
  sleep(0.5);
}

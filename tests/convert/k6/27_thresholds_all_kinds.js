// oracle: run
// Threshold aggregations of every metric kind: trend med/min/max, counter rate, gauges,
// data sizes, iterations and the tag filters k6 users write most.
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 2,
  iterations: 6,
  thresholds: {
    http_req_duration: ['med<1500', 'min<1000', 'max<5000'],
    'http_req_duration{expected_response:true}': ['p(99.9)<5000'],
    http_req_waiting: ['avg<3000'],
    iteration_duration: ['p(50)<5000'],
    iterations: ['count==6'],
    http_reqs: ['count>=12'],
    data_received: ['count>100'],
    vus_max: ['value<=2'],
    'checks{check:listed}': ['rate>0.5'],
  },
};

export default function () {
  const res = http.get(`${BASE_URL}/api/products?limit=2`);
  check(res, { 'listed': (r) => r.status === 200 });
  http.get(`${BASE_URL}/health`);
}

// oracle: plan
// Constructs with no equivalent: each is kept as a comment with its reason.
import http from 'k6/http';
import ws from 'k6/ws';
import exec from 'k6/execution';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  vus: 1,
  duration: '10s',
  noConnectionReuse: true,
};

export default function () {
  try {
    http.get(`${BASE_URL}/api/products`);
  } catch (e) {
    console.error(e);
  }
  const res = http.get(`${BASE_URL}/health`);
  const later = res.status > 0 ? 'yes' : 'no';
  console.log(later);
  if (res.status !== 200) {
    exec.test.abort('down');
  }
  ws.connect('ws://127.0.0.1:8088/ws', {}, function (socket) {});
}

export function handleSummary(data) {
  return { 'summary.json': JSON.stringify(data) };
}

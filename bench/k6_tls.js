// k6 side of parts 4 (HTTPS, HTTP/1.1 only) and 5 (HTTP/2 by ALPN) of bench/run.sh: 50 VUs,
// a GET and a check per iteration against the loopback nginx's TLS ports, whose
// certificate run.sh makes for the run. Parameters from the environment: BASE_URL, VUS,
// DURATION, SUMMARY_JSON, PROTO ("h1": k6 is kept to HTTP/1.1 by the port, which offers no
// h2; "h2": the port offers h2 and k6 takes it, as it does by default).
import http from 'k6/http';
import { check } from 'k6';

export const options = {
  insecureSkipTLSVerify: true,
  scenarios: {
    bench: {
      executor: 'constant-vus',
      vus: Number(__ENV.VUS || 50),
      duration: __ENV.DURATION || '10s',
      gracefulStop: '5s',
    },
  },
};

const url = (__ENV.BASE_URL || 'https://127.0.0.1:18443') + '/';
const proto = __ENV.PROTO === 'h2' ? 'HTTP/2.0' : 'HTTP/1.1';

export default function () {
  const r = http.get(url);
  check(r, {
    'status 200': (res) => res.status === 200,
    'protocol': (res) => res.proto === proto,
  });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_JSON || 'k6-summary.json']: JSON.stringify(data) };
}

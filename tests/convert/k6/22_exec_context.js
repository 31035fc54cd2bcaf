// oracle: run
// k6/execution: VU and iteration numbers, the scenario's name.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

export const options = {
  scenarios: { numbered: { executor: 'per-vu-iterations', vus: 2, iterations: 2 } },
};

export default function () {
  const vu = exec.vu.idInTest;
  const it = exec.vu.iterationInScenario;
  const res = http.get(`${BASE_URL}/api/products/${vu * 10 + it + 1}`, { tags: { name: 'product' } });
  check(res, { 'in range': (r) => r.status === 200 });
  http.get(`${BASE_URL}/api/catalog?page=${exec.scenario.iterationInTest + 1}`, { tags: { name: 'catalog' } });
  console.log(`scenario ${exec.scenario.name}`);
}

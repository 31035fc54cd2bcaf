// oracle: run
// Trend, Counter, Rate and Gauge, and thresholds on them.
import http from 'k6/http';
import { Trend, Counter, Rate, Gauge } from 'k6/metrics';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8088';

const cartLatency = new Trend('cart_latency', true);
const carts = new Counter('carts');
const cartOk = new Rate('cart_ok');
const lastPrice = new Gauge('last_price');

export const options = {
  vus: 1,
  iterations: 5,
  thresholds: {
    cart_latency: ['p(95)<3000'],
    carts: ['count>=5'],
    cart_ok: ['rate>0.95'],
    last_price: ['value>0'],
  },
};

export default function () {
  const res = http.post(`${BASE_URL}/api/cart`, JSON.stringify({ product_id: 2, qty: 1 }), {
    headers: { 'Content-Type': 'application/json' },
  });
  cartLatency.add(res.timings.duration);
  carts.add(1);
  cartOk.add(res.status === 201);
  const p = http.get(`${BASE_URL}/api/products/2`);
  lastPrice.add(p.json('price'));
}

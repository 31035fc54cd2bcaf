//! The live page: the report's shell and stylesheet, a few more rules, and one inline
//! script that polls `dashboard/data` (relative, so the page works behind a path prefix
//! such as the Kubernetes API server's service proxy) once a second and draws the charts
//! as inline SVG. It loads nothing from anywhere else. When the data says `done`, it
//! reloads: the same URL then serves the report.
//!
//! Elements the tests read: `#live` (only on the live page), `#phase`, the cards' `b`
//! elements with `data-value`, each chart's `<svg>` with `data-points` (how many
//! intervals it draws) and `data-last` (its first line's last value), `#thresholds` and
//! `#runners` rows with `data-state`.

use crate::output::report::html::{esc, page};

/// The live page of the test `name`.
pub fn live(name: &str) -> String {
    let body = format!(
        "<header id=\"live\"><h1>{} <span class=\"verdict\" id=\"phase\">connecting</span></h1>\
         <p class=\"meta\" id=\"meta\">live dashboard · updates every second</p></header>\n{BODY}<style>{STYLE}</style>\n<script>{SCRIPT}</script>\n",
        esc(name)
    );
    page(&format!("{name} · Volley live"), &body)
}

const BODY: &str = r#"<section class="cards" id="cards">
<div class="card"><b id="c-elapsed" data-value="0">–</b><span>elapsed</span></div>
<div class="card"><b id="c-vus" data-value="0">–</b><span>active VUs</span></div>
<div class="card"><b id="c-reqs" data-value="0">–</b><span>requests</span></div>
<div class="card"><b id="c-rps" data-value="0">–</b><span>requests/s (last second)</span></div>
<div class="card"><b id="c-failed" data-value="0">–</b><span>failed requests</span></div>
<div class="card"><b id="c-p95" data-value="0">–</b><span>p95 latency (run)</span></div>
<div class="card"><b id="c-iters" data-value="0">–</b><span>iterations</span></div>
<div class="card"><b id="c-checks" data-value="0">–</b><span>checks passed</span></div>
</section>
<section id="charts"><h2>Over time</h2>
<figure class="chart"><figcaption>Latency percentiles per interval (http_req_duration)</figcaption><ul class="legend" id="l-latency"></ul><svg id="chart-latency" viewBox="0 0 960 220" data-points="0"></svg></figure>
<figure class="chart"><figcaption>Throughput</figcaption><ul class="legend" id="l-throughput"></ul><svg id="chart-throughput" viewBox="0 0 960 220" data-points="0"></svg></figure>
<figure class="chart"><figcaption>Virtual users</figcaption><ul class="legend" id="l-vus"></ul><svg id="chart-vus" viewBox="0 0 960 220" data-points="0"></svg></figure>
<figure class="chart"><figcaption>Errors and dropped iterations</figcaption><ul class="legend" id="l-errors"></ul><svg id="chart-errors" viewBox="0 0 960 220" data-points="0"></svg></figure>
</section>
<section><h2>Thresholds</h2><table id="thresholds"><thead><tr><th>threshold</th><th>conditions (observed)</th><th>verdict so far</th></tr></thead><tbody></tbody></table><p class="meta" id="no-thresholds" hidden>The test has no thresholds.</p></section>
<section id="fleet" hidden><h2>Runners</h2><table id="runners"><thead><tr><th>runner</th><th>state</th><th class="num">requests</th><th class="num">iterations</th></tr></thead><tbody></tbody></table>
<form id="abort" hidden><p class="meta">Stopping the fleet needs its run token; the page sends it only with this request.</p><input type="password" id="token" autocomplete="off" placeholder="run token" aria-label="run token"> <button type="submit">Abort the run</button> <span id="abort-result"></span></form></section>
"#;

const STYLE: &str = r#"
.verdict.wait { background: var(--muted); }
#conn { color: var(--bad); }
form#abort input { font: inherit; padding: 3px 6px; }
form#abort button { font: inherit; padding: 3px 10px; }
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var pts = [], since = 0, reloading = false;
  var W = 960, H = 220, L = 70, R = 16, T = 12, B = 30;
  function $(id) { return document.getElementById(id); }
  function num(v) {
    if (v === null || v === undefined || isNaN(v)) return '–';
    var a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (a >= 100 || v === Math.round(v)) return String(Math.round(v));
    return v.toFixed(2);
  }
  function ms(v) {
    if (v === null || v === undefined) return '–';
    if (v === 0) return '0 ms';
    if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
    if (v >= 10) return v.toFixed(0) + ' ms';
    return v.toFixed(2) + ' ms';
  }
  function pct(v) { return (v * 100).toFixed(2) + ' %'; }
  function clock(s) {
    s = Math.round(s);
    var m = Math.floor(s / 60), r = s % 60;
    return m > 0 ? m + 'm' + (r < 10 ? '0' : '') + r + 's' : r + 's';
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  function rate(n, p) { return p.secs > 0 ? n / p.secs : 0; }
  function nice(x) {
    if (!(x > 0)) return 1;
    var e = Math.pow(10, Math.floor(Math.log10(x))), f = x / e;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * e;
  }
  function card(id, value, text) {
    var el = $(id);
    el.setAttribute('data-value', String(value));
    el.textContent = text;
  }
  // One chart: each interval a step over its true span, like the report.
  function chart(name, fmt, lines, whole) {
    var svg = $('chart-' + name), legend = $('l-' + name);
    if (!legend.childElementCount) {
      legend.innerHTML = lines.map(function (l, i) {
        return '<li><span class="sw s' + (i % 5) + ' d' + (i % 4) + '"></span>' + esc(l.label) + '</li>';
      }).join('');
    }
    var xMax = 1, yMax = 0;
    var series = lines.map(function (l) {
      return pts.map(function (p) {
        var y = l.f(p);
        if (y === null || y === undefined) return null;
        xMax = Math.max(xMax, p.t_ms / 1000);
        yMax = Math.max(yMax, y);
        return [p.start_ms / 1000, p.t_ms / 1000, y];
      });
    });
    var step = whole ? Math.max(1, nice(yMax / 4)) : nice(yMax / 4), top = Math.max(step * Math.ceil(yMax / step), step);
    function sx(x) { return L + x / xMax * (W - L - R); }
    function sy(y) { return H - B - y / top * (H - T - B); }
    var s = '';
    for (var v = 0; v <= top + 1e-9; v += step) {
      s += '<line class="grid" x1="' + L + '" y1="' + sy(v).toFixed(1) + '" x2="' + (W - R) + '" y2="' + sy(v).toFixed(1) + '"/>' +
        '<text class="tick" x="' + (L - 6) + '" y="' + (sy(v) + 4).toFixed(1) + '" text-anchor="end">' + esc(fmt(v)) + '</text>';
    }
    var xs = nice(xMax / 6);
    for (var t = 0; t <= xMax + 1e-9; t += xs) {
      s += '<text class="tick" x="' + sx(t).toFixed(1) + '" y="' + (H - B + 18) + '" text-anchor="middle">' + clock(t) + '</text>';
    }
    s += '<line class="axis" x1="' + L + '" y1="' + (H - B) + '" x2="' + (W - R) + '" y2="' + (H - B) + '"/>';
    if (!pts.length) s += '<text class="empty" x="' + W / 2 + '" y="' + H / 2 + '" text-anchor="middle">waiting for the first second</text>';
    var last = null;
    series.forEach(function (pl, i) {
      var d = '', open = false;
      pl.forEach(function (q) {
        if (!q) { open = false; return; }
        d += (open ? 'L' : 'M') + sx(q[0]).toFixed(1) + ' ' + sy(q[2]).toFixed(1) + 'L' + sx(q[1]).toFixed(1) + ' ' + sy(q[2]).toFixed(1);
        open = true;
        if (i === 0) last = q[2];
      });
      if (d) s += '<path class="line s' + (i % 5) + ' d' + (i % 4) + '" d="' + d + '"><title>' + esc(lines[i].label) + '</title></path>';
    });
    svg.innerHTML = s;
    svg.setAttribute('data-points', String(pts.length));
    svg.setAttribute('data-last', last === null ? '' : String(last));
  }
  function draw(d) {
    var per = function (v) { return num(v) + '/s'; };
    chart('latency', ms, [
      { label: 'p50', f: function (p) { return p.latency && p.latency.p50; } },
      { label: 'p90', f: function (p) { return p.latency && p.latency.p90; } },
      { label: 'p95', f: function (p) { return p.latency && p.latency.p95; } },
      { label: 'p99', f: function (p) { return p.latency && p.latency.p99; } }
    ]);
    chart('throughput', per, [
      { label: 'requests/s', f: function (p) { return rate(p.http_reqs, p); } },
      { label: 'iterations/s', f: function (p) { return rate(p.iterations, p); } }
    ]);
    chart('vus', num, [
      { label: 'active VUs', f: function (p) { return p.vus; } },
      { label: 'allocated VUs', f: function (p) { return p.vus_max; } }
    ], true);
    chart('errors', per, [
      { label: 'failed requests/s', f: function (p) { return rate(p.http_failed, p); } },
      { label: 'failed checks/s', f: function (p) { return rate(p.checks_failed, p); } },
      { label: 'dropped iterations/s', f: function (p) { return rate(p.dropped_iterations, p); } }
    ]);
    var t = d.totals || {}, lastP = pts.length ? pts[pts.length - 1] : null;
    card('c-elapsed', d.elapsed_ms, clock(d.elapsed_ms / 1000) + (d.total_ms ? ' / ' + clock(d.total_ms / 1000) : ''));
    card('c-vus', d.vus, num(d.vus) + ' / ' + num(d.vus_max));
    card('c-reqs', t.http_reqs || 0, num(t.http_reqs || 0));
    var rps = lastP ? rate(lastP.http_reqs, lastP) : 0;
    card('c-rps', rps, num(rps) + '/s');
    var failed = t.http_reqs ? (t.http_failed || 0) / t.http_reqs : 0;
    card('c-failed', failed, pct(failed));
    card('c-p95', t.latency ? t.latency.p95 : '', t.latency ? ms(t.latency.p95) : '–');
    card('c-iters', t.iterations || 0, num(t.iterations || 0));
    var checks = (t.checks_passed || 0) + (t.checks_failed || 0);
    card('c-checks', checks ? t.checks_passed / checks : '', checks ? pct(t.checks_passed / checks) : '–');
    var phase = $('phase');
    phase.textContent = d.phase;
    phase.className = 'verdict ' + (d.phase === 'running' ? 'ok' : 'wait');
    $('meta').textContent = 'test id ' + d.testid + ' · live dashboard · updates every second';
    var rows = d.thresholds.map(function (r) {
      var conds = r.conditions.map(function (c) {
        return esc(c.source) + ' (' + (c.observed === null ? 'no data yet' : esc(c.observed_text || num(c.observed))) + ')';
      }).join('<br>');
      return '<tr data-state="' + (r.passed ? 'pass' : 'fail') + '"><td>' + esc(r.name) + '</td><td>' + conds +
        '</td><td class="' + (r.passed ? 'pass">pass' : 'fail">fail') + '</td></tr>';
    });
    $('thresholds').tBodies[0].innerHTML = rows.join('');
    $('no-thresholds').hidden = d.thresholds.length > 0;
    $('fleet').hidden = !d.runners.length && !d.control;
    $('abort').hidden = !d.control || d.phase === 'done';
    $('runners').tBodies[0].innerHTML = d.runners.map(function (r) {
      return '<tr data-state="' + esc(r.state) + '"><td>' + r.index + '</td><td>' + esc(r.state) +
        (r.reason ? ' (' + esc(r.reason) + ')' : '') + '</td><td class="num">' + num(r.http_reqs) +
        '</td><td class="num">' + num(r.iterations) + '</td></tr>';
    }).join('');
  }
  function poll() {
    fetch('dashboard/data?since=' + since, { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (d) {
        if (d.since === since) { pts = pts.concat(d.points); since += d.points.length; }
        draw(d);
        if (d.phase === 'done' && !reloading) {
          reloading = true;
          $('meta').textContent = 'the run has ended: loading the report';
          setTimeout(function () { location.reload(); }, 300);
          return;
        }
        setTimeout(poll, since < d.point_count ? 0 : 1000);
      })
      .catch(function (e) {
        $('phase').textContent = 'no answer (' + e.message + '), retrying';
        $('phase').className = 'verdict bad';
        setTimeout(poll, 2000);
      });
  }
  $('abort').addEventListener('submit', function (ev) {
    ev.preventDefault();
    fetch('v1/abort', { method: 'POST', headers: { 'X-Volley-Token': $('token').value } })
      .then(function (r) {
        $('abort-result').textContent = r.ok ? 'stopping the fleet…' : r.status === 401 ? 'refused: wrong token' : 'refused (' + r.status + ')';
      })
      .catch(function (e) { $('abort-result').textContent = 'failed: ' + e.message; });
    $('token').value = '';
  });
  poll();
})();
"#;

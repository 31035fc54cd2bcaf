//! HTML building blocks of the report: escaping, tables, and the page shell with its
//! one inline stylesheet (light and dark via `prefers-color-scheme`, `@media print`).
//! The page references nothing outside itself: no script, font, image or stylesheet.

use std::fmt::Write as _;

/// Escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table: `head` cells, then rows of (attributes of the `<tr>`, cells as HTML).
pub fn table(id: &str, head: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut s = format!("<table id=\"{}\"><thead><tr>", esc(id));
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for (attrs, cells) in rows {
        let _ = write!(s, "<tr{attrs}>");
        for c in cells {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>\n");
    s
}

/// A `<section>` with a heading.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{}\"><h2>{}</h2>\n{body}</section>\n",
        esc(id),
        esc(title)
    )
}

/// The whole page around `body`.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body>\n{body}</body></html>\n",
        esc(title)
    )
}

const STYLE: &str = r#"
:root { --bg:#ffffff; --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --panel:#f6f8fa;
  --ok:#1a7f37; --bad:#cf222e; --c0:#0969da; --c1:#1a7f37; --c2:#bf8700; --c3:#cf222e; --c4:#8250df; }
@media (prefers-color-scheme: dark) {
  :root { --bg:#0d1117; --fg:#e6edf3; --muted:#9198a1; --line:#3d444d; --panel:#151b23;
    --ok:#3fb950; --bad:#f85149; --c0:#4493f8; --c1:#3fb950; --c2:#d29922; --c3:#f85149; --c4:#ab7df8; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 10px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 600; color: #fff; }
.verdict.ok { background: var(--ok); } .verdict.bad { background: var(--bad); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
.card b { display: block; font-size: 18px; } .card span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
.pass { color: var(--ok); font-weight: 600; } .fail { color: var(--bad); font-weight: 600; }
figure.chart { margin: 8px 0 18px; break-inside: avoid; }
figcaption { font-weight: 600; }
ul.legend { list-style: none; padding: 0; margin: 2px 0; display: flex; gap: 14px; flex-wrap: wrap;
  color: var(--muted); font-size: 12px; }
.sw { display: inline-block; width: 22px; height: 0; border-top: 3px solid; margin-right: 5px;
  vertical-align: middle; background: none !important; }
.sw.d1 { border-top-style: dashed; } .sw.d2 { border-top-style: dotted; } .sw.d3 { border-top-style: double; }
svg .d1 { stroke-dasharray: 8 4; } svg .d2 { stroke-dasharray: 2 3; } svg .d3 { stroke-dasharray: 10 3 2 3; }
svg { width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; } svg .axis { stroke: var(--muted); stroke-width: 1; }
svg .tick, svg .empty { fill: var(--muted); font-size: 11px; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
.s0 { stroke: var(--c0); background: var(--c0); fill: var(--c0); border-color: var(--c0); }
.s1 { stroke: var(--c1); background: var(--c1); fill: var(--c1); border-color: var(--c1); }
.s2 { stroke: var(--c2); background: var(--c2); fill: var(--c2); border-color: var(--c2); }
.s3 { stroke: var(--c3); background: var(--c3); fill: var(--c3); border-color: var(--c3); }
.s4 { stroke: var(--c4); background: var(--c4); fill: var(--c4); border-color: var(--c4); }
svg path.line { fill: none; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px;
  overflow-x: auto; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre; }
@media print {
  :root { --bg:#fff; --fg:#000; --muted:#444; --line:#bbb; --panel:#fff; }
  body { max-width: none; padding: 0; font-size: 11px; }
  section, figure.chart, table { break-inside: avoid; }
  pre { white-space: pre-wrap; border: none; }
  .verdict { color: #000; border: 1px solid #000; background: none !important; }
}
"#;

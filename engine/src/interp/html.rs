//! HTML of responses (`res.html().find("input[name=csrf]").attr("value")`), with the
//! `scraper` crate. A selection is a json array of the matched elements, each
//! `{"html": outer HTML, "attrs": {..}, "text": ..}`, so it is an ordinary value; the
//! document itself is one element `{"document": body}`. `find` on a document parses it
//! once; `find` on elements parses each element's HTML as a fragment. Selectors written
//! as literals were checked by the compiler; others fail the iteration when they do not
//! parse. This module must not do IO.

use super::{Halt, R};
use crate::value::Value;
use scraper::{ElementRef, Html, Selector};
use serde_json::{json, Map, Value as J};
use std::sync::Arc;

/// `res.html()`: the document (the body as text, parsed when first searched).
pub(crate) fn document(body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    Value::Json(Arc::new(json!([{ "document": text }])))
}

fn elements(v: &Value) -> R<&[J]> {
    match v {
        Value::Json(j) => match &**j {
            J::Array(a) => Ok(a),
            _ => Err(not_html(v)),
        },
        _ => Err(not_html(v)),
    }
}

fn not_html(v: &Value) -> Halt {
    Halt::error(
        "html: not an html value",
        format!("an html method needs an html value, got {}", v.kind()),
    )
}

fn element_json(e: ElementRef<'_>) -> J {
    let attrs: Map<String, J> = e
        .value()
        .attrs()
        .map(|(k, v)| (k.to_string(), J::String(v.to_string())))
        .collect();
    json!({
        "html": e.html(),
        "attrs": attrs,
        "text": e.text().collect::<String>(),
    })
}

/// `sel.find(selector)`: every element under the selection that matches, in order.
pub(crate) fn find(sel: &Value, selector: &Value) -> R<Value> {
    let text = selector.as_text().unwrap_or("");
    let parsed = Selector::parse(text).map_err(|e| {
        Halt::error(
            "html: invalid selector",
            format!("`{text}` is not a valid CSS selector: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for el in elements(sel)? {
        if let Some(doc) = el.get("document").and_then(J::as_str) {
            let html = Html::parse_document(doc);
            out.extend(html.select(&parsed).map(element_json));
        } else if let Some(frag) = el.get("html").and_then(J::as_str) {
            let html = Html::parse_fragment(frag);
            // The fragment's root element is the element itself: search below it.
            let inner = html.root_element().children().filter_map(ElementRef::wrap);
            for top in inner {
                out.extend(
                    top.select(&parsed)
                        .filter(|e| e.id() != top.id())
                        .map(element_json),
                );
            }
        }
    }
    Ok(Value::Json(Arc::new(J::Array(out))))
}

/// `sel.first()`: the first element, or an empty selection.
pub(crate) fn first(sel: &Value) -> R<Value> {
    let first: Vec<J> = elements(sel)?.iter().take(1).cloned().collect();
    Ok(Value::Json(Arc::new(J::Array(first))))
}

/// `sel.attr(name)`: the attribute of the first element, "" when there is no element or
/// no such attribute.
pub(crate) fn attr(sel: &Value, name: &Value) -> R<Value> {
    let name = name.as_text().unwrap_or("");
    let found = elements(sel)?
        .first()
        .and_then(|e| e.get("attrs"))
        .and_then(|a| a.get(name))
        .and_then(J::as_str)
        .unwrap_or("");
    Ok(Value::Str(Arc::from(found)))
}

/// `sel.text()`: the text of every element, joined (a document's whole text).
pub(crate) fn text(sel: &Value) -> R<Value> {
    let mut out = String::new();
    for el in elements(sel)? {
        if let Some(doc) = el.get("document").and_then(J::as_str) {
            let html = Html::parse_document(doc);
            out.extend(html.root_element().text());
        } else if let Some(t) = el.get("text").and_then(J::as_str) {
            out.push_str(t);
        }
    }
    Ok(Value::Str(Arc::from(out.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str =
        "<!doctype html><html><body><form id=f><input type=hidden name=csrf value=t0k>\
        <input name=message></form><ul class=tips><li>a</li><li>b</li></ul>\
        <table><tr><td>x</td></tr></table></body></html>";

    fn s(v: &str) -> Value {
        Value::Str(Arc::from(v))
    }

    fn text_of(v: R<Value>) -> String {
        match v {
            Ok(Value::Str(s)) => s.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_reads_attributes_and_text() {
        let doc = document(PAGE.as_bytes());
        let csrf = find(&doc, &s("input[name=csrf]")).unwrap();
        assert_eq!(text_of(attr(&csrf, &s("value"))), "t0k");
        assert_eq!(text_of(attr(&csrf, &s("nope"))), "");
        let items = find(&doc, &s("ul.tips li")).unwrap();
        assert_eq!(elements(&items).unwrap().len(), 2);
        assert_eq!(text_of(text(&items)), "ab");
        assert_eq!(text_of(text(&first(&items).unwrap())), "a");
        let none = find(&doc, &s("select")).unwrap();
        assert_eq!(elements(&none).unwrap().len(), 0);
        assert_eq!(text_of(attr(&none, &s("value"))), "");
        assert_eq!(elements(&first(&none).unwrap()).unwrap().len(), 0);
    }

    #[test]
    fn find_below_a_selection_searches_inside_each_element() {
        let doc = document(PAGE.as_bytes());
        let form = find(&doc, &s("form#f")).unwrap();
        let inputs = find(&form, &s("input")).unwrap();
        assert_eq!(elements(&inputs).unwrap().len(), 2);
        assert_eq!(
            elements(&find(&form, &s("form")).unwrap()).unwrap().len(),
            0
        );
        assert_eq!(text_of(text(&find(&doc, &s("td")).unwrap())), "x");
    }

    #[test]
    fn a_bad_selector_fails_the_iteration() {
        let doc = document(PAGE.as_bytes());
        assert!(find(&doc, &s("input[name=")).is_err());
        assert!(find(&s("text"), &s("a")).is_err());
    }
}

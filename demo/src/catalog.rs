//! The shop's product catalogue: ids `1..=1000`, each with a deterministic name and price,
//! rendered to JSON once per process so that the hot path only copies bytes.
//! Pure data: no IO, no clock, no randomness (the same id always gives the same product).

use std::sync::OnceLock;

/// The largest product id; ids `1..=MAX_ID` exist.
pub(crate) const MAX_ID: u64 = 1000;

const ADJECTIVES: [&str; 10] = [
    "Ergonomic",
    "Rustic",
    "Sleek",
    "Handmade",
    "Refined",
    "Compact",
    "Vintage",
    "Modern",
    "Sturdy",
    "Elegant",
];
const MATERIALS: [&str; 10] = [
    "Steel", "Wooden", "Cotton", "Granite", "Bamboo", "Leather", "Copper", "Glass", "Wool",
    "Ceramic",
];
const NOUNS: [&str; 10] = [
    "Chair", "Lamp", "Kettle", "Backpack", "Table", "Mug", "Clock", "Shelf", "Blanket", "Vase",
];

/// The product's JSON object, e.g. `{"id":42,"name":"Sleek Cotton Chair","price":23.99}`,
/// or `None` for an unknown id.
pub(crate) fn product_json(id: u64) -> Option<&'static str> {
    let idx = usize::try_from(id.checked_sub(1)?).ok()?;
    rendered().get(idx).map(|s| &**s)
}

/// Renders a page of the product list into a JSON body. `page` counts from 1; a page
/// past the end has no items.
pub(crate) fn page_json(page: u64, limit: u64) -> Vec<u8> {
    let first = page.saturating_sub(1).saturating_mul(limit);
    let all = rendered();
    let start = usize::try_from(first).unwrap_or(usize::MAX).min(all.len());
    let end = start
        .saturating_add(usize::try_from(limit).unwrap_or(usize::MAX))
        .min(all.len());
    let items = &all[start..end];
    let mut out = Vec::with_capacity(64 + items.iter().map(|s| s.len() + 1).sum::<usize>());
    out.extend_from_slice(
        format!("{{\"page\":{page},\"limit\":{limit},\"total\":{MAX_ID},\"items\":[").as_bytes(),
    );
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
    out.extend_from_slice(b"]}");
    out
}

fn rendered() -> &'static [Box<str>] {
    static RENDERED: OnceLock<Vec<Box<str>>> = OnceLock::new();
    RENDERED.get_or_init(|| (1..=MAX_ID).map(render).collect())
}

/// The product's name and price in cents (what its JSON says), or `None` for an
/// unknown id; the gRPC service answers from it.
pub(crate) fn product(id: u64) -> Option<(String, u64)> {
    (1..=MAX_ID)
        .contains(&id)
        .then(|| (name(id), price_cents(id)))
}

fn name(id: u64) -> String {
    let n = (id - 1) as usize;
    format!(
        "{} {} {}",
        ADJECTIVES[n % 10],
        MATERIALS[(n / 10) % 10],
        NOUNS[(n / 100) % 10]
    )
}

fn render(id: u64) -> Box<str> {
    let name = name(id);
    serde_json::json!({"id": id, "name": name, "price": price_cents(id) as f64 / 100.0})
        .to_string()
        .into_boxed_str()
}

/// A price between 1.99 and 499.99 that always ends in .99 or .49, mixed from the id.
fn price_cents(id: u64) -> u64 {
    let mut x = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    let dollars = 1 + x % 499;
    dollars * 100 + if x & 1 == 0 { 99 } else { 49 }
}

/// Renders a page of `GET /api/catalog` (the cursor-style list): `{"items": [..],
/// "page": N, "next_page": N + 1}`, `next_page` null on the last page and past it.
pub(crate) fn cursor_page_json(page: u64, per_page: u64) -> Vec<u8> {
    let first = page.saturating_sub(1).saturating_mul(per_page);
    let all = rendered();
    let start = usize::try_from(first).unwrap_or(usize::MAX).min(all.len());
    let end = start
        .saturating_add(usize::try_from(per_page).unwrap_or(usize::MAX))
        .min(all.len());
    let mut out =
        Vec::with_capacity(64 + all[start..end].iter().map(|s| s.len() + 1).sum::<usize>());
    out.extend_from_slice(b"{\"items\":[");
    for (i, item) in all[start..end].iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item.as_bytes());
    }
    let next = if end < all.len() && end > start {
        (page + 1).to_string()
    } else {
        "null".to_string()
    };
    out.extend_from_slice(format!("],\"page\":{page},\"next_page\":{next}}}").as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_one_to_max_exist_and_others_do_not() {
        assert!(product_json(0).is_none());
        assert!(product_json(MAX_ID + 1).is_none());
        assert!(product_json(u64::MAX).is_none());
        let p: serde_json::Value = serde_json::from_str(product_json(42).unwrap()).unwrap();
        assert_eq!(p["id"], 42);
        assert!(
            p["name"]
                .as_str()
                .is_some_and(|n| n.split(' ').count() == 3),
            "{p}"
        );
        let price = p["price"].as_f64().unwrap();
        assert!((1.0..500.0).contains(&price), "{p}");
    }

    #[test]
    fn names_are_unique() {
        let names: std::collections::HashSet<String> = (1..=MAX_ID)
            .map(|id| {
                let p: serde_json::Value = serde_json::from_str(product_json(id).unwrap()).unwrap();
                p["name"].as_str().unwrap().to_string()
            })
            .collect();
        assert_eq!(names.len() as u64, MAX_ID);
    }

    #[test]
    fn cursor_pages_link_to_the_next_one() {
        let v: serde_json::Value = serde_json::from_slice(&cursor_page_json(1, 100)).unwrap();
        assert_eq!(v["page"], 1);
        assert_eq!(v["next_page"], 2);
        assert_eq!(v["items"].as_array().unwrap().len(), 100);
        assert_eq!(v["items"][0]["id"], 1);
        let last: serde_json::Value = serde_json::from_slice(&cursor_page_json(10, 100)).unwrap();
        assert_eq!(last["items"][99]["id"], 1000);
        assert!(last["next_page"].is_null(), "{last}");
        let odd: serde_json::Value = serde_json::from_slice(&cursor_page_json(3, 400)).unwrap();
        assert_eq!(odd["items"].as_array().unwrap().len(), 200);
        assert!(odd["next_page"].is_null());
        let past: serde_json::Value =
            serde_json::from_slice(&cursor_page_json(u64::MAX, 100)).unwrap();
        assert_eq!(past["items"].as_array().unwrap().len(), 0);
        assert!(past["next_page"].is_null());
    }

    #[test]
    fn pages_slice_the_catalogue() {
        let v: serde_json::Value = serde_json::from_slice(&page_json(2, 20)).unwrap();
        assert_eq!(v["page"], 2);
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 20);
        assert_eq!(items[0]["id"], 21);
        assert_eq!(items[19]["id"], 40);
        let last: serde_json::Value = serde_json::from_slice(&page_json(10, 100)).unwrap();
        assert_eq!(last["items"].as_array().unwrap().len(), 100);
        let past: serde_json::Value = serde_json::from_slice(&page_json(u64::MAX, 100)).unwrap();
        assert_eq!(past["items"].as_array().unwrap().len(), 0);
    }
}

//! The shop's fixed table of endpoints: routing of a method and path to an [`Endpoint`],
//! the per-endpoint request counters (one padded atomic each, no lock) and the realistic
//! latency range of each endpoint. Pure data and arithmetic: no IO, no sleeping here.

use hyper::Method;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every route the shop serves. The discriminant indexes the counter table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Login,
    ProductList,
    Product,
    Cart,
    Checkout,
    OrderCreate,
    OrderCount,
    AdminReset,
    AdminReport,
    AdminStats,
    Health,
    SessionCreate,
    SessionDelete,
    Account,
    Signed,
    Catalog,
    FeedbackForm,
    FeedbackPost,
    Upload,
    WsEcho,
    WsTicker,
    /// gRPC `shop.Catalog/GetProduct` and its streams (`grpc.rs`).
    GrpcGetProduct,
    GrpcListProducts,
    GrpcAddToCart,
    GrpcChat,
}

impl Endpoint {
    pub(crate) const ALL: [Endpoint; 25] = [
        Endpoint::Login,
        Endpoint::ProductList,
        Endpoint::Product,
        Endpoint::Cart,
        Endpoint::Checkout,
        Endpoint::OrderCreate,
        Endpoint::OrderCount,
        Endpoint::AdminReset,
        Endpoint::AdminReport,
        Endpoint::AdminStats,
        Endpoint::Health,
        Endpoint::SessionCreate,
        Endpoint::SessionDelete,
        Endpoint::Account,
        Endpoint::Signed,
        Endpoint::Catalog,
        Endpoint::FeedbackForm,
        Endpoint::FeedbackPost,
        Endpoint::Upload,
        Endpoint::WsEcho,
        Endpoint::WsTicker,
        Endpoint::GrpcGetProduct,
        Endpoint::GrpcListProducts,
        Endpoint::GrpcAddToCart,
        Endpoint::GrpcChat,
    ];

    /// The key of this endpoint in [`crate::Stats`]: `"METHOD /path"`, with `{id}` for the
    /// product id so that the table stays bounded.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Endpoint::Login => "POST /api/login",
            Endpoint::ProductList => "GET /api/products",
            Endpoint::Product => "GET /api/products/{id}",
            Endpoint::Cart => "POST /api/cart",
            Endpoint::Checkout => "POST /api/checkout",
            Endpoint::OrderCreate => "POST /api/orders",
            Endpoint::OrderCount => "GET /api/orders",
            Endpoint::AdminReset => "POST /api/admin/reset",
            Endpoint::AdminReport => "POST /api/admin/report",
            Endpoint::AdminStats => "GET /api/admin/stats",
            Endpoint::Health => "GET /health",
            Endpoint::SessionCreate => "POST /api/session",
            Endpoint::SessionDelete => "DELETE /api/session",
            Endpoint::Account => "GET /api/account",
            Endpoint::Signed => "POST /api/signed",
            Endpoint::Catalog => "GET /api/catalog",
            Endpoint::FeedbackForm => "GET /html/feedback",
            Endpoint::FeedbackPost => "POST /html/feedback",
            Endpoint::Upload => "POST /api/upload",
            Endpoint::WsEcho => "GET /ws/echo",
            Endpoint::WsTicker => "GET /ws/ticker",
            Endpoint::GrpcGetProduct => "POST /shop.Catalog/GetProduct",
            Endpoint::GrpcListProducts => "POST /shop.Catalog/ListProducts",
            Endpoint::GrpcAddToCart => "POST /shop.Catalog/AddToCart",
            Endpoint::GrpcChat => "POST /shop.Catalog/Chat",
        }
    }

    /// The simulated service time, in microseconds (inclusive range), when latency is on.
    pub(crate) fn latency_us(self) -> Option<(u64, u64)> {
        match self {
            Endpoint::ProductList | Endpoint::Catalog => Some((2_000, 6_000)),
            Endpoint::Product | Endpoint::GrpcGetProduct => Some((1_000, 3_000)),
            Endpoint::Login | Endpoint::SessionCreate => Some((5_000, 12_000)),
            Endpoint::SessionDelete | Endpoint::Account => Some((1_000, 3_000)),
            Endpoint::Cart => Some((3_000, 8_000)),
            Endpoint::Checkout => Some((8_000, 20_000)),
            Endpoint::OrderCreate | Endpoint::OrderCount => Some((3_000, 8_000)),
            Endpoint::AdminReset | Endpoint::AdminReport => Some((1_000, 2_000)),
            Endpoint::Signed | Endpoint::FeedbackForm | Endpoint::FeedbackPost => {
                Some((1_000, 3_000))
            }
            Endpoint::Upload => Some((2_000, 5_000)),
            Endpoint::AdminStats
            | Endpoint::Health
            | Endpoint::GrpcListProducts
            | Endpoint::GrpcAddToCart
            | Endpoint::GrpcChat => None,
            // Sessions: their messages are answered at once.
            Endpoint::WsEcho | Endpoint::WsTicker => None,
        }
    }
}

/// Why a request matched no endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Miss {
    /// No such path.
    NotFound,
    /// The path exists with other methods; the value is the `allow` header.
    MethodNotAllowed(&'static str),
}

/// Maps a method and a path (without the query) to its endpoint.
pub(crate) fn route(method: &Method, path: &str) -> Result<Endpoint, Miss> {
    let (endpoint, allow) = match path {
        "/api/login" => (post(method, Endpoint::Login), "POST"),
        "/api/products" => (get(method, Endpoint::ProductList), "GET"),
        "/api/cart" => (post(method, Endpoint::Cart), "POST"),
        "/api/checkout" => (post(method, Endpoint::Checkout), "POST"),
        "/api/orders" => {
            let e = match *method {
                Method::POST => Some(Endpoint::OrderCreate),
                Method::GET => Some(Endpoint::OrderCount),
                _ => None,
            };
            (e, "GET, POST")
        }
        "/api/admin/reset" => (post(method, Endpoint::AdminReset), "POST"),
        "/api/admin/report" => (post(method, Endpoint::AdminReport), "POST"),
        "/api/admin/stats" => (get(method, Endpoint::AdminStats), "GET"),
        "/health" => (get(method, Endpoint::Health), "GET"),
        "/api/session" => {
            let e = match *method {
                Method::POST => Some(Endpoint::SessionCreate),
                Method::DELETE => Some(Endpoint::SessionDelete),
                _ => None,
            };
            (e, "DELETE, POST")
        }
        "/api/account" => (get(method, Endpoint::Account), "GET"),
        "/api/signed" => (post(method, Endpoint::Signed), "POST"),
        "/api/catalog" => (get(method, Endpoint::Catalog), "GET"),
        "/api/upload" => (post(method, Endpoint::Upload), "POST"),
        "/ws/echo" => (get(method, Endpoint::WsEcho), "GET"),
        "/ws/ticker" => (get(method, Endpoint::WsTicker), "GET"),
        "/html/feedback" => {
            let e = match *method {
                Method::GET => Some(Endpoint::FeedbackForm),
                Method::POST => Some(Endpoint::FeedbackPost),
                _ => None,
            };
            (e, "GET, POST")
        }
        p if p.starts_with("/api/products/") => (get(method, Endpoint::Product), "GET"),
        _ => return Err(Miss::NotFound),
    };
    endpoint.ok_or(Miss::MethodNotAllowed(allow))
}

fn get(method: &Method, e: Endpoint) -> Option<Endpoint> {
    (*method == Method::GET).then_some(e)
}

fn post(method: &Method, e: Endpoint) -> Option<Endpoint> {
    (*method == Method::POST).then_some(e)
}

/// One counter per cache line, so that cores counting different endpoints do not contend.
#[derive(Default)]
#[repr(align(64))]
struct Padded(AtomicU64);

/// The per-endpoint request counters: lock-free, relaxed (counts, not synchronisation).
#[derive(Default)]
pub(crate) struct Counters([Padded; Endpoint::ALL.len()]);

impl Counters {
    pub(crate) fn hit(&self, e: Endpoint) {
        self.0[e as usize].0.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of every endpoint's count, zeros included, keyed by [`Endpoint::key`].
    pub(crate) fn snapshot(&self) -> BTreeMap<String, u64> {
        Endpoint::ALL
            .iter()
            .map(|&e| {
                (
                    e.key().to_string(),
                    self.0[e as usize].0.load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_endpoint_at_its_index() {
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i, "{e:?}");
        }
    }

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(route(&Method::POST, "/api/login"), Ok(Endpoint::Login));
        assert_eq!(
            route(&Method::GET, "/api/products/7"),
            Ok(Endpoint::Product)
        );
        assert_eq!(
            route(&Method::GET, "/api/products/x"),
            Ok(Endpoint::Product)
        );
        assert_eq!(route(&Method::GET, "/api/orders"), Ok(Endpoint::OrderCount));
        assert_eq!(
            route(&Method::POST, "/api/orders"),
            Ok(Endpoint::OrderCreate)
        );
        assert_eq!(route(&Method::GET, "/api/nope"), Err(Miss::NotFound));
        assert_eq!(
            route(&Method::GET, "/api/login"),
            Err(Miss::MethodNotAllowed("POST"))
        );
        assert_eq!(
            route(&Method::DELETE, "/api/orders"),
            Err(Miss::MethodNotAllowed("GET, POST"))
        );
    }

    #[test]
    fn counters_count_per_endpoint_and_keep_zeros() {
        let c = Counters::default();
        c.hit(Endpoint::Health);
        c.hit(Endpoint::Health);
        c.hit(Endpoint::Cart);
        let s = c.snapshot();
        assert_eq!(s.len(), Endpoint::ALL.len());
        assert_eq!(s["GET /health"], 2);
        assert_eq!(s["POST /api/cart"], 1);
        assert_eq!(s["POST /api/login"], 0);
    }

    #[test]
    fn latency_ranges_are_ordered() {
        for e in Endpoint::ALL {
            if let Some((lo, hi)) = e.latency_us() {
                assert!(lo <= hi, "{e:?}");
            }
        }
    }

    /// docs/demo.md documents the shop's API: every route has its row in the endpoints
    /// table, and every row is a route.
    #[test]
    fn docs_demo_md_lists_every_route() {
        let doc = include_str!("../../docs/demo.md");
        for e in Endpoint::ALL {
            assert!(
                doc.contains(&format!("| `{}` |", e.key())),
                "docs/demo.md has no row for `{}`",
                e.key()
            );
        }
        let table = doc
            .split("## Endpoints")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .expect("docs/demo.md has an Endpoints section");
        for row in table.lines().filter(|l| l.starts_with("| `")) {
            let key = row.split('`').nth(1).unwrap_or("");
            let (method, path) = key.split_once(' ').unwrap_or(("", ""));
            let method: Method = method.parse().expect("a method");
            let path = path.replace("{id}", "7");
            assert!(
                route(&method, &path).is_ok(),
                "docs/demo.md: `{key}` is no route"
            );
        }
    }
}

//! The shop the generated traces come from: ten services, the routes they serve, the
//! databases they query and whom they call; and the resource of each service's spans.

use strata_proto::otlp::common::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans};

/// A database a service queries: `db.system`, `db.namespace` and (span name, statement) pairs.
pub struct Db {
    pub system: &'static str,
    pub namespace: &'static str,
    pub queries: &'static [(&'static str, &'static str)],
}

pub struct Service {
    pub name: &'static str,
    pub lang: &'static str,
    /// (method, route) served; the server span is named `"{method} {route}"`.
    pub routes: &'static [(&'static str, &'static str)],
    pub db: Option<Db>,
    /// Indices of the services it calls over HTTP.
    pub calls: &'static [usize],
    pub internal: &'static [&'static str],
}

pub const FRONTEND: usize = 0;
pub const CHECKOUT: usize = 1;
pub const NOTIFICATION: usize = 8;

const PG_ITEMS: &[(&str, &str)] = &[
    (
        "SELECT items",
        "SELECT id, name, price FROM items WHERE id = $1",
    ),
    (
        "SELECT items",
        "SELECT id, name, price FROM items WHERE category = $1 LIMIT 50",
    ),
    ("UPDATE items", "UPDATE items SET price = $2 WHERE id = $1"),
];
const PG_ORDERS: &[(&str, &str)] = &[
    (
        "INSERT orders",
        "INSERT INTO orders (id, user_id, total) VALUES ($1, $2, $3)",
    ),
    ("SELECT orders", "SELECT * FROM orders WHERE id = $1"),
];
const PG_MISC: &[(&str, &str)] = &[
    ("SELECT accounts", "SELECT * FROM accounts WHERE id = $1"),
    (
        "UPDATE accounts",
        "UPDATE accounts SET updated_at = now() WHERE id = $1",
    ),
];
const REDIS: &[(&str, &str)] = &[
    ("GET", "GET session:$1"),
    ("SET", "SET cart:$1 $2 EX 3600"),
    ("HGETALL", "HGETALL cart:$1"),
];
const MONGO: &[(&str, &str)] = &[
    (
        "find shipments",
        "{\"find\":\"shipments\",\"filter\":{\"order_id\":\"?\"}}",
    ),
    (
        "insert shipments",
        "{\"insert\":\"shipments\",\"documents\":[\"?\"]}",
    ),
];

pub const SERVICES: [Service; 10] = [
    Service {
        name: "frontend",
        lang: "nodejs",
        routes: &[
            ("GET", "/api/v1/items/{id}"),
            ("GET", "/api/v1/items/{id}"),
            ("GET", "/api/v1/items"),
            ("GET", "/api/v1/users/{id}"),
            ("POST", "/api/v1/cart/items"),
            ("POST", "/api/v1/checkout"),
            ("GET", "/api/v1/recommendations"),
        ],
        db: Some(Db {
            system: "redis",
            namespace: "0",
            queries: REDIS,
        }),
        calls: &[1, 2, 3, 3, 6, 9],
        internal: &["render", "auth.verify"],
    },
    Service {
        name: "checkout",
        lang: "go",
        routes: &[("POST", "/checkout"), ("GET", "/checkout/{id}")],
        db: Some(Db {
            system: "postgresql",
            namespace: "orders",
            queries: PG_ORDERS,
        }),
        calls: &[4, 5, 7, 2],
        internal: &["validate order", "compute totals"],
    },
    Service {
        name: "cart",
        lang: "dotnet",
        routes: &[
            ("GET", "/cart/{id}"),
            ("POST", "/cart/{id}/items"),
            ("DELETE", "/cart/{id}/items/{id}"),
        ],
        db: Some(Db {
            system: "redis",
            namespace: "1",
            queries: REDIS,
        }),
        calls: &[3],
        internal: &["merge cart"],
    },
    Service {
        name: "catalog",
        lang: "java",
        routes: &[
            ("GET", "/items/{id}"),
            ("GET", "/items"),
            ("PUT", "/items/{id}"),
        ],
        db: Some(Db {
            system: "postgresql",
            namespace: "catalog",
            queries: PG_ITEMS,
        }),
        calls: &[],
        internal: &["serialize", "cache lookup"],
    },
    Service {
        name: "payment",
        lang: "java",
        routes: &[("POST", "/payments"), ("POST", "/payments/{id}/refund")],
        db: Some(Db {
            system: "postgresql",
            namespace: "payments",
            queries: PG_MISC,
        }),
        calls: &[],
        internal: &["fraud check", "tokenize card"],
    },
    Service {
        name: "shipping",
        lang: "python",
        routes: &[("POST", "/shipments"), ("GET", "/shipments/{id}")],
        db: Some(Db {
            system: "mongodb",
            namespace: "shipping",
            queries: MONGO,
        }),
        calls: &[],
        internal: &["quote rates"],
    },
    Service {
        name: "user",
        lang: "go",
        routes: &[("GET", "/users/{id}"), ("PUT", "/users/{id}")],
        db: Some(Db {
            system: "postgresql",
            namespace: "users",
            queries: PG_MISC,
        }),
        calls: &[],
        internal: &["load profile"],
    },
    Service {
        name: "inventory",
        lang: "rust",
        routes: &[("GET", "/stock/{id}"), ("POST", "/stock/{id}/reserve")],
        db: Some(Db {
            system: "postgresql",
            namespace: "inventory",
            queries: PG_ITEMS,
        }),
        calls: &[],
        internal: &["reserve"],
    },
    Service {
        name: "notification",
        lang: "python",
        routes: &[("POST", "/notify")],
        db: None,
        calls: &[],
        internal: &["render email", "send email"],
    },
    Service {
        name: "recommendation",
        lang: "python",
        routes: &[("GET", "/recommendations")],
        db: Some(Db {
            system: "redis",
            namespace: "2",
            queries: REDIS,
        }),
        calls: &[3],
        internal: &["score candidates"],
    },
];

pub const POD_SUFFIXES: [&str; 4] = ["x2kq9", "b7m4t", "p9zr1", "h3wd6"];

pub fn kv(key: &str, v: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub fn s(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, Value::StringValue(v.into()))
}

pub fn i(key: &str, v: i64) -> KeyValue {
    kv(key, Value::IntValue(v))
}

/// The `ResourceSpans` (with one empty scope) of service `svc` in pod `pod`.
pub fn resource_spans(svc: usize, pod: usize, env: &str) -> ResourceSpans {
    let service = &SERVICES[svc];
    let pod_name = format!(
        "{}-{:x}-{}",
        service.name,
        0x6d8f_9c00 + svc * 977,
        POD_SUFFIXES[pod]
    );
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                s("service.name", service.name),
                s("service.namespace", "shop"),
                s("service.version", format!("1.{svc}.{pod}")),
                s("deployment.environment", env),
                s("host.name", format!("node-{}", (svc * 3 + pod) % 8)),
                s("k8s.namespace.name", format!("shop-{env}")),
                s("k8s.pod.name", pod_name),
                s("telemetry.sdk.language", service.lang),
            ],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: format!("shop/{}", service.name),
                version: "1.0.0".into(),
                ..Default::default()
            }),
            spans: Vec::new(),
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

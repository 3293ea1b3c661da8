//! The decision itself, free of I/O: which tenant a request belongs to, given the tenants its
//! credential allows (or none, with auth off) and its `X-Scope-OrgID` values.
//!
//! With auth on (`allowed` from a verified credential, never empty):
//! * no `X-Scope-OrgID` (or only blank ones): the credential's first tenant;
//! * one value naming allowed tenants: that tenant; `a|b` (Tempo's cross-tenant form) passes the
//!   check only if every part is allowed, then is refused as unsupported (400);
//! * a value naming any tenant the credential does not allow, or that is not text or not a
//!   tenant ID: [`Refusal::Forbidden`] (403), the same answer whether that tenant exists or not;
//! * more than one value: 400.
//!
//! With auth off, Tempo's rules as before: multitenancy off means `single-tenant` whatever the
//! header; on ingest exactly one textual value is required (else `no org id`), on the query API
//! the first value, trimmed (missing or blank: `no org id`); an invalid ID is 400.

use std::fmt;

use strata_common::TenantId;
use strata_proto::status::{ApiError, ErrorKind};

/// Which side of Strata a request came in on: the answers without auth differ (Tempo's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// A receiver (distributor).
    Ingest,
    /// The query API (querier).
    Query,
}

/// Why a request has no tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Auth on and no `Authorization` header: 401 / `UNAUTHENTICATED`.
    Missing,
    /// Auth on and a credential that is malformed or matches none: 401 / `UNAUTHENTICATED`.
    Invalid,
    /// A valid credential, and `X-Scope-OrgID` names a tenant it does not allow: 403 /
    /// `PERMISSION_DENIED`.
    Forbidden,
    /// Auth off, multitenancy on, no usable `X-Scope-OrgID`: 503 on ingest, 401 on queries.
    NoOrgId,
    /// An `X-Scope-OrgID` that cannot be used: 400 / `INVALID_ARGUMENT`.
    BadOrgId(String),
}

impl Refusal {
    /// The `reason` label of `strata_auth_failures_total`; `None` for refusals that are not
    /// authentication failures (auth off, or a malformed request).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Refusal::Missing => Some("missing"),
            Refusal::Invalid => Some("invalid"),
            Refusal::Forbidden => Some("forbidden"),
            Refusal::NoOrgId | Refusal::BadOrgId(_) => None,
        }
    }

    /// The status-table kind on `edge`.
    pub fn kind(&self, edge: Edge) -> ErrorKind {
        match (self, edge) {
            (Refusal::Missing | Refusal::Invalid, _) => ErrorKind::Unauthenticated,
            (Refusal::Forbidden, _) => ErrorKind::PermissionDenied,
            (Refusal::NoOrgId, Edge::Ingest) => ErrorKind::Unavailable,
            (Refusal::NoOrgId, Edge::Query) => ErrorKind::Unauthenticated,
            (Refusal::BadOrgId(_), _) => ErrorKind::InvalidArgument,
        }
    }

    /// The refusal as an API error on `edge` (status, gRPC code, message).
    pub fn to_api_error(&self, edge: Edge) -> ApiError {
        ApiError::new(self.kind(edge), self.to_string())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Missing => f.write_str("missing credentials"),
            Refusal::Invalid => f.write_str("invalid credentials"),
            Refusal::Forbidden => f.write_str("tenant not allowed for these credentials"),
            Refusal::NoOrgId => f.write_str("no org id"),
            Refusal::BadOrgId(m) => f.write_str(m),
        }
    }
}

/// The tenant a verified credential allowing `allowed` (in order, first = default) gets with
/// these `X-Scope-OrgID` values.
pub fn narrow(allowed: &[TenantId], org_ids: &[&[u8]]) -> Result<TenantId, Refusal> {
    let given: Vec<&[u8]> = org_ids
        .iter()
        .copied()
        .filter(|v| !v.trim_ascii().is_empty())
        .collect();
    let value = match given.as_slice() {
        [] => return allowed.first().cloned().ok_or(Refusal::Forbidden),
        [one] => std::str::from_utf8(one).map_err(|_| Refusal::Forbidden)?,
        _ => return Err(Refusal::BadOrgId("more than one X-Scope-OrgID".into())),
    };
    let mut picked: Vec<&TenantId> = Vec::new();
    for part in value.split('|').map(str::trim) {
        let t = allowed
            .iter()
            .find(|t| t.as_str() == part)
            .ok_or(Refusal::Forbidden)?;
        if !picked.contains(&t) {
            picked.push(t);
        }
    }
    match picked.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(Refusal::BadOrgId(
            "multi-tenant queries (a|b) are not supported".into(),
        )),
    }
}

/// The tenant without auth (Tempo's rules, module docs).
pub fn open(multitenancy: bool, edge: Edge, org_ids: &[&[u8]]) -> Result<TenantId, Refusal> {
    if !multitenancy {
        return Ok(TenantId::single());
    }
    let bad = |e: strata_common::TenantError| Refusal::BadOrgId(e.to_string());
    match edge {
        Edge::Ingest => {
            let text: Vec<&str> = org_ids
                .iter()
                .filter_map(|v| std::str::from_utf8(v).ok())
                .collect();
            match text.as_slice() {
                [one] => TenantId::new(one).map_err(bad),
                // Tempo answers a missing or repeated header with a plain "no org id".
                _ => Err(Refusal::NoOrgId),
            }
        }
        Edge::Query => {
            let first = org_ids.first().ok_or(Refusal::NoOrgId)?;
            let v = std::str::from_utf8(first)
                .map_err(|_| Refusal::BadOrgId("X-Scope-OrgID is not valid text".into()))?
                .trim();
            if v.is_empty() {
                return Err(Refusal::NoOrgId);
            }
            TenantId::new(v).map_err(bad)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> TenantId {
        TenantId::new(s).unwrap()
    }

    /// `X-Scope-OrgID` values and the decision expected.
    type Case = (&'static [&'static [u8]], Result<TenantId, Refusal>);

    #[test]
    fn a_credential_decides_and_the_header_only_narrows() {
        let ab = [t("a"), t("b")];
        let cases: &[Case] = &[
            (&[], Ok(t("a"))),
            (&[b"  "], Ok(t("a"))),
            (&[b"b"], Ok(t("b"))),
            (&[b" a "], Ok(t("a"))),
            (&[b"c"], Err(Refusal::Forbidden)),
            (&[b"a|c"], Err(Refusal::Forbidden)),
            (&[b"c|a"], Err(Refusal::Forbidden)),
            (&[b"a/b"], Err(Refusal::Forbidden)),
            (&[b"\xff\xfe"], Err(Refusal::Forbidden)),
            (&[b"a|a"], Ok(t("a"))),
            (
                &[b"a|b"],
                Err(Refusal::BadOrgId(
                    "multi-tenant queries (a|b) are not supported".into(),
                )),
            ),
            (
                &[b"a", b"b"],
                Err(Refusal::BadOrgId("more than one X-Scope-OrgID".into())),
            ),
        ];
        for (values, want) in cases {
            assert_eq!(&narrow(&ab, values), want, "{values:?}");
        }
        assert_eq!(narrow(&[], &[]), Err(Refusal::Forbidden));
    }

    #[test]
    fn without_auth_the_rules_stay_tempos() {
        for edge in [Edge::Ingest, Edge::Query] {
            assert_eq!(open(false, edge, &[b"x"]), Ok(TenantId::single()));
            assert_eq!(open(false, edge, &[]), Ok(TenantId::single()));
            assert_eq!(open(true, edge, &[]), Err(Refusal::NoOrgId));
            assert_eq!(open(true, edge, &[b"team-a"]), Ok(t("team-a")));
            assert!(matches!(
                open(true, edge, &[b"a/b"]),
                Err(Refusal::BadOrgId(_))
            ));
        }
        assert_eq!(
            open(true, Edge::Ingest, &[b"a", b"b"]),
            Err(Refusal::NoOrgId)
        );
        assert_eq!(open(true, Edge::Ingest, &[b"\xff"]), Err(Refusal::NoOrgId));
        assert_eq!(open(true, Edge::Query, &[b"a", b"b"]), Ok(t("a")));
        assert_eq!(open(true, Edge::Query, &[b" "]), Err(Refusal::NoOrgId));
        assert!(matches!(
            open(true, Edge::Query, &[b"\xff"]),
            Err(Refusal::BadOrgId(_))
        ));
    }

    #[test]
    fn refusals_map_to_the_status_table() {
        assert_eq!(Refusal::Missing.kind(Edge::Ingest).http_status(), 401);
        assert_eq!(
            Refusal::Invalid.kind(Edge::Query).grpc_code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            Refusal::Forbidden.kind(Edge::Ingest).grpc_code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(Refusal::Forbidden.kind(Edge::Query).http_status(), 403);
        assert_eq!(Refusal::NoOrgId.kind(Edge::Ingest).http_status(), 503);
        assert_eq!(Refusal::NoOrgId.kind(Edge::Query).http_status(), 401);
        assert_eq!(Refusal::NoOrgId.reason(), None);
        assert_eq!(Refusal::Forbidden.reason(), Some("forbidden"));
    }
}

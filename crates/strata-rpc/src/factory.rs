//! Connections for the ingester ring: one [`IngesterClient`] per member address.

use std::sync::Arc;

use async_trait::async_trait;
use strata_common::{TenantId, TraceId};
use strata_config::IngesterClientConfig;
use strata_proto::roles::{
    IngesterConn, IngesterHealth, IngesterPusher, IngesterQuerier, PushRequest, PushResponse,
    RoleError, TraceFragments,
};
use strata_proto::tempopb;

use crate::{ClientOptions, IngesterClient, RpcError};

/// Makes a connection for a ring member (`host:port`). An address no client can be made for
/// gives a connection whose every call fails with `UNAVAILABLE` naming the reason, so the ring
/// treats it like any unreachable ingester.
pub type ConnFactoryFn = Arc<dyn Fn(&str) -> Arc<dyn IngesterConn> + Send + Sync>;

/// gRPC connections with the configured timeouts, message limits and TLS (whose files are
/// read here: an error names the file). Call inside a tokio runtime (connections are made
/// lazily, on first use).
pub fn conn_factory(cfg: &IngesterClientConfig) -> Result<ConnFactoryFn, RpcError> {
    let opts = ClientOptions::from_config(cfg)?;
    Ok(Arc::new(move |addr: &str| -> Arc<dyn IngesterConn> {
        match IngesterClient::new(addr, &opts) {
            Ok(c) => Arc::new(c),
            Err(e) => {
                tracing::error!(addr, error = %e, "cannot make an ingester client");
                Arc::new(Broken(format!("ingester {addr}: {e}")))
            }
        }
    }))
}

/// A member that cannot be reached at all.
struct Broken(String);

impl Broken {
    fn err<T>(&self) -> Result<T, RoleError> {
        Err(RoleError::Unavailable(self.0.clone()))
    }
}

#[async_trait]
impl IngesterPusher for Broken {
    async fn push(&self, _: PushRequest) -> Result<PushResponse, RoleError> {
        self.err()
    }
}

#[async_trait]
impl IngesterHealth for Broken {
    async fn ready(&self) -> Result<(), RoleError> {
        self.err()
    }
}

#[async_trait]
impl IngesterQuerier for Broken {
    async fn find_trace_by_id(
        &self,
        _: &TenantId,
        _: &TraceId,
    ) -> Result<TraceFragments, RoleError> {
        self.err()
    }
    async fn search(
        &self,
        _: &TenantId,
        _: &tempopb::SearchRequest,
    ) -> Result<tempopb::SearchResponse, RoleError> {
        self.err()
    }
    async fn search_tags(
        &self,
        _: &TenantId,
        _: &tempopb::SearchTagsRequest,
    ) -> Result<tempopb::SearchTagsV2Response, RoleError> {
        self.err()
    }
    async fn search_tag_values(
        &self,
        _: &TenantId,
        _: &tempopb::SearchTagValuesRequest,
    ) -> Result<tempopb::SearchTagValuesV2Response, RoleError> {
        self.err()
    }
}

//! Every backend through `build_instrumented`, against real servers on loopback (see
//! `support`): put, get, ranged gets, head, listing, multipart upload, copy, delete, and the
//! instrumented store's counts of each.

mod support;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use strata_common::{BlockId, TenantId};
use strata_storage::{
    build_instrumented, list_blocks, list_tenants, BlockPaths, InstrumentedStore, ObjectPath,
    Operation, StoreMetrics,
};
use support::Backend;

const MIB: usize = 1 << 20;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn open(backend: &Backend) -> std::sync::Arc<InstrumentedStore> {
    build_instrumented(&backend.config, StoreMetrics::unregistered())
        .unwrap_or_else(|e| panic!("{}: {e}", backend.name))
}

/// The operations every backend must support, with the counts they must produce.
async fn exercise(backend: Backend, copy: bool) {
    let name = backend.name;
    let store = open(&backend);
    let before = store.stats();

    // put / get / head
    let obj = ObjectPath::from("t1/a/object.bin");
    let body = pattern(100_000, 7);
    store
        .put(&obj, PutPayload::from(body.clone()))
        .await
        .unwrap();
    let got = store.get(&obj).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.as_ref(), body.as_slice(), "{name}: get");
    let head = store.head(&obj).await.unwrap();
    assert_eq!(head.size, body.len() as u64, "{name}: head size");

    // ranged reads: one range, then several (coalesced by the wrapper)
    let r = store.get_range(&obj, 1000..1100).await.unwrap();
    assert_eq!(r.as_ref(), &body[1000..1100], "{name}: get_range");
    let ranges = [0..10, 20..30, 99_990..100_000];
    let parts = store.get_ranges(&obj, &ranges).await.unwrap();
    for (range, part) in ranges.iter().zip(&parts) {
        let want = &body[range.start as usize..range.end as usize];
        assert_eq!(part.as_ref(), want, "{name}: get_ranges {range:?}");
    }

    // not found is an outcome of its own
    let missing = store.get(&ObjectPath::from("t1/nope")).await;
    assert!(
        matches!(missing, Err(object_store::Error::NotFound { .. })),
        "{name}: {missing:?}"
    );

    // multipart: two 5 MiB parts and a tail (S3's minimum part size is 5 MiB)
    let big = ObjectPath::from("t1/b/big.bin");
    let big_body = pattern(11 * MIB, 3);
    let mut upload = store.put_multipart(&big).await.unwrap();
    for chunk in big_body.chunks(5 * MIB) {
        upload
            .put_part(PutPayload::from(Bytes::copy_from_slice(chunk)))
            .await
            .unwrap();
    }
    upload.complete().await.unwrap();
    let got = store.get(&big).await.unwrap().bytes().await.unwrap();
    assert_eq!(got.len(), big_body.len(), "{name}: multipart size");
    assert!(
        got.as_ref() == big_body.as_slice(),
        "{name}: multipart bytes"
    );

    // an aborted upload leaves no object (outside t1: the local backend keeps the directory)
    let aborted = ObjectPath::from("aborted/c/aborted.bin");
    let mut upload = store.put_multipart(&aborted).await.unwrap();
    upload
        .put_part(PutPayload::from(pattern(5 * MIB, 1)))
        .await
        .unwrap();
    upload.abort().await.unwrap();
    assert!(
        store.head(&aborted).await.is_err(),
        "{name}: aborted exists"
    );

    if copy {
        let copied = ObjectPath::from("t1/a/copy.bin");
        store.copy(&obj, &copied).await.unwrap();
        let got = store.get(&copied).await.unwrap().bytes().await.unwrap();
        assert_eq!(got.as_ref(), body.as_slice(), "{name}: copy");
        store.delete(&copied).await.unwrap();
    }

    // listing: recursive and one level
    let mut listed: Vec<String> = store
        .list(Some(&ObjectPath::from("t1")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    assert_eq!(
        listed,
        vec!["t1/a/object.bin", "t1/b/big.bin"],
        "{name}: list"
    );
    let level = store
        .list_with_delimiter(Some(&ObjectPath::from("t1")))
        .await
        .unwrap();
    let mut dirs: Vec<String> = level
        .common_prefixes
        .iter()
        .map(|p| p.to_string())
        .collect();
    dirs.sort();
    assert_eq!(dirs, vec!["t1/a", "t1/b"], "{name}: list_with_delimiter");

    // delete
    store.delete(&obj).await.unwrap();
    store.delete(&big).await.unwrap();
    assert!(store.head(&obj).await.is_err(), "{name}: deleted");
    let left: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert!(left.is_empty(), "{name}: left {left:?}");

    // the counts of everything above
    let s = store.stats().since(&before);
    println!("{name}: {s}");
    assert_eq!(s.requests(Operation::Put), 1, "{name}: {s}");
    assert_eq!(
        s.requests(Operation::Get),
        3 + u64::from(copy),
        "{name}: {s}"
    );
    assert_eq!(s.not_found(Operation::Get), 1, "{name}: {s}");
    // get_range + the 3 ranges of get_ranges (within 1 MiB of each other -> 1 request)
    assert_eq!(s.requests(Operation::GetRange), 2, "{name}: {s}");
    assert_eq!(s.requests(Operation::PutMultipart), 2, "{name}: {s}");
    assert_eq!(s.requests(Operation::PutPart), 4, "{name}: {s}");
    assert_eq!(s.requests(Operation::CompleteMultipart), 1, "{name}: {s}");
    assert_eq!(s.requests(Operation::AbortMultipart), 1, "{name}: {s}");
    assert_eq!(s.requests(Operation::List), 2, "{name}: {s}");
    assert_eq!(s.requests(Operation::ListDelimiter), 1, "{name}: {s}");
    let deletes = if copy { 3 } else { 2 };
    assert_eq!(s.requests(Operation::Delete), deletes, "{name}: {s}");
    assert_eq!(s.requests(Operation::Copy), u64::from(copy), "{name}: {s}");
    let errors: u64 = Operation::ALL.iter().map(|op| s.errors(*op)).sum();
    assert_eq!(errors, 0, "{name}: {s}");
    let written = (body.len() + big_body.len() + 5 * MIB) as u64;
    assert_eq!(s.bytes_written, written, "{name}: {s}");
}

/// Strata's key helpers over a backend: tenants and complete blocks only.
async fn block_listing(backend: Backend) {
    let store = open(&backend);
    let t = TenantId::new("tenant-a").unwrap();
    let done = BlockPaths::new(t.clone(), BlockId::new_random());
    let partial = BlockPaths::new(t.clone(), BlockId::new_random());
    for (p, b) in [
        (done.data(), "d"),
        (done.meta(), "{}"),
        (partial.data(), "d"),
    ] {
        store.put(&p, PutPayload::from(b)).await.unwrap();
    }
    let store: &dyn ObjectStore = store.as_ref();
    assert_eq!(list_tenants(store).await.unwrap(), vec![t.clone()]);
    assert_eq!(list_blocks(store, &t).await.unwrap(), vec![done.block]);
}

#[tokio::test]
async fn local_backend() {
    exercise(Backend::local(), true).await;
    block_listing(Backend::local()).await;
}

#[tokio::test]
async fn s3_backend_on_moto() {
    exercise(Backend::s3().await, true).await;
    block_listing(Backend::s3().await).await;
}

#[tokio::test]
async fn azure_backend_on_azurite() {
    exercise(Backend::azure().await, true).await;
    block_listing(Backend::azure().await).await;
}

/// GCS's XML API client against an S3 server: see `support` and docs/STORAGE.md. Copy is
/// left out (GCS copies with `x-goog-copy-source`, which S3 servers do not know).
#[tokio::test]
async fn gcs_client_on_s3_compatible_server() {
    exercise(Backend::gcs().await, false).await;
    block_listing(Backend::gcs().await).await;
}

/// The key prefix applies to every backend: objects land below it, listings stay relative.
#[tokio::test]
async fn prefix_on_s3() {
    let mut backend = Backend::s3().await;
    backend.config.prefix = "/deep/prefix/".into();
    let store = open(&backend);
    store
        .put(&ObjectPath::from("x/y"), PutPayload::from("1"))
        .await
        .unwrap();
    let mut raw = backend.config.clone();
    raw.prefix.clear();
    let raw = build_instrumented(&raw, StoreMetrics::unregistered()).unwrap();
    let keys: Vec<String> = raw
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys, vec!["deep/prefix/x/y"]);
}

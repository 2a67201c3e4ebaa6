//! The same dataset through each real backend on its loopback emulator: same bytes, ranges,
//! not-found errors, listing.
#![cfg_attr(
    not(all(feature = "s3", feature = "gcs", feature = "azure", feature = "http")),
    allow(
        unused_imports,
        dead_code,
        reason = "parts serve backends compiled out"
    )
)]
use mds_fetch::{DownloadOptions, Fetcher, FetcherBuilder, RetryPolicy};

use crate::common::{bucket, dataset, endpoint, seed, unique};
use crate::local::check_roundtrip;

fn opts() -> DownloadOptions {
    DownloadOptions {
        part_size_bytes: 1 << 20,
        parts_in_flight: 4,
        retry: RetryPolicy {
            retries: 1,
            initial_backoff: std::time::Duration::from_millis(50),
            ..RetryPolicy::default()
        },
    }
}

async fn check_listing(f: &dyn Fetcher) {
    let mut want: Vec<String> = dataset().into_iter().map(|(k, _)| k).collect();
    want.sort();
    assert_eq!(f.list("").await.unwrap(), want);
}

/// Fails when the backend's cargo feature is off but the emulators are required.
#[allow(dead_code, reason = "used only when a backend feature is off")]
fn feature_missing(feature: &str) {
    let required = std::env::var("MDS_TEST_REQUIRE_BACKENDS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "backend tests required but mds-fetch was built without `{feature}`"
    );
    eprintln!("skipping: mds-fetch built without feature `{feature}`");
}

#[cfg(feature = "s3")]
pub(crate) fn s3_fetcher(endpoint: &str, prefix: &str) -> std::sync::Arc<dyn Fetcher> {
    FetcherBuilder::new(&format!("s3://{}/{prefix}", bucket()))
        .with_option("aws_endpoint", endpoint)
        .with_option("aws_access_key_id", "test")
        .with_option("aws_secret_access_key", "test")
        .with_option("aws_region", "us-east-1")
        .with_option("aws_skip_signature", "false")
        .build()
        .unwrap()
}

#[tokio::test]
async fn s3() {
    #[cfg(feature = "s3")]
    {
        let Some(ep) = endpoint("MDS_TEST_S3_ENDPOINT") else {
            return;
        };
        let prefix = unique("s3");
        let f = s3_fetcher(&ep, &prefix);
        seed(f.as_ref(), &dataset()).await;
        check_roundtrip(f.as_ref(), &opts()).await;
        check_listing(f.as_ref()).await;
        assert_eq!(
            f.url("shard.00000.mds"),
            format!("s3://{}/{prefix}/shard.00000.mds", bucket())
        );
        // the reference's environment (S3_ENDPOINT_URL + AWS_*), as the emulator env file sets it
        if std::env::var("S3_ENDPOINT_URL").is_ok_and(|v| v == ep) {
            let g = mds_fetch::from_url(&format!("s3://{}/{prefix}", bucket())).unwrap();
            check_roundtrip(g.as_ref(), &opts()).await;
        }
    }
    #[cfg(not(feature = "s3"))]
    feature_missing("s3");
}

#[tokio::test]
async fn gcs() {
    #[cfg(feature = "gcs")]
    {
        let Some(ep) = endpoint("MDS_TEST_GCS_ENDPOINT") else {
            return;
        };
        let prefix = unique("gcs");
        // fake-gcs-server rejects object_store's XML-API writes: seed through its JSON API
        for (k, v) in dataset() {
            let path = format!(
                "/upload/storage/v1/b/{}/o?uploadType=media&name={prefix}/{k}",
                bucket()
            );
            let status = crate::common::http_request(&ep, "POST", &path, &v).await;
            assert!((200..300).contains(&status), "seeding {k}: HTTP {status}");
        }
        let key = format!(
            r#"{{"gcs_base_url":"{ep}","disable_oauth":true,"client_email":"","private_key":"","private_key_id":""}}"#
        );
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("service-account.json");
        std::fs::write(&key_file, key).unwrap();
        let f = FetcherBuilder::new(&format!("gs://{}/{prefix}", bucket()))
            .with_option("google_service_account", key_file.to_str().unwrap())
            .with_option("allow_http", "true")
            .build()
            .unwrap();
        check_roundtrip(f.as_ref(), &opts()).await;
        check_listing(f.as_ref()).await;
    }
    #[cfg(not(feature = "gcs"))]
    feature_missing("gcs");
}

#[tokio::test]
async fn azure() {
    #[cfg(feature = "azure")]
    {
        let Some(ep) = endpoint("MDS_TEST_AZURE_ENDPOINT") else {
            return;
        };
        // object_store takes the emulator's address from this variable only
        assert_eq!(
            std::env::var("AZURITE_BLOB_STORAGE_URL").ok().as_deref(),
            Some(ep.as_str()),
            "export AZURITE_BLOB_STORAGE_URL from the emulator env file"
        );
        let prefix = unique("azure");
        let f = FetcherBuilder::new(&format!("az://{}/{prefix}", bucket()))
            .with_option("azure_storage_use_emulator", "true")
            .build()
            .unwrap();
        seed(f.as_ref(), &dataset()).await;
        check_roundtrip(f.as_ref(), &opts()).await;
        check_listing(f.as_ref()).await;
        // the reference's layout: azure://<account>.blob.core.windows.net/<container>/<path>
        let g = FetcherBuilder::new(&format!(
            "azure://devstoreaccount1.blob.core.windows.net/{}/{prefix}",
            bucket()
        ))
        .with_option("azure_storage_use_emulator", "true")
        .build()
        .unwrap();
        check_roundtrip(g.as_ref(), &opts()).await;
    }
    #[cfg(not(feature = "azure"))]
    feature_missing("azure");
}

#[tokio::test]
async fn http() {
    #[cfg(feature = "http")]
    {
        let Some(ep) = endpoint("MDS_TEST_HTTP_ENDPOINT") else {
            return;
        };
        let prefix = unique("http");
        let f = FetcherBuilder::new(&format!("{ep}/{prefix}"))
            .build()
            .unwrap();
        seed(f.as_ref(), &dataset()).await; // WebDAV PUT (+ MKCOL)
        check_roundtrip(f.as_ref(), &opts()).await;
        check_listing(f.as_ref()).await;
    }
    #[cfg(not(feature = "http"))]
    feature_missing("http");
}

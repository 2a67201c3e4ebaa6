//! Building a [`Fetcher`] from a dataset URL (spec §9.1, README choice 5).

use std::path::Path;
#[cfg(any(feature = "local", feature = "s3"))]
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
use object_store::ObjectStore;
#[cfg(feature = "local")]
use object_store::path::Path as StorePath;

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
use crate::error::BoxError;
use crate::error::{Error, Result};
use crate::fetcher::{Fetcher, ObjectStoreFetcher};

/// Builds the [`Fetcher`] for a remote root URL.
///
/// | URL | backend | configuration |
/// |---|---|---|
/// | `/data/ds`, `rel/dir`, `file:///data/ds` | local files | — |
/// | `memory://` | a fresh in-memory store | — |
/// | `s3://bucket/prefix` | S3 or any S3-compatible server | `AWS_*` env vars, `AWS_PROFILE` + `~/.aws/{credentials,config}`, `S3_ENDPOINT_URL`, `MOSAICML_STREAMING_AWS_REQUESTER_PAYS` (comma-separated buckets) |
/// | `gs://bucket/prefix` | GCS | `GOOGLE_*` env vars / application default credentials; `GCS_KEY` + `GCS_SECRET` (HMAC) use GCS's S3 endpoint |
/// | `az://container/prefix`, `abfs[s]://container@account.dfs.core.windows.net/prefix`, `azure-dl://container/prefix` | Azure Blob / ADLS Gen2 | `AZURE_*` env vars (account from `AZURE_ACCOUNT_NAME` or `AZURE_STORAGE_ACCOUNT_NAME`) |
/// | `azure://account.blob.core.windows.net/container/prefix` | Azure Blob (the reference's layout: container is the first path segment) | as above; `AZURE_ACCOUNT_ACCESS_KEY` |
/// | `http://…`, `https://…` | HTTP GET / HEAD with ranges; WebDAV for `put`/`list` | — |
/// | `hf://datasets/org/repo[@revision]/prefix` | Hugging Face Hub over HTTPS | `HF_TOKEN`, `HF_ENDPOINT` |
/// | `oci://bucket@namespace/prefix` | OCI through its S3-compatible endpoint | `OCI_REGION` (or `OCI_S3_ENDPOINT_URL`) + Customer Secret Keys in `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` |
///
/// `dbfs:`, `sftp://` and `alipan://` give [`Error::UnsupportedScheme`]. Options set with
/// [`FetcherBuilder::with_option`] use object_store's configuration keys (`aws_endpoint`,
/// `allow_http`, `google_service_account_key`, `azure_storage_use_emulator`, ...) and override
/// the environment.
///
/// The built fetcher does one request per call; object_store's own retries are turned off so
/// that [`crate::RetryPolicy`] alone decides (see [`crate::download`]).
#[derive(Clone, Debug)]
pub struct FetcherBuilder {
    url: String,
    options: Vec<(String, String)>,
    timeout: Duration,
}

/// Shorthand for `FetcherBuilder::new(url).build()`.
pub fn from_url(url: &str) -> Result<Arc<dyn Fetcher>> {
    FetcherBuilder::new(url).build()
}

impl FetcherBuilder {
    /// A builder for the remote root `url` (see the table above).
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_string(),
            options: Vec::new(),
            timeout: Duration::from_secs(300),
        }
    }

    /// Sets an object_store configuration key for the backend (overrides the environment).
    #[must_use]
    pub fn with_option(mut self, key: &str, value: &str) -> Self {
        self.options.push((key.to_string(), value.to_string()));
        self
    }

    /// Upper bound on one HTTP request (body included) at the client level; default 300 s.
    /// The effective per-request deadline is [`crate::RetryPolicy::timeout`].
    #[must_use]
    pub fn with_client_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Parses the URL and configures the backend. Makes no request.
    pub fn build(self) -> Result<Arc<dyn Fetcher>> {
        Ok(Arc::new(self.build_object_store()?))
    }

    /// As [`FetcherBuilder::build`], returning the concrete type.
    pub fn build_object_store(self) -> Result<ObjectStoreFetcher> {
        let raw = self.url.trim();
        let Some(scheme) = scheme_of(raw) else {
            return self.local(Path::new(raw));
        };
        let lower = scheme.to_ascii_lowercase();
        match lower.as_str() {
            "file" => {
                let u = parse(raw)?;
                let path = u.to_file_path().map_err(|()| Error::InvalidUrl {
                    url: raw.to_string(),
                    reason: "not a local file URL".to_string(),
                })?;
                self.local(&path)
            }
            "memory" => {
                let f = ObjectStoreFetcher::memory();
                let prefix = raw.split_once("://").map_or("", |(_, p)| p);
                ObjectStoreFetcher::from_object_store(store_of(&f), prefix, raw)
            }
            "s3" | "s3a" => self.s3(),
            "gs" | "gcs" => self.gcs(),
            "az" | "adl" | "azure" | "abfs" | "abfss" | "azure-dl" => self.azure(&lower),
            "http" | "https" => self.http(raw, false),
            "hf" => self.hf(),
            "oci" => self.oci(),
            "dbfs" | "sftp" | "alipan" => Err(Error::UnsupportedScheme {
                url: raw.to_string(),
                scheme: lower,
                hint: "; copy the dataset to a supported store (s3, gs, azure, http, local)"
                    .to_string(),
            }),
            _ => Err(Error::UnsupportedScheme {
                url: raw.to_string(),
                scheme: lower,
                hint: String::new(),
            }),
        }
    }

    fn local(&self, path: &Path) -> Result<ObjectStoreFetcher> {
        #[cfg(feature = "local")]
        {
            let abs = absolute(path).map_err(|e| Error::io(path, e))?;
            let prefix = StorePath::from_absolute_path(&abs).map_err(|e| Error::InvalidUrl {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
            let store = Arc::new(object_store::local::LocalFileSystem::new());
            Ok(ObjectStoreFetcher::with_path(
                store,
                prefix,
                self.url.trim_end_matches('/'),
            ))
        }
        #[cfg(not(feature = "local"))]
        {
            let _ = path;
            Err(Error::FeatureDisabled {
                url: self.url.clone(),
                feature: "local",
            })
        }
    }

    #[cfg(feature = "s3")]
    fn s3(&self) -> Result<ObjectStoreFetcher> {
        let (bucket, prefix) = bucket_and_prefix(&self.url)?;
        let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(&bucket);
        let profile = aws_profile();
        // The reference's variable first, then the AWS SDKs' service-specific and global
        // ones, then the profile's `endpoint_url` (~/.aws/config), as the AWS CLI resolves it.
        let endpoint = ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .into_iter()
            .find_map(env)
            .or_else(|| profile.as_ref().and_then(|p| p.endpoint.clone()));
        if let Some(ep) = endpoint {
            b = b.with_endpoint(ep);
        }
        if env("AWS_ACCESS_KEY_ID").is_none()
            && let Some(p) = profile
        {
            if let (Some(k), Some(s)) = (p.key, p.secret) {
                b = b.with_access_key_id(k).with_secret_access_key(s);
                if let Some(t) = p.token {
                    b = b.with_token(t);
                }
            }
            if env("AWS_REGION").is_none()
                && env("AWS_DEFAULT_REGION").is_none()
                && let Some(r) = p.region
            {
                b = b.with_region(r);
            }
        }
        if requester_pays(&bucket) {
            b = b.with_request_payer(true);
        }
        self.finish_s3(b, &prefix)
    }

    #[cfg(feature = "s3")]
    fn finish_s3(
        &self,
        mut b: object_store::aws::AmazonS3Builder,
        prefix: &str,
    ) -> Result<ObjectStoreFetcher> {
        use object_store::aws::AmazonS3ConfigKey as K;
        for (k, v) in &self.options {
            b = b.with_config(self.key::<K>(k)?, v);
        }
        if b.get_config_value(&K::Endpoint)
            .is_some_and(|e| e.starts_with("http://"))
        {
            b = b.with_allow_http(true);
        }
        b = b
            .with_config(K::Client(timeout_key()), self.timeout_value())
            .with_retry(no_retries());
        let store = b.build().map_err(|e| self.config_err(e))?;
        self.finish(Arc::new(store), prefix)
    }

    #[cfg(feature = "gcs")]
    fn gcs(&self) -> Result<ObjectStoreFetcher> {
        use object_store::gcp::GoogleConfigKey as K;
        let (bucket, prefix) = bucket_and_prefix(&self.url)?;
        if let (Some(key), Some(secret)) = (env("GCS_KEY"), env("GCS_SECRET")) {
            // HMAC keys: GCS's S3-compatible XML endpoint, as the reference does
            let b = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(&bucket)
                .with_endpoint("https://storage.googleapis.com")
                .with_region("auto")
                .with_access_key_id(key)
                .with_secret_access_key(secret);
            return self.finish_s3(b, &prefix);
        }
        let mut b =
            object_store::gcp::GoogleCloudStorageBuilder::from_env().with_bucket_name(&bucket);
        for (k, v) in &self.options {
            b = b.with_config(self.key::<K>(k)?, v);
        }
        b = b
            .with_config(K::Client(timeout_key()), self.timeout_value())
            .with_retry(no_retries());
        let store = b.build().map_err(|e| self.config_err(e))?;
        self.finish(Arc::new(store), &prefix)
    }

    #[cfg(feature = "azure")]
    fn azure(&self, scheme: &str) -> Result<ObjectStoreFetcher> {
        use object_store::azure::AzureConfigKey as K;
        let u = parse(&self.url)?;
        let host = u.host_str().unwrap_or_default().to_string();
        let path = u.path().trim_matches('/').to_string();
        let (account, container, prefix) = match scheme {
            // reference downloader layout: azure://<account>.blob.core.windows.net/<container>/<blob>
            "azure" => {
                let (container, prefix) = path.split_once('/').unwrap_or((path.as_str(), ""));
                let label = host.split('.').next().unwrap_or_default().to_string();
                (Some(label), container.to_string(), prefix.to_string())
            }
            // abfs://<container>@<account>.dfs.core.windows.net/<path>
            "abfs" | "abfss" if !u.username().is_empty() => {
                let label = host.split('.').next().unwrap_or_default().to_string();
                (Some(label), u.username().to_string(), path)
            }
            _ => (None, host, path),
        };
        if container.is_empty() {
            return Err(Error::InvalidUrl {
                url: self.url.clone(),
                reason: "no container".to_string(),
            });
        }
        let mut b =
            object_store::azure::MicrosoftAzureBuilder::from_env().with_container_name(&container);
        if let Some(a) = env("AZURE_ACCOUNT_NAME").or(account.filter(|a| !a.is_empty())) {
            b = b.with_account(a);
        }
        if let Some(k) = env("AZURE_ACCOUNT_ACCESS_KEY") {
            b = b.with_access_key(k);
        }
        for (k, v) in &self.options {
            b = b.with_config(self.key::<K>(k)?, v);
        }
        b = b
            .with_config(K::Client(timeout_key()), self.timeout_value())
            .with_retry(no_retries());
        let store = b.build().map_err(|e| self.config_err(e))?;
        self.finish(Arc::new(store), &prefix)
    }

    #[cfg(feature = "http")]
    fn http(&self, url: &str, bearer_from_hf: bool) -> Result<ObjectStoreFetcher> {
        use object_store::ClientConfigKey as K;
        let u = parse(url)?;
        let mut opts = object_store::ClientOptions::new()
            .with_allow_http(u.scheme() == "http")
            .with_config(timeout_key(), self.timeout_value());
        if bearer_from_hf && let Some(token) = env("HF_TOKEN") {
            let mut h = object_store::HeaderMap::new();
            let v = object_store::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| self.config_err(e))?;
            h.insert("authorization", v);
            opts = opts.with_default_headers(h);
        }
        for (k, v) in &self.options {
            opts = opts.with_config(self.key::<K>(k)?, v);
        }
        // the store is rooted at the server and the URL's path is the prefix, so that WebDAV
        // PUTs can create every missing parent collection
        let root = format!("{}://{}", u.scheme(), u.authority());
        let prefix = percent_decode(u.path().trim_matches('/'));
        let store = object_store::http::HttpBuilder::new()
            .with_url(root)
            .with_client_options(opts)
            .with_retry(no_retries())
            .build()
            .map_err(|e| self.config_err(e))?;
        self.finish(Arc::new(store), &prefix)
    }

    #[cfg(feature = "http")]
    fn hf(&self) -> Result<ObjectStoreFetcher> {
        // hf://datasets/<org>/<repo>[@<revision>]/<path>
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        let mut parts = rest.trim_matches('/').splitn(4, '/');
        let (kind, org, repo, path) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if kind != "datasets" || org.is_empty() || repo.is_empty() {
            return Err(Error::InvalidUrl {
                url: self.url.clone(),
                reason: "expected hf://datasets/<org>/<repo>[@<revision>]/<path>".to_string(),
            });
        }
        let (repo, rev) = repo.split_once('@').unwrap_or((repo, "main"));
        let endpoint = env("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".to_string());
        let base = format!(
            "{}/datasets/{org}/{repo}/resolve/{rev}/{path}",
            endpoint.trim_end_matches('/')
        );
        self.http(&base, true)
    }

    #[cfg(feature = "s3")]
    fn oci(&self) -> Result<ObjectStoreFetcher> {
        // oci://<bucket>@<namespace>/<path> via https://<ns>.compat.objectstorage.<region>.oraclecloud.com
        let u = parse(&self.url)?;
        let bucket = u.username().to_string();
        let ns = u.host_str().unwrap_or_default().to_string();
        let endpoint = env("OCI_S3_ENDPOINT_URL").or_else(|| {
            env("OCI_REGION")
                .map(|r| format!("https://{ns}.compat.objectstorage.{r}.oraclecloud.com"))
        });
        let Some(endpoint) = endpoint.filter(|_| !bucket.is_empty() && !ns.is_empty()) else {
            return Err(Error::UnsupportedScheme {
                url: self.url.clone(),
                scheme: "oci".to_string(),
                hint: "; use oci://<bucket>@<namespace>/<path> with OCI_REGION (or \
                       OCI_S3_ENDPOINT_URL) and S3 Customer Secret Keys in AWS_ACCESS_KEY_ID / \
                       AWS_SECRET_ACCESS_KEY"
                    .to_string(),
            });
        };
        let mut b = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&bucket)
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(false);
        if let Some(r) = env("OCI_REGION") {
            b = b.with_region(r);
        }
        self.finish_s3(b, u.path().trim_matches('/'))
    }

    #[cfg(not(feature = "s3"))]
    fn s3(&self) -> Result<ObjectStoreFetcher> {
        self.disabled("s3")
    }
    #[cfg(not(feature = "s3"))]
    fn oci(&self) -> Result<ObjectStoreFetcher> {
        self.disabled("s3")
    }
    #[cfg(not(feature = "gcs"))]
    fn gcs(&self) -> Result<ObjectStoreFetcher> {
        self.disabled("gcs")
    }
    #[cfg(not(feature = "azure"))]
    fn azure(&self, _scheme: &str) -> Result<ObjectStoreFetcher> {
        self.disabled("azure")
    }
    #[cfg(not(feature = "http"))]
    fn http(&self, _url: &str, _hf: bool) -> Result<ObjectStoreFetcher> {
        self.disabled("http")
    }
    #[cfg(not(feature = "http"))]
    fn hf(&self) -> Result<ObjectStoreFetcher> {
        self.disabled("http")
    }

    #[allow(dead_code, reason = "used only when some backend feature is off")]
    fn disabled(&self, feature: &'static str) -> Result<ObjectStoreFetcher> {
        Err(Error::FeatureDisabled {
            url: self.url.clone(),
            feature,
        })
    }

    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    fn finish(&self, store: Arc<dyn ObjectStore>, prefix: &str) -> Result<ObjectStoreFetcher> {
        ObjectStoreFetcher::from_object_store(store, prefix, self.url.trim_end_matches('/'))
    }

    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    fn key<K>(&self, k: &str) -> Result<K>
    where
        K: std::str::FromStr<Err = object_store::Error>,
    {
        k.to_ascii_lowercase()
            .parse::<K>()
            .map_err(|e| self.config_err(e))
    }

    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    fn timeout_value(&self) -> String {
        format!("{}ms", self.timeout.as_millis().max(1))
    }

    #[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
    fn config_err(&self, e: impl Into<BoxError>) -> Error {
        Error::Config {
            url: self.url.clone(),
            source: e.into(),
        }
    }
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
fn timeout_key() -> object_store::ClientConfigKey {
    object_store::ClientConfigKey::Timeout
}

/// object_store's retries off: [`crate::RetryPolicy`] is the one retry loop.
#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
fn no_retries() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 0,
        ..object_store::RetryConfig::default()
    }
}

fn store_of(f: &ObjectStoreFetcher) -> Arc<dyn object_store::ObjectStore> {
    f.store()
}

/// The scheme of `s` when it looks like `scheme:...` (at least two characters, so Windows
/// drive letters stay paths). `dbfs:/x` has scheme `dbfs`.
fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once(':')?;
    let ok = scheme.len() >= 2
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    ok.then_some(scheme)
}

fn parse(s: &str) -> Result<url::Url> {
    url::Url::parse(s).map_err(|e| Error::InvalidUrl {
        url: s.to_string(),
        reason: e.to_string(),
    })
}

#[cfg(any(feature = "s3", feature = "gcs"))]
fn bucket_and_prefix(s: &str) -> Result<(String, String)> {
    let u = parse(s)?;
    let bucket = u.host_str().unwrap_or_default().to_string();
    if bucket.is_empty() {
        return Err(Error::InvalidUrl {
            url: s.to_string(),
            reason: "no bucket".to_string(),
        });
    }
    let prefix = percent_decode(u.path().trim_matches('/'));
    Ok((bucket, prefix))
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "http"))]
fn percent_decode(s: &str) -> String {
    // url::Url percent-encodes spaces and the like in the path; keys are stored decoded
    url::form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

#[cfg(any(feature = "s3", feature = "gcs", feature = "azure", feature = "http"))]
fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

#[cfg(feature = "local")]
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.exists() {
        return path.canonicalize();
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    Ok(abs)
}

#[cfg(feature = "s3")]
fn requester_pays(bucket: &str) -> bool {
    env("MOSAICML_STREAMING_AWS_REQUESTER_PAYS")
        .is_some_and(|v| v.split(',').any(|b| b.trim() == bucket))
}

/// Credentials and region of the active AWS profile (`AWS_PROFILE`, default `default`).
#[derive(Debug, Default)]
#[cfg(feature = "s3")]
struct Profile {
    key: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    region: Option<String>,
    /// `endpoint_url` of the profile (config file).
    endpoint: Option<String>,
}

#[cfg(feature = "s3")]
fn aws_profile() -> Option<Profile> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let creds = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let name = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let mut p = Profile::default();
    let mut found = false;
    for (file, section) in [
        (creds, name.clone()),
        (
            config,
            if name == "default" {
                name.clone()
            } else {
                format!("profile {name}")
            },
        ),
    ] {
        let Some(text) = file.and_then(|f| std::fs::read_to_string(f).ok()) else {
            continue;
        };
        for (k, v) in ini_section(&text, &section) {
            found = true;
            match k.as_str() {
                "aws_access_key_id" => p.key = p.key.or(Some(v)),
                "aws_secret_access_key" => p.secret = p.secret.or(Some(v)),
                "aws_session_token" => p.token = p.token.or(Some(v)),
                "region" => p.region = p.region.or(Some(v)),
                // flat, or nested under `s3 =` (an indented line of the same section)
                "endpoint_url" if !v.is_empty() => p.endpoint = p.endpoint.or(Some(v)),
                _ => {}
            }
        }
    }
    found.then_some(p)
}

/// `key = value` pairs of `[section]` in an INI text.
#[cfg(feature = "s3")]
fn ini_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == section;
        } else if inside && let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        assert_eq!(scheme_of("s3://b/k"), Some("s3"));
        assert_eq!(scheme_of("dbfs:/Volumes/x"), Some("dbfs"));
        assert_eq!(scheme_of("/data/x"), None);
        assert_eq!(scheme_of("C:\\data"), None);
        assert_eq!(scheme_of("rel/dir"), None);
    }

    #[cfg(feature = "s3")]
    #[test]
    fn ini() {
        let t = "[default]\naws_access_key_id = A\n[profile x]\nregion=eu-west-1\n";
        assert_eq!(
            ini_section(t, "default"),
            vec![("aws_access_key_id".into(), "A".into())]
        );
        assert_eq!(
            ini_section(t, "profile x"),
            vec![("region".into(), "eu-west-1".into())]
        );
    }
}

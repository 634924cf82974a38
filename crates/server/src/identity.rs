//! Where an identity provider's keys come from: a JWKS file, or its URL (HTTPS; plain HTTP only
//! on a loopback address, for providers and tests on the same machine).

use std::path::PathBuf;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use podledger_api::auth::KeySource;

/// Largest JWKS document read.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// A JWKS in a file, read again at each fetch (replace the file to rotate keys).
#[derive(Debug)]
pub struct FileKeys(pub PathBuf);

impl KeySource for FileKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<String, String>> {
        let path = self.0.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                if text.len() > MAX_JWKS_BYTES {
                    return Err(format!(
                        "{} is larger than {MAX_JWKS_BYTES} bytes",
                        path.display()
                    ));
                }
                Ok(text)
            })
            .await
            .map_err(|e| e.to_string())?
        }
        .boxed()
    }
}

/// A JWKS served at a URL (`jwks_uri` of the provider's discovery document).
#[derive(Debug)]
pub struct UrlKeys {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl UrlKeys {
    /// Keys at `url`: `https://`, or `http://` on a loopback address.
    pub fn new(url: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(format!(
                "{url}: keys are fetched over https (http only on loopback)"
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { url, client })
    }
}

impl KeySource for UrlKeys {
    fn fetch(&self) -> BoxFuture<'_, Result<String, String>> {
        async move {
            let response = self
                .client
                .get(self.url.clone())
                .send()
                .await
                .map_err(|e| format!("{}: {e}", self.url))?
                .error_for_status()
                .map_err(|e| format!("{}: {e}", self.url))?;
            if response
                .content_length()
                .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
            {
                return Err(format!("{}: larger than {MAX_JWKS_BYTES} bytes", self.url));
            }
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("{}: larger than {MAX_JWKS_BYTES} bytes", self.url));
            }
            String::from_utf8(body.to_vec()).map_err(|e| e.to_string())
        }
        .boxed()
    }
}

/// The key source `location` names: a URL (`https://…`) or a file path.
pub fn key_source(location: &str) -> Result<std::sync::Arc<dyn KeySource>, String> {
    if location.starts_with("https://") || location.starts_with("http://") {
        Ok(std::sync::Arc::new(UrlKeys::new(location)?))
    } else {
        Ok(std::sync::Arc::new(FileKeys(PathBuf::from(location))))
    }
}

//! Bearer JWTs (HS256): identity and organisation only. Pod roles never come from a token: the
//! domain reads them from the organisation's events.
//!
//! Two kinds of token are accepted. **HS256** tokens signed with the server's secret (development,
//! demo, `podledger token`) carry the person's or service's UUID in `sub` and the organisation in
//! `org`. **Identity-provider tokens** (RS256, ES256 or EdDSA — Keycloak, Auth0, Okta…) are
//! verified against the provider's JWKS ([`IdentityProvider`]): their `sub` is the provider's
//! subject, which signs in as the person an ORG_ADMIN linked it to (`linkIdentity`).
//!
//! A token is refused unverified when it is longer than [`MAX_TOKEN_BYTES`]; the algorithm is
//! pinned per kind (any other, `none` included, is refused, and a JWKS's symmetric keys are never
//! used); `exp`, `iss`, `aud` and `sub` are required; `nbf` and `iat`, when present, must not lie
//! in the future. Clocks may differ by [`AuthConfig::leeway`].

use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono::{Duration, Utc};
use futures_util::future::BoxFuture;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use podledger_domain::ids::{OrgId, PersonId, PodId, ServiceId};
use podledger_domain::{Actor, ServiceScope};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest token accepted (bytes); a longer one is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Shared-secret tokens remembered after their signature checked out, at most (the memory is
/// emptied when full; only a holder of the secret can make a token that gets in).
const REMEMBERED_TOKENS: usize = 10_000;

/// How tokens are checked (and minted for development).
#[derive(Clone)]
pub struct AuthConfig {
    secret: Vec<u8>,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// How far clocks may differ: `exp` is honoured this long after it passed, `nbf` and `iat`
    /// this long before they come (seconds; 30 unless set).
    pub leeway: u64,
    /// Tokens of an identity provider, when one is configured.
    pub provider: Option<Arc<IdentityProvider>>,
    /// Shared-secret tokens already verified, with what they say: a client sends the same
    /// token with every request, and checking its signature and claims again was ~5 % of the
    /// server's CPU under a write load (issue 20). A remembered token is still refused once
    /// its `exp` (plus the leeway) has passed. Provider tokens are not remembered: the person
    /// their subject is linked to may change.
    verified: Arc<std::sync::Mutex<std::collections::HashMap<Box<str>, Principal>>>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The person or service.
    pub sub: Uuid,
    /// The organisation.
    pub org: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// Not valid before (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// Pods whose KPI readings a service token may record; absent for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi_pods: Option<Vec<Uuid>>,
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Their organisation.
    pub org: OrgId,
    /// Who acts.
    pub actor: Actor,
    /// Token expiry (seconds since the epoch).
    pub expires_at: i64,
}

/// Why a token was refused. Deliberately vague for clients.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("a bearer token is required")]
    Missing,
    /// Bad signature, expired, wrong issuer or audience, malformed.
    #[error("the bearer token is invalid or expired")]
    Invalid,
    /// A valid identity-provider token whose subject no person of the organisation is linked to.
    #[error(
        "no person of the organisation is linked to this identity; an ORG_ADMIN links it with linkIdentity"
    )]
    Unlinked,
}

impl AuthConfig {
    /// A configuration with a shared secret.
    pub fn new(
        secret: impl Into<Vec<u8>>,
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Self {
        Self {
            secret: secret.into(),
            issuer: issuer.into(),
            audience: audience.into(),
            leeway: 30,
            provider: None,
            verified: Arc::default(),
        }
    }

    /// The same configuration, also accepting the tokens of `provider`.
    #[must_use]
    pub fn with_provider(mut self, provider: IdentityProvider) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// Checks a token of either kind: HS256 tokens as [`AuthConfig::verify`] does; a provider's
    /// token against its keys, its subject signing in as the person `linked` names (given the
    /// organisation, issuer and subject).
    pub async fn authenticate(
        &self,
        token: &str,
        linked: &(dyn Fn(OrgId, &str, &str) -> Option<PersonId> + Sync),
    ) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid);
        }
        if let Some(known) = self.remembered(token) {
            return known;
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Invalid)?;
        match (&self.provider, header.alg) {
            (_, Algorithm::HS256) => self.check_and_remember(token),
            (Some(provider), alg) if PROVIDER_ALGORITHMS.contains(&alg) => {
                provider.verify(token, &header, self.leeway, linked).await
            }
            _ => Err(AuthError::Invalid),
        }
    }

    /// [`AuthConfig::authenticate`] for an `Authorization` header value.
    pub async fn authenticate_header(
        &self,
        header: Option<&str>,
        linked: &(dyn Fn(OrgId, &str, &str) -> Option<PersonId> + Sync),
    ) -> Result<Principal, AuthError> {
        let token = bearer(header).ok_or(AuthError::Missing)?;
        self.authenticate(token, linked).await
    }

    /// The same configuration with another clock leeway (seconds).
    #[must_use]
    pub fn with_leeway(mut self, leeway: u64) -> Self {
        self.leeway = leeway;
        // What was verified under the old leeway is not known to hold under the new one.
        self.verified = Arc::default();
        self
    }

    /// Checks a token: size, algorithm (HS256 only), signature, `exp`, `iss`, `aud`, `sub` all
    /// required, `nbf` and `iat` not in the future.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid);
        }
        if let Some(known) = self.remembered(token) {
            return known;
        }
        self.check_and_remember(token)
    }

    /// [`AuthConfig::verify`] for a token not remembered: checked, and remembered if it passes.
    fn check_and_remember(&self, token: &str) -> Result<Principal, AuthError> {
        let principal = self.check(token)?;
        let mut verified = self.verified.lock().expect("verified tokens");
        if verified.len() >= REMEMBERED_TOKENS {
            verified.clear();
        }
        verified.insert(token.into(), principal.clone());
        Ok(principal)
    }

    /// What a token verified before says, unless it has expired since (then it is forgotten
    /// and refused); `None` for a token not verified before.
    fn remembered(&self, token: &str) -> Option<Result<Principal, AuthError>> {
        let mut verified = self.verified.lock().expect("verified tokens");
        let principal = verified.get(token)?;
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);
        if Utc::now().timestamp() > principal.expires_at.saturating_add(leeway) {
            verified.remove(token);
            return Some(Err(AuthError::Invalid));
        }
        Some(Ok(principal.clone()))
    }

    /// [`AuthConfig::verify`]'s checks, on a token not seen before.
    fn check(&self, token: &str) -> Result<Principal, AuthError> {
        let validation = validation(Algorithm::HS256, &self.issuer, &self.audience, self.leeway);
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
        if issued_in_future(claims.iat, self.leeway) {
            return Err(AuthError::Invalid);
        }
        let actor = match claims.kpi_pods {
            Some(pods) => Actor::Service {
                service: ServiceId(claims.sub),
                scope: ServiceScope {
                    kpi_readings_for_pods: pods.into_iter().map(PodId).collect(),
                },
            },
            None => Actor::member(PersonId(claims.sub)),
        };
        Ok(Principal {
            org: OrgId(claims.org),
            actor,
            expires_at: claims.exp,
        })
    }

    /// The principal of an `Authorization` header value.
    pub fn verify_header(&self, header: Option<&str>) -> Result<Principal, AuthError> {
        self.verify(bearer(header).ok_or(AuthError::Missing)?)
    }

    /// Mints a token for a member (development and tests; production tokens come from the
    /// organisation's identity provider).
    pub fn mint_member(&self, org: OrgId, person: PersonId, valid_for: Duration) -> String {
        self.mint(org.as_uuid(), person.as_uuid(), None, valid_for)
    }

    /// Mints a service token allowed to record KPI readings for `pods`.
    pub fn mint_service(
        &self,
        org: OrgId,
        service: ServiceId,
        pods: &[PodId],
        valid_for: Duration,
    ) -> String {
        let pods = pods.iter().map(PodId::as_uuid).collect();
        self.mint(org.as_uuid(), service.as_uuid(), Some(pods), valid_for)
    }

    fn mint(
        &self,
        org: Uuid,
        sub: Uuid,
        kpi_pods: Option<Vec<Uuid>>,
        valid_for: Duration,
    ) -> String {
        let now = Utc::now();
        let claims = Claims {
            sub,
            org,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: (now + valid_for).timestamp(),
            nbf: Some(now.timestamp()),
            iat: Some(now.timestamp()),
            kpi_pods,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&self.secret),
        )
        .expect("HS256 signing cannot fail")
    }
}

/// What every token must satisfy, whichever its kind: the pinned `algorithm`, `iss`, `aud`,
/// `exp` and `sub` present, `nbf` not in the future (with `leeway` seconds of clock skew).
fn validation(algorithm: Algorithm, issuer: &str, audience: &str, leeway: u64) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = leeway;
    validation
}

/// Whether `iat` lies in the future beyond `leeway` (jsonwebtoken checks `nbf`, not `iat`; a
/// token issued in the future is as suspect).
fn issued_in_future(iat: Option<i64>, leeway: u64) -> bool {
    let latest = Utc::now().timestamp().saturating_add_unsigned(leeway);
    iat.is_some_and(|iat| iat > latest)
}

/// The token of an `Authorization: Bearer …` header value.
fn bearer(header: Option<&str>) -> Option<&str> {
    header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
}

/// The algorithms an identity provider's tokens may use.
pub const PROVIDER_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// Where an identity provider's signing keys come from: its JWKS document, fetched when a token
/// names a key the cache does not hold (and when the cache is older than
/// [`IdentityProvider::max_age`]).
pub trait KeySource: Send + Sync + std::fmt::Debug {
    /// The JWKS document (JSON), or why it could not be had.
    fn fetch(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// An OpenID Connect-style identity provider whose tokens sign people in.
#[derive(Debug)]
pub struct IdentityProvider {
    /// Expected `iss`: the provider's issuer URL.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
    /// The claim that holds the organisation's id (a UUID or the API's `Organisation` id);
    /// `org` unless set.
    pub org_claim: String,
    /// The organisation of tokens without that claim (a provider serving one organisation).
    pub default_org: Option<OrgId>,
    /// Least time between two fetches of the keys (a flood of tokens naming unknown keys makes
    /// one fetch per interval, not one per token).
    pub refresh_interval: std::time::Duration,
    /// Keys older than this are fetched again before use (a key the provider retired stops
    /// verifying within this time).
    pub max_age: std::time::Duration,
    source: Arc<dyn KeySource>,
    keys: RwLock<Arc<Keys>>,
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct Keys {
    set: JwkSet,
    fetched_at: Option<Instant>,
}

impl Keys {
    fn fresh(&self, max_age: std::time::Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

impl IdentityProvider {
    /// A provider with issuer, audience and where its keys come from; the organisation in the
    /// `org` claim, keys fetched at most every 30 s on an unknown key and refreshed hourly.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        source: Arc<dyn KeySource>,
    ) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            org_claim: "org".into(),
            default_org: None,
            refresh_interval: std::time::Duration::from_secs(30),
            max_age: std::time::Duration::from_secs(3600),
            source,
            keys: RwLock::default(),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self) -> Arc<Keys> {
        self.keys.read().expect("keys").clone()
    }

    /// The key `kid`, fetching the set again when it is unknown or stale (one fetch at a time,
    /// at most one per [`IdentityProvider::refresh_interval`] unless stale).
    async fn key(&self, kid: &str) -> Option<jsonwebtoken::jwk::Jwk> {
        let cached = self.cached();
        if cached.fresh(self.max_age)
            && let Some(key) = cached.set.find(kid)
        {
            return Some(key.clone());
        }
        let _one_at_a_time = self.refreshing.lock().await;
        let cached = self.cached();
        let stale = !cached.fresh(self.max_age);
        if !stale && let Some(key) = cached.set.find(kid) {
            return Some(key.clone());
        }
        let recent = cached
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.refresh_interval);
        if recent && !stale {
            return None;
        }
        match self.source.fetch().await.and_then(|json| {
            serde_json::from_str::<JwkSet>(&json).map_err(|e| format!("not a JWKS: {e}"))
        }) {
            Ok(mut set) => {
                // Symmetric keys in a provider's set are never trusted: anyone who can read
                // the set could sign with them.
                set.keys.retain(|k| {
                    matches!(
                        k.algorithm,
                        AlgorithmParameters::RSA(_)
                            | AlgorithmParameters::EllipticCurve(_)
                            | AlgorithmParameters::OctetKeyPair(_)
                    )
                });
                let key = set.find(kid).cloned();
                *self.keys.write().expect("keys") = Arc::new(Keys {
                    set,
                    fetched_at: Some(Instant::now()),
                });
                key
            }
            Err(why) => {
                tracing::warn!(%why, issuer = %self.issuer, "fetching the identity provider's keys failed; keeping the ones held");
                if stale {
                    None
                } else {
                    cached.set.find(kid).cloned()
                }
            }
        }
    }

    async fn verify(
        &self,
        token: &str,
        header: &Header,
        leeway: u64,
        linked: &(dyn Fn(OrgId, &str, &str) -> Option<PersonId> + Sync),
    ) -> Result<Principal, AuthError> {
        let kid = header.kid.as_deref().ok_or(AuthError::Invalid)?;
        let jwk = self.key(kid).await.ok_or(AuthError::Invalid)?;
        if jwk
            .common
            .key_algorithm
            .is_some_and(|a| a.to_string() != format!("{:?}", header.alg))
        {
            return Err(AuthError::Invalid);
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| AuthError::Invalid)?;
        let validation = validation(header.alg, &self.issuer, &self.audience, leeway);
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|_| AuthError::Invalid)?
        .claims;
        if issued_in_future(
            claims.get("iat").and_then(serde_json::Value::as_i64),
            leeway,
        ) {
            return Err(AuthError::Invalid);
        }
        let subject = claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .ok_or(AuthError::Invalid)?;
        let org = match claims
            .get(&self.org_claim)
            .and_then(serde_json::Value::as_str)
        {
            Some(org) => OrgId(crate::ids::uuid_of("Organisation", org).ok_or(AuthError::Invalid)?),
            None => self.default_org.ok_or(AuthError::Invalid)?,
        };
        let person = linked(org, &self.issuer, subject).ok_or(AuthError::Unlinked)?;
        Ok(Principal {
            org,
            actor: Actor::member(person),
            expires_at: claims
                .get("exp")
                .and_then(serde_json::Value::as_i64)
                .ok_or(AuthError::Invalid)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> AuthConfig {
        AuthConfig::new(
            b"test-secret-test-secret-test-secret".to_vec(),
            "podledger",
            "podledger-api",
        )
    }

    #[test]
    fn a_minted_member_token_verifies_to_its_person_and_org() {
        let (org, person) = (OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
        let token = config().mint_member(org, person, Duration::minutes(5));
        let principal = config()
            .verify_header(Some(&format!("Bearer {token}")))
            .unwrap();
        assert_eq!(principal.org, org);
        assert_eq!(principal.actor, Actor::member(person));
    }

    #[test]
    fn a_service_token_carries_its_pod_scope() {
        let pod = PodId(Uuid::now_v7());
        let token = config().mint_service(
            OrgId(Uuid::now_v7()),
            ServiceId(Uuid::now_v7()),
            &[pod],
            Duration::minutes(5),
        );
        match config().verify(&token).unwrap().actor {
            Actor::Service { scope, .. } => assert!(scope.kpi_readings_for_pods.contains(&pod)),
            Actor::Member { .. } => panic!("a service token"),
        }
    }

    fn claims(org: OrgId, person: PersonId, at: chrono::DateTime<Utc>) -> Claims {
        Claims {
            sub: person.as_uuid(),
            org: org.as_uuid(),
            iss: "podledger".into(),
            aud: "podledger-api".into(),
            exp: (at + Duration::hours(2)).timestamp(),
            nbf: None,
            iat: None,
            kpi_pods: None,
        }
    }

    fn sign(claims: &Claims, algorithm: Algorithm) -> String {
        jsonwebtoken::encode(
            &Header::new(algorithm),
            claims,
            &EncodingKey::from_secret(b"test-secret-test-secret-test-secret"),
        )
        .unwrap()
    }

    #[test]
    fn given_nbf_or_iat_in_the_future_beyond_the_leeway_then_the_token_is_refused_and_within_it_accepted()
     {
        let (org, person, now) = (OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()), Utc::now());
        let ahead = |seconds: i64| (now + Duration::seconds(seconds)).timestamp();
        let with = |nbf: Option<i64>, iat: Option<i64>| {
            sign(
                &Claims {
                    nbf,
                    iat,
                    ..claims(org, person, now)
                },
                Algorithm::HS256,
            )
        };
        assert_eq!(
            config().verify(&with(Some(ahead(3600)), None)),
            Err(AuthError::Invalid)
        );
        assert_eq!(
            config().verify(&with(None, Some(ahead(3600)))),
            Err(AuthError::Invalid)
        );
        assert!(
            config()
                .verify(&with(Some(ahead(10)), Some(ahead(10))))
                .is_ok(),
            "within 30 s"
        );
        let strict = config().with_leeway(0);
        assert_eq!(
            strict.verify(&with(Some(ahead(10)), None)),
            Err(AuthError::Invalid)
        );
        assert!(
            strict
                .verify(&with(Some(ahead(-10)), Some(ahead(-10))))
                .is_ok()
        );
    }

    #[test]
    fn given_another_algorithm_or_an_oversized_token_then_it_is_refused_before_its_claims_count() {
        let (org, person) = (OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
        let good = claims(org, person, Utc::now());
        assert!(config().verify(&sign(&good, Algorithm::HS256)).is_ok());
        assert_eq!(
            config().verify(&sign(&good, Algorithm::HS512)),
            Err(AuthError::Invalid)
        );
        // alg "none": a header and claims with no signature.
        let none = {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!(
                "{}.{}.",
                b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
                b64.encode(serde_json::to_vec(&good).unwrap())
            )
        };
        assert_eq!(config().verify(&none), Err(AuthError::Invalid));
        let padded = sign(
            &Claims {
                kpi_pods: Some(vec![Uuid::now_v7(); 300]),
                ..good
            },
            Algorithm::HS256,
        );
        assert!(padded.len() > MAX_TOKEN_BYTES);
        assert_eq!(config().verify(&padded), Err(AuthError::Invalid));
    }

    #[test]
    fn expired_forged_misaddressed_and_missing_tokens_are_refused() {
        let org = OrgId(Uuid::now_v7());
        let person = PersonId(Uuid::now_v7());
        let expired = config().mint_member(org, person, Duration::seconds(-60));
        assert_eq!(config().verify(&expired), Err(AuthError::Invalid));
        let forged = AuthConfig::new(
            b"another-secret-another-secret!!".to_vec(),
            "podledger",
            "podledger-api",
        )
        .mint_member(org, person, Duration::minutes(5));
        assert_eq!(config().verify(&forged), Err(AuthError::Invalid));
        let other_aud = AuthConfig::new(
            b"test-secret-test-secret-test-secret".to_vec(),
            "podledger",
            "elsewhere",
        )
        .mint_member(org, person, Duration::minutes(5));
        assert_eq!(config().verify(&other_aud), Err(AuthError::Invalid));
        let other_iss = AuthConfig::new(
            b"test-secret-test-secret-test-secret".to_vec(),
            "someone",
            "podledger-api",
        )
        .mint_member(org, person, Duration::minutes(5));
        assert_eq!(config().verify(&other_iss), Err(AuthError::Invalid));
        assert_eq!(config().verify("not.a.jwt"), Err(AuthError::Invalid));
        assert_eq!(config().verify_header(None), Err(AuthError::Missing));
        assert_eq!(
            config().verify_header(Some("Basic abc")),
            Err(AuthError::Missing)
        );
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires_and_a_changed_one_is_checked_again() {
        let (org, person) = (OrgId(Uuid::now_v7()), PersonId(Uuid::now_v7()));
        let auth = config().with_leeway(0);
        let token = auth.mint_member(org, person, Duration::minutes(5));
        let first = auth.verify(&token).unwrap();
        assert_eq!(
            auth.verified.lock().unwrap().get(token.as_str()),
            Some(&first)
        );
        assert_eq!(auth.verify(&token), Ok(first.clone()));
        // One character of the signature changed: not the remembered token, checked and refused.
        let mut tampered = token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(auth.verify(&tampered), Err(AuthError::Invalid));
        assert_eq!(auth.verified.lock().unwrap().len(), 1);
        // Time passes beyond its expiry: the remembered token is refused and forgotten.
        auth.verified
            .lock()
            .unwrap()
            .get_mut(token.as_str())
            .unwrap()
            .expires_at = Utc::now().timestamp() - 1;
        assert_eq!(auth.verify(&token), Err(AuthError::Invalid));
        assert!(auth.verified.lock().unwrap().is_empty());
        // Another leeway starts with nothing remembered.
        assert_eq!(auth.verify(&token), Ok(first));
        assert!(auth.with_leeway(10).verified.lock().unwrap().is_empty());
    }

    /// A provider's keys as a test holds them: a JWKS it can change, and a count of fetches.
    #[derive(Debug)]
    struct Published {
        set: std::sync::Mutex<Result<String, String>>,
        fetches: std::sync::atomic::AtomicUsize,
    }

    impl KeySource for Published {
        fn fetch(&self) -> BoxFuture<'_, Result<String, String>> {
            use futures_util::FutureExt as _;
            self.fetches
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let set = self.set.lock().unwrap().clone();
            async move { set }.boxed()
        }
    }

    fn jwks(kids: &[&str]) -> String {
        let key = EncodingKey::from_ec_der(include_bytes!("../../../tests/fixtures/idp/ec.der"));
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| {
                let mut jwk =
                    jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
                jwk.common.key_id = Some((*kid).into());
                jwk
            })
            .collect();
        serde_json::to_string(&JwkSet { keys }).unwrap()
    }

    #[tokio::test]
    async fn given_unknown_kids_in_a_flood_then_the_keys_are_fetched_once_per_interval() {
        let published = Arc::new(Published {
            set: std::sync::Mutex::new(Ok(jwks(&["a"]))),
            fetches: std::sync::atomic::AtomicUsize::new(0),
        });
        let provider = IdentityProvider::new("iss", "aud", published.clone());
        let fetches = || published.fetches.load(std::sync::atomic::Ordering::SeqCst);
        assert!(provider.key("a").await.is_some());
        assert_eq!(fetches(), 1);
        for i in 0..100 {
            assert!(provider.key(&format!("forged-{i}")).await.is_none());
        }
        assert_eq!(fetches(), 1, "unknown kids wait for the refresh interval");
        assert!(
            provider.key("a").await.is_some(),
            "known keys are served from the cache"
        );
        assert_eq!(fetches(), 1);
    }

    #[tokio::test]
    async fn given_a_failed_fetch_then_the_keys_held_still_verify_until_they_are_stale() {
        let published = Arc::new(Published {
            set: std::sync::Mutex::new(Ok(jwks(&["a"]))),
            fetches: std::sync::atomic::AtomicUsize::new(0),
        });
        let mut provider = IdentityProvider::new("iss", "aud", published.clone());
        provider.refresh_interval = std::time::Duration::ZERO;
        assert!(provider.key("a").await.is_some());
        *published.set.lock().unwrap() = Err("provider down".into());
        assert!(provider.key("b").await.is_none());
        assert!(
            provider.key("a").await.is_some(),
            "kept through the failed fetch"
        );
        provider.max_age = std::time::Duration::ZERO;
        assert!(
            provider.key("a").await.is_none(),
            "stale keys are not trusted"
        );
        *published.set.lock().unwrap() = Ok(jwks(&["b"]));
        assert!(provider.key("b").await.is_some());
        assert!(provider.key("a").await.is_none(), "a retired key is gone");
    }
}

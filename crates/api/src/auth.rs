//! Bearer JWTs (HS256): identity and organisation only. Pod roles never come from a token: the
//! domain reads them from the organisation's events.
//!
//! A token is refused unverified when it is longer than [`MAX_TOKEN_BYTES`]; the algorithm is
//! pinned (a token naming another, `none` included, is refused); `exp`, `iss`, `aud` and `sub`
//! are required; `nbf` and `iat`, when present, must not lie in the future. Clocks may differ by
//! [`AuthConfig::leeway`].

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use podledger_domain::ids::{OrgId, PersonId, PodId, ServiceId};
use podledger_domain::{Actor, ServiceScope};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest token accepted (bytes); a longer one is refused before any decoding.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

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
        }
    }

    /// The same configuration with another clock leeway (seconds).
    #[must_use]
    pub fn with_leeway(mut self, leeway: u64) -> Self {
        self.leeway = leeway;
        self
    }

    /// Checks a token: size, algorithm (HS256 only), signature, `exp`, `iss`, `aud`, `sub` all
    /// required, `nbf` and `iat` not in the future.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway;
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
        // jsonwebtoken checks `nbf`; a token issued in the future is as suspect.
        let latest = Utc::now().timestamp().saturating_add_unsigned(self.leeway);
        if claims.iat.is_some_and(|iat| iat > latest) {
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
        let token = header
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .ok_or(AuthError::Missing)?;
        self.verify(token.trim())
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
}

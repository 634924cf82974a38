//! Bearer JWTs (HS256): identity and organisation only. Pod roles never come from a token: the
//! domain reads them from the organisation's events.

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use podledger_domain::ids::{OrgId, PersonId, PodId, ServiceId};
use podledger_domain::{Actor, ServiceScope};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How tokens are checked (and minted for development).
#[derive(Clone)]
pub struct AuthConfig {
    secret: Vec<u8>,
    /// Expected `iss`.
    pub issuer: String,
    /// Expected `aud`.
    pub audience: String,
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
        }
    }

    /// Checks a token: signature, `exp`, `iss`, `aud`, `sub` all required.
    pub fn verify(&self, token: &str) -> Result<Principal, AuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(&self.secret),
            &validation,
        )
        .map_err(|_| AuthError::Invalid)?;
        let claims = data.claims;
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
        let claims = Claims {
            sub,
            org,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: (Utc::now() + valid_for).timestamp(),
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

    #[test]
    fn expired_forged_misaddressed_and_missing_tokens_are_refused() {
        let org = OrgId(Uuid::now_v7());
        let person = PersonId(Uuid::now_v7());
        let expired = config().mint_member(org, person, Duration::seconds(-5));
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

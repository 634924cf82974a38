//! Sign-in with an identity provider's tokens, end to end: the real server on port 0 fetches the
//! provider's JWKS from a server this test runs on loopback, an `ORG_ADMIN` links the provider's
//! subject to a person, and RS256, ES256 and `EdDSA` tokens then act as that person over HTTP and
//! WebSocket. Key rotation: a token signed with a key the cached set does not hold makes the
//! server fetch the set again.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use podledger_api::AuthConfig;
use podledger_api::auth::IdentityProvider;
use podledger_domain::ids::PersonId;
use podledger_server::identity::UrlKeys;
use podledger_server::{ServerConfig, demo, start};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const ISSUER: &str = "https://id.northwind.test/";
const AUDIENCE: &str = "podledger-idp";

fn der(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/fixtures/idp/{name}.der",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A signing key of the imaginary provider, with its id and algorithm.
struct Key {
    kid: &'static str,
    alg: Algorithm,
    secret: EncodingKey,
}

impl Key {
    fn new(kid: &'static str, file: &str, alg: Algorithm) -> Self {
        let der = der(file);
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&der),
            Algorithm::ES256 => EncodingKey::from_ec_der(&der),
            Algorithm::EdDSA => EncodingKey::from_ed_der(&der),
            other => panic!("{other:?}"),
        };
        Self {
            kid,
            alg,
            secret: key,
        }
    }

    /// The public half as a JWK.
    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk::from_encoding_key(&self.secret, self.alg).unwrap();
        jwk.common.key_id = Some(self.kid.into());
        jwk
    }

    /// A token for `subject` of the demo organisation, signed with this key under `kid`.
    fn token_as(&self, kid: &str, subject: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "exp": now + 600, "iat": now,
            "nbf": now, "org": demo::org_id().as_uuid().to_string(),
        });
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &claims, &self.secret).unwrap()
    }

    fn token(&self, subject: &str) -> String {
        self.token_as(self.kid, subject)
    }
}

/// The provider's JWKS endpoint: serves whatever set it holds, and counts the fetches.
struct JwksServer {
    url: String,
    set: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: &[&Key]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let set = Arc::new(Mutex::new(String::new()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let server = Self { url, set, fetches };
        server.publish(keys, &[]);
        let (set, fetches) = (server.set.clone(), server.fetches.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let body = set.lock().unwrap().clone();
                fetches.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        server
    }

    /// Serves these keys (and any extra raw JWKs) from now on.
    fn publish(&self, keys: &[&Key], extra: &[Value]) {
        let mut set = serde_json::to_value(JwkSet {
            keys: keys.iter().map(|k| k.jwk()).collect(),
        })
        .unwrap();
        for jwk in extra {
            set["keys"].as_array_mut().unwrap().push(jwk.clone());
        }
        *self.set.lock().unwrap() = set.to_string();
    }
}

struct TestApp {
    _dir: tempfile::TempDir,
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    auth: AuthConfig,
}

async fn spawn_app(jwks: &JwksServer) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("podledger.db");
    let mut provider =
        IdentityProvider::new(ISSUER, AUDIENCE, Arc::new(UrlKeys::new(&jwks.url).unwrap()));
    provider.refresh_interval = Duration::ZERO;
    let auth = AuthConfig::new(
        b"idp-secret-idp-secret-idp-secret".to_vec(),
        "podledger",
        "podledger",
    )
    .with_provider(provider);
    let running = start(ServerConfig {
        demo: true,
        workers: 2,
        ..ServerConfig::new(format!("sqlite://{}", db.display()), auth.clone())
    })
    .await
    .unwrap();
    let addr = running.addr;
    std::mem::forget(running);
    TestApp {
        _dir: dir,
        addr,
        client: reqwest::Client::new(),
        auth,
    }
}

fn admin() -> PersonId {
    demo::key_people()[0].2
}

fn po() -> PersonId {
    demo::key_people()[2].2
}

impl TestApp {
    async fn post(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("http://{}/graphql", self.addr))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn as_admin(&self, query: &str, variables: Value) -> Value {
        let token = self
            .auth
            .mint_member(demo::org_id(), admin(), chrono::Duration::minutes(5));
        let (status, body) = self.post(&token, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["errors"].is_null(), "{body}");
        body["data"].clone()
    }

    /// The acquisition pod's audit log as the token's bearer: only its PO and SM (and
    /// oversight) may read it, so a 200 with entries says the token acts as the PO.
    async fn audit(&self, token: &str) -> (u16, Value) {
        let pods = self
            .as_admin(
                "{ organisation { pods(first: 5) { nodes { id name } } } }",
                json!({}),
            )
            .await;
        let pod = pods["organisation"]["pods"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "Acquisition")
            .unwrap()["id"]
            .clone();
        self.post(
            token,
            "query($pod: ID) { auditLog(podId: $pod, first: 1) { nodes { position } } }",
            json!({ "pod": pod }),
        )
        .await
    }
}

const LINK: &str = "mutation($p: ID!, $i: String!, $s: String!) { linkIdentity(personId: $p, issuer: $i, subject: $s) { position person { name } } }";

fn keys() -> [Key; 4] {
    [
        Key::new("rsa-1", "rsa-1", Algorithm::RS256),
        Key::new("rsa-2", "rsa-2", Algorithm::RS256),
        Key::new("ec-1", "ec", Algorithm::ES256),
        Key::new("ed-1", "ed", Algorithm::EdDSA),
    ]
}

fn person_id(person: PersonId) -> String {
    podledger_api::ids::to_id("Person", person.as_uuid()).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_tokens_sign_in_as_the_linked_person_and_forgeries_do_not() {
    let [rsa1, rsa2, ec, ed] = keys();
    let jwks = JwksServer::start(&[&rsa1, &ec, &ed]).await;
    let app = spawn_app(&jwks).await;

    // Before an admin links the subject, a valid token signs in as nobody.
    let (status, body) = app.audit(&rsa1.token("auth0|paula")).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("linkIdentity"),
        "{body}"
    );

    let link = "mutation($p: ID!, $i: String!, $s: String!) { linkIdentity(personId: $p, issuer: $i, subject: $s) { position person { name } } }";
    let linked = app
        .as_admin(
            link,
            json!({ "p": person_id(po()), "i": ISSUER, "s": "auth0|paula" }),
        )
        .await;
    assert_eq!(linked["linkIdentity"]["person"]["name"], "Paula Price");

    // Every algorithm of the provider acts as the PO.
    for key in [&rsa1, &ec, &ed] {
        let (status, body) = app.audit(&key.token("auth0|paula")).await;
        assert_eq!(status, 200, "{:?}: {body}", key.alg);
        assert!(body["errors"].is_null(), "{:?}: {body}", key.alg);
        assert_eq!(
            body["data"]["auditLog"]["nodes"].as_array().unwrap().len(),
            1
        );
    }
    // Another person's subject is refused the PO's audit log: the subject decides who acts.
    let designer = demo::key_people()[4].2;
    app.as_admin(
        link,
        json!({ "p": person_id(designer), "i": ISSUER, "s": "auth0|dana" }),
    )
    .await;
    let (_, body) = app.audit(&rsa1.token("auth0|dana")).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    // Forgeries: another key under a known kid, an unknown kid, HS256 signed with anything but
    // the server's secret, a symmetric key published in the set.
    let (status, _) = app.audit(&rsa2.token_as("rsa-1", "auth0|paula")).await;
    assert_eq!(status, 401);
    let (status, _) = app.audit(&rsa2.token("auth0|paula")).await;
    assert_eq!(status, 401, "rsa-2 is not published yet");
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "auth0|paula", "exp": chrono::Utc::now().timestamp() + 60,
                "org": demo::org_id().as_uuid().to_string()}),
        &EncodingKey::from_secret(&der("rsa-1")),
    )
    .unwrap();
    let (status, _) = app.audit(&hs).await;
    assert_eq!(status, 401);
    jwks.publish(
        &[&rsa1, &ec, &ed],
        &[json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"})],
    );
    let sym = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("sym".into());
        jsonwebtoken::encode(
            &header,
            &json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "auth0|paula", "exp": chrono::Utc::now().timestamp() + 60,
                    "org": demo::org_id().as_uuid().to_string()}),
            &EncodingKey::from_secret(b"secret-secret-secret-secret"),
        )
        .unwrap()
    };
    let (status, _) = app.audit(&sym).await;
    assert_eq!(status, 401, "a symmetric key in the set is never used");
    // Only an ORG_ADMIN links identities.
    let po_token = app
        .auth
        .mint_member(demo::org_id(), po(), chrono::Duration::minutes(5));
    let (_, body) = app
        .post(
            &po_token,
            LINK,
            json!({ "p": person_id(po()), "i": ISSUER, "s": "auth0|me" }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_fetched_a_retired_one_refused_and_an_unlinked_identity_signs_in_as_nobody()
 {
    let [rsa1, rsa2, ec, ed] = keys();
    let jwks = JwksServer::start(&[&rsa1, &ec, &ed]).await;
    let app = spawn_app(&jwks).await;
    app.as_admin(
        LINK,
        json!({ "p": person_id(po()), "i": ISSUER, "s": "auth0|paula" }),
    )
    .await;
    let (status, _) = app.audit(&rsa1.token("auth0|paula")).await;
    assert_eq!(status, 200);

    // Rotation: the provider publishes rsa-2 and retires rsa-1; the first rsa-2 token makes the
    // server fetch the set again, after which rsa-1 no longer verifies.
    let before = jwks.fetches.load(Ordering::SeqCst);
    jwks.publish(&[&rsa2, &ec, &ed], &[]);
    let (status, body) = app.audit(&rsa2.token("auth0|paula")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        jwks.fetches.load(Ordering::SeqCst) > before,
        "the unknown kid fetched the set"
    );
    let (status, _) = app.audit(&rsa1.token("auth0|paula")).await;
    assert_eq!(status, 401, "a retired key no longer verifies");

    // Over a WebSocket too.
    let mut request = format!("ws://{}/graphql", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    ws.send(Message::text(
        json!({"type": "connection_init", "payload": {"token": ec.token("auth0|paula")}})
            .to_string(),
    ))
    .await
    .unwrap();
    let ack = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        ack.into_text().unwrap().as_str(),
        r#"{"type":"connection_ack"}"#
    );

    // Unlinked again: the identity signs in as nobody.
    let unlinked = app
        .as_admin(
            "mutation($i: String!, $s: String!) { unlinkIdentity(issuer: $i, subject: $s) { person { name } } }",
            json!({ "i": ISSUER, "s": "auth0|paula" }),
        )
        .await;
    assert_eq!(unlinked["unlinkIdentity"]["person"]["name"], "Paula Price");
    let (status, _) = app.audit(&ec.token("auth0|paula")).await;
    assert_eq!(status, 401);
}

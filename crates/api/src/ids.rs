//! Opaque global ids: `base64url("<Kind>:<uuid>")`. Clients treat them as strings; the kind
//! makes a pod's id useless as an item's id.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::error::ApiError;

fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Any text made opaque the way ids are (cursors use it too).
pub fn opaque(text: &str) -> String {
    encode(text.as_bytes())
}

/// The text inside [`opaque`] output, if it is such output.
pub fn unopaque(text: &str) -> Option<String> {
    String::from_utf8(decode(text)?).ok()
}

/// The kind and UUID inside an opaque id (`node(id:)` dispatches on the kind).
pub fn kind_of(id: &ID) -> Option<(String, Uuid)> {
    let text = unopaque(id.as_str())?;
    let (kind, uuid) = text.split_once(':')?;
    Some((kind.to_owned(), uuid.parse().ok()?))
}

/// The opaque id of a `kind` (`Pod`, `Item`, …).
pub fn to_id(kind: &str, uuid: Uuid) -> ID {
    ID(encode(format!("{kind}:{uuid}").as_bytes()))
}

/// The UUID inside an opaque id of `kind`, or a `BAD_USER_INPUT` naming `field`.
pub fn from_id(kind: &str, id: &ID, field: &str) -> Result<Uuid, ApiError> {
    let bad = || ApiError::bad_input(field, format!("not a {kind} id"));
    let text = String::from_utf8(decode(id.as_str()).ok_or_else(bad)?).map_err(|_| bad())?;
    let (k, uuid) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    uuid.parse().map_err(|_| bad())
}

/// The UUID `text` names: a UUID itself, or an opaque id of `kind` — for places outside
/// GraphQL where either is given (token claims, the command line).
pub fn uuid_of(kind: &str, text: &str) -> Option<Uuid> {
    Uuid::parse_str(text)
        .ok()
        .or_else(|| from_id(kind, &ID(text.to_owned()), kind).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let uuid = Uuid::now_v7();
        let id = to_id("Pod", uuid);
        assert!(!id.as_str().contains(&uuid.to_string()));
        assert_eq!(from_id("Pod", &id, "podId").unwrap(), uuid);
        assert!(from_id("Item", &id, "itemId").is_err());
        assert!(from_id("Pod", &ID("%%%".into()), "podId").is_err());
        assert!(from_id("Pod", &ID(uuid.to_string()), "podId").is_err());
    }
}

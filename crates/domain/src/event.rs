//! Events as stored: a stable type name, a schema version, a JSON payload; upcasters read
//! old shapes into the current one so that old events stay readable forever (SPEC §8).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::command::StreamCategory;
use crate::kpi::KpiEvent;
use crate::org::OrgEvent;
use crate::pod::PodEvent;
use crate::tagged::from_tag_and_payload;

/// Any event of the domain: one enum per aggregate.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// Of an organisation.
    Org(OrgEvent),
    /// Of a pod.
    Pod(PodEvent),
    /// Of a KPI.
    Kpi(KpiEvent),
}

/// An event ready for the store.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedEvent {
    /// Stable type name, e.g. `ItemCreated`.
    pub event_type: String,
    /// Schema version of `payload`.
    pub schema_version: u32,
    /// The event's fields (camelCase JSON object).
    pub payload: Value,
}

/// Why a stored event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The stream is not one of the domain's.
    #[error("unknown stream category of {0}")]
    UnknownStream(String),
    /// A version newer than this build knows.
    #[error("{event_type} has schema version {version}, newer than this build ({current})")]
    FutureVersion {
        /// Type.
        event_type: String,
        /// Stored version.
        version: u32,
        /// Newest known.
        current: u32,
    },
    /// The payload does not match the shape of its version.
    #[error("{event_type} v{version}: {source}")]
    Shape {
        /// Type.
        event_type: String,
        /// Version.
        version: u32,
        /// Serde's complaint.
        #[source]
        source: serde_json::Error,
    },
}

/// The current schema version of an event type. Bump it together with an upcaster.
pub fn schema_version(event_type: &str) -> u32 {
    match event_type {
        "ItemCreated" => 2,
        _ => 1,
    }
}

impl Event {
    /// Splits the event into type name, schema version and payload.
    pub fn encode(&self) -> EncodedEvent {
        let tagged = match self {
            Self::Org(e) => to_tagged(e),
            Self::Pod(e) => to_tagged(e),
            Self::Kpi(e) => to_tagged(e),
        };
        let Value::Object(mut map) = tagged else {
            unreachable!("adjacently tagged enums serialise to objects")
        };
        let Some(Value::String(event_type)) = map.remove("type") else {
            unreachable!("adjacently tagged enums carry their tag")
        };
        let payload = map
            .remove("data")
            .unwrap_or_else(|| Value::Object(Map::new()));
        EncodedEvent {
            schema_version: schema_version(&event_type),
            event_type,
            payload,
        }
    }

    /// Reads a stored event from its JSON text: one typed parse when the payload has the
    /// current schema, the upcasting path (via [`Event::decode`]) otherwise.
    pub fn decode_str(
        stream: &str,
        event_type: &str,
        version: u32,
        payload: &str,
    ) -> Result<Self, DecodeError> {
        if version != schema_version(event_type) {
            let value = serde_json::from_str(payload).map_err(|source| DecodeError::Shape {
                event_type: event_type.to_owned(),
                version,
                source,
            })?;
            return Self::decode(stream, event_type, version, value);
        }
        let category = StreamCategory::of(stream)
            .ok_or_else(|| DecodeError::UnknownStream(stream.to_owned()))?;
        let shape = |source| DecodeError::Shape {
            event_type: event_type.to_owned(),
            version,
            source,
        };
        Ok(match category {
            StreamCategory::Org => {
                Self::Org(from_tag_and_payload(event_type, payload).map_err(shape)?)
            }
            StreamCategory::Pod => {
                Self::Pod(from_tag_and_payload(event_type, payload).map_err(shape)?)
            }
            StreamCategory::Kpi => {
                Self::Kpi(from_tag_and_payload(event_type, payload).map_err(shape)?)
            }
        })
    }

    /// Reads a stored event of a stream, upcasting older shapes.
    pub fn decode(
        stream: &str,
        event_type: &str,
        version: u32,
        payload: Value,
    ) -> Result<Self, DecodeError> {
        let category = StreamCategory::of(stream)
            .ok_or_else(|| DecodeError::UnknownStream(stream.to_owned()))?;
        let current = schema_version(event_type);
        if version > current {
            return Err(DecodeError::FutureVersion {
                event_type: event_type.to_owned(),
                version,
                current,
            });
        }
        let payload = upcast(event_type, version, payload);
        let shape = |source| DecodeError::Shape {
            event_type: event_type.to_owned(),
            version,
            source,
        };
        let mut tagged = Map::new();
        tagged.insert("type".into(), Value::String(event_type.to_owned()));
        tagged.insert("data".into(), payload);
        let tagged = Value::Object(tagged);
        Ok(match category {
            StreamCategory::Org => Self::Org(from_tagged(tagged).map_err(shape)?),
            StreamCategory::Pod => Self::Pod(from_tagged(tagged).map_err(shape)?),
            StreamCategory::Kpi => Self::Kpi(from_tagged(tagged).map_err(shape)?),
        })
    }
}

fn to_tagged<T: Serialize>(event: &T) -> Value {
    serde_json::to_value(event).expect("domain events always serialise")
}

fn from_tagged<T: DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    serde_json::from_value(value)
}

/// Brings a payload of `version` up to the current schema of `event_type`, one step at a time.
fn upcast(event_type: &str, mut version: u32, mut payload: Value) -> Value {
    while version < schema_version(event_type) {
        payload = match (event_type, version) {
            ("ItemCreated", 1) => item_created_v1_to_v2(payload),
            _ => payload,
        };
        version += 1;
    }
    payload
}

/// `ItemCreated` v1 called the estimate `points` and had no parent epic or requester.
fn item_created_v1_to_v2(payload: Value) -> Value {
    let Value::Object(mut map) = payload else {
        return payload;
    };
    if let Some(points) = map.remove("points") {
        map.insert("estimate".into(), points);
    }
    map.entry("parentEpic").or_insert(Value::Null);
    map.entry("requester").or_insert(Value::Null);
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::ItemId;
    use crate::testkit::id;

    #[test]
    fn encode_gives_stable_type_name_version_and_camel_case_payload() {
        let item_id = ItemId(id(7));
        let event = Event::Pod(PodEvent::ItemEstimated {
            item_id,
            estimate: 5,
            previous: Some(3),
        });
        let encoded = event.encode();
        assert_eq!(encoded.event_type, "ItemEstimated");
        assert_eq!(encoded.schema_version, 1);
        assert_eq!(
            encoded.payload,
            json!({"itemId": item_id, "estimate": 5, "previous": 3})
        );
        let back = Event::decode("pod-x", &encoded.event_type, 1, encoded.payload).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn given_an_item_created_v1_when_decoded_then_it_reads_as_the_current_shape() {
        let item_id = ItemId(id(9));
        let v1 = json!({
            "itemId": item_id,
            "title": "Spring webinar landing page",
            "description": null,
            "outputCategory": "landing page",
            "acceptanceCriteria": "live on /spring",
            "points": 5
        });
        let event = Event::decode("pod-x", "ItemCreated", 1, v1).unwrap();
        assert_eq!(
            event,
            Event::Pod(PodEvent::ItemCreated {
                item_id,
                title: "Spring webinar landing page".into(),
                description: None,
                output_category: "landing page".into(),
                acceptance_criteria: Some("live on /spring".into()),
                estimate: Some(5),
                parent_epic: None,
                requester: None,
            })
        );
        assert_eq!(event.encode().schema_version, 2);
    }

    #[test]
    fn decoding_from_text_matches_decoding_from_a_value_for_current_and_old_shapes() {
        let item_id = ItemId(id(7));
        let event = Event::Pod(PodEvent::ItemEstimated {
            item_id,
            estimate: 5,
            previous: None,
        });
        let encoded = event.encode();
        let text = encoded.payload.to_string();
        assert_eq!(
            Event::decode_str("pod-x", "ItemEstimated", 1, &text).unwrap(),
            event
        );
        let v1 = r#"{"itemId":"00000000-0000-0000-0000-000000000009","title":"t","description":null,"outputCategory":"ad","acceptanceCriteria":null,"points":3}"#;
        let old = Event::decode_str("pod-x", "ItemCreated", 1, v1).unwrap();
        assert!(matches!(
            old,
            Event::Pod(PodEvent::ItemCreated {
                estimate: Some(3),
                ..
            })
        ));
        assert!(Event::decode_str("pod-x", "ItemEstimated", 1, "{").is_err());
    }

    #[test]
    fn decoding_from_text_refuses_an_unknown_type_trailing_text_and_a_foreign_stream() {
        let text =
            r#"{"itemId":"00000000-0000-0000-0000-000000000009","estimate":5,"previous":null}"#;
        assert!(Event::decode_str("pod-x", "ItemEstimated", 1, text).is_ok());
        for (stream, event_type, payload) in [
            ("pod-x", "ItemVanished", text),
            ("pod-x", "ItemEstimated", &format!("{text} {{}}")),
            ("org-x", "ItemEstimated", text),
            (
                "pod-x",
                "ItemEstimated",
                r#"{"itemId":"nope","estimate":5,"previous":null}"#,
            ),
        ] {
            assert!(
                matches!(
                    Event::decode_str(stream, event_type, 1, payload),
                    Err(DecodeError::Shape { .. })
                ),
                "{stream} {event_type} {payload}"
            );
        }
    }

    #[test]
    fn a_version_newer_than_the_build_is_refused_not_misread() {
        let err = Event::decode("pod-x", "ItemCreated", 3, json!({})).unwrap_err();
        assert!(matches!(err, DecodeError::FutureVersion { version: 3, .. }));
    }

    #[test]
    fn an_unknown_stream_or_shape_is_an_error() {
        assert!(matches!(
            Event::decode("nope", "ItemCreated", 2, json!({})),
            Err(DecodeError::UnknownStream(_))
        ));
        assert!(matches!(
            Event::decode("pod-x", "ItemCreated", 2, json!({"title": 1})),
            Err(DecodeError::Shape { .. })
        ));
    }
}

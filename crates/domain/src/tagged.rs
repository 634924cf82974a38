//! An adjacently tagged enum (`{"type": …, "data": …}`) read from its tag and its payload text
//! apart, as the store keeps them: no `{"type":…,"data":…}` string is built and parsed again.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// Deserialises `T` (an adjacently tagged enum) from its tag and its JSON payload.
pub(crate) fn from_tag_and_payload<T: DeserializeOwned>(
    tag: &str,
    payload: &str,
) -> Result<T, serde_json::Error> {
    T::deserialize(Tagged {
        tag,
        payload,
        next: 0,
    })
}

/// A map of two entries, `type` (the tag) and `data` (the payload, parsed as JSON).
struct Tagged<'a> {
    tag: &'a str,
    payload: &'a str,
    next: u8,
}

impl<'de> de::Deserializer<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de> MapAccess<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let key = match self.next {
            0 => "type",
            1 => "data",
            _ => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        self.next += 1;
        if self.next == 1 {
            return seed.deserialize(self.tag.into_deserializer());
        }
        let mut payload = serde_json::Deserializer::from_str(self.payload);
        let value = seed.deserialize(&mut payload)?;
        payload.end()?;
        Ok(value)
    }
}

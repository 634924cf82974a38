//! Timestamps in stored states and views (`#[serde(with = "crate::stamp")]` and its
//! `option`, `list` and `log` siblings; the projections persist views that hold the domain's
//! states). In a binary format (views persist in postcard) a timestamp is seconds and
//! nanoseconds since the epoch, two integers instead of thirty bytes of text; in a
//! human-readable one (JSON) it is chrono's own RFC 3339 text. Either way it reads back to the
//! nanosecond.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A timestamp that serialises as described in the module docs.
struct Stamp<'a>(&'a DateTime<Utc>);

impl Serialize for Stamp<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            self.0.serialize(serializer)
        } else {
            (self.0.timestamp(), self.0.timestamp_subsec_nanos()).serialize(serializer)
        }
    }
}

/// A timestamp read back from either form.
struct Read(DateTime<Utc>);

impl<'de> Deserialize<'de> for Read {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            return DateTime::deserialize(deserializer).map(Read);
        }
        let (secs, nanos) = <(i64, u32)>::deserialize(deserializer)?;
        DateTime::from_timestamp(secs, nanos)
            .map(Read)
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}

/// A `DateTime<Utc>` field.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    Stamp(at).serialize(serializer)
}

/// A `DateTime<Utc>` field.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    Read::deserialize(deserializer).map(|r| r.0)
}

/// An `Option<DateTime<Utc>>` field.
pub mod option {
    use super::{DateTime, Deserialize, Deserializer, Read, Serialize, Serializer, Stamp, Utc};

    /// Serialises.
    #[allow(clippy::ref_option)] // the signature `#[serde(with)]` calls
    pub fn serialize<S: Serializer>(
        at: &Option<DateTime<Utc>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        at.as_ref().map(Stamp).serialize(serializer)
    }

    /// Deserialises.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<Read>::deserialize(deserializer)?.map(|r| r.0))
    }
}

/// A `Vec<DateTime<Utc>>` field.
pub mod list {
    use super::{DateTime, Deserialize, Deserializer, Read, Serializer, Stamp, Utc};

    /// Serialises.
    pub fn serialize<S: Serializer>(
        at: &[DateTime<Utc>],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(at.iter().map(Stamp))
    }

    /// Deserialises.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<DateTime<Utc>>, D::Error> {
        Ok(Vec::<Read>::deserialize(deserializer)?
            .into_iter()
            .map(|r| r.0)
            .collect())
    }
}

/// A `Vec<(DateTime<Utc>, T)>` field (a log of values over time).
pub mod log {
    use super::{DateTime, Deserialize, Deserializer, Read, Serialize, Serializer, Stamp, Utc};

    /// Serialises.
    pub fn serialize<S: Serializer, T: Serialize>(
        log: &[(DateTime<Utc>, T)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(log.iter().map(|(at, value)| (Stamp(at), value)))
    }

    /// Deserialises.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<(DateTime<Utc>, T)>, D::Error> {
        Ok(Vec::<(Read, T)>::deserialize(deserializer)?
            .into_iter()
            .map(|(r, value)| (r.0, value))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::{Read, Stamp};

    #[test]
    fn stamps_are_the_text_chrono_writes_and_read_back_to_the_nanosecond() {
        let base = Utc.with_ymd_and_hms(2026, 11, 24, 21, 5, 9).unwrap();
        let ancient = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789, 1, 999_999_999] {
            let at = base + chrono::Duration::nanoseconds(nanos);
            let json = serde_json::to_string(&Stamp(&at)).unwrap();
            assert_eq!(json, serde_json::to_string(&at).unwrap());
            let back: DateTime<Utc> = serde_json::from_str(&json).unwrap();
            assert_eq!(back, at);
        }
        let json = serde_json::to_string(&Stamp(&ancient)).unwrap();
        assert_eq!(
            serde_json::from_str::<DateTime<Utc>>(&json).unwrap(),
            ancient
        );
    }

    #[test]
    fn in_postcard_a_stamp_is_seconds_and_nanoseconds() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 21, 5, 9).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let bytes = postcard::to_allocvec(&Stamp(&at)).unwrap();
        assert!(bytes.len() <= 10, "{} bytes", bytes.len());
        assert_eq!(postcard::from_bytes::<Read>(&bytes).unwrap().0, at);
    }
}

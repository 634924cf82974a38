//! Timestamps in views (`#[serde(with = "crate::stamp")]` and its `option`, `list` and `log`
//! siblings). In a binary format (views persist in postcard) a timestamp is seconds and
//! nanoseconds since the epoch, two integers; in a human-readable one (JSON) it is the RFC 3339
//! text chrono writes, written without `fmt` (chrono's `Display` goes digit by digit through
//! `fmt::Write`). Either way it reads back to the nanosecond.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Writes `n` as `N` decimal digits, zero-padded.
fn digits<const N: usize>(out: &mut [u8], mut n: u32) {
    for slot in out[..N].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `at` as `YYYY-MM-DDTHH:MM:SS[.ffffff|.fffffffff]Z` into `buf`; returns the length. Whole
/// microseconds take 6 fraction digits, anything finer 9, none at all when zero — as chrono's
/// `SecondsFormat::AutoSi`, so the text is the same as before. `None` for what this fast path
/// does not cover (years outside 0–9999, leap seconds).
fn write(at: &DateTime<Utc>, buf: &mut [u8; 32]) -> Option<usize> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    digits::<4>(&mut buf[0..], year);
    buf[4] = b'-';
    digits::<2>(&mut buf[5..], at.month());
    buf[7] = b'-';
    digits::<2>(&mut buf[8..], at.day());
    buf[10] = b'T';
    digits::<2>(&mut buf[11..], at.hour());
    buf[13] = b':';
    digits::<2>(&mut buf[14..], at.minute());
    buf[16] = b':';
    digits::<2>(&mut buf[17..], at.second());
    let mut n = 19;
    if nanos != 0 {
        buf[n] = b'.';
        if nanos.is_multiple_of(1_000_000) {
            digits::<3>(&mut buf[n + 1..], nanos / 1_000_000);
            n += 4;
        } else if nanos.is_multiple_of(1_000) {
            digits::<6>(&mut buf[n + 1..], nanos / 1_000);
            n += 7;
        } else {
            digits::<9>(&mut buf[n + 1..], nanos);
            n += 10;
        }
    }
    buf[n] = b'Z';
    Some(n + 1)
}

/// A timestamp that serialises as described in the module docs.
struct Stamp<'a>(&'a DateTime<Utc>);

impl Serialize for Stamp<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return (self.0.timestamp(), self.0.timestamp_subsec_nanos()).serialize(serializer);
        }
        let mut buf = [0u8; 32];
        match write(self.0, &mut buf) {
            Some(n) => serializer.serialize_str(std::str::from_utf8(&buf[..n]).expect("ASCII")),
            None => serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
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
    use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

    use super::{Read, Stamp, write};

    #[test]
    fn stamps_are_the_text_chrono_writes_and_read_back_to_the_nanosecond() {
        let base = Utc.with_ymd_and_hms(2026, 11, 24, 21, 5, 9).unwrap();
        for nanos in [0, 120_000_000, 123_456_000, 123_456_789, 1, 999_999_999] {
            let at = base + chrono::Duration::nanoseconds(nanos);
            let mut buf = [0u8; 32];
            let n = write(&at, &mut buf).unwrap();
            let text = std::str::from_utf8(&buf[..n]).unwrap();
            assert_eq!(text, at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
            let json = serde_json::to_string(&Stamp(&at)).unwrap();
            let back: DateTime<Utc> = serde_json::from_str(&json).unwrap();
            assert_eq!(back, at);
        }
        let ancient = Utc.with_ymd_and_hms(-5, 1, 1, 0, 0, 0).unwrap();
        assert!(write(&ancient, &mut [0u8; 32]).is_none());
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

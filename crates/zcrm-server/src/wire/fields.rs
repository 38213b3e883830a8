//! Value types that fixed-shape bodies share: ids sent as numbers or text,
//! datetimes, and "given" keys whose `null` means something else than absent.

use serde::de::{Deserializer, Error, Visitor};
use serde::Deserialize;
use std::fmt;
use zcrm_core::ids::parse_id_str;

/// A record or setting id, sent as a number or as text of digits (Zoho's
/// SDKs send text; hand-written calls often numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id")
            }
            fn visit_u64<E: Error>(self, n: u64) -> Result<Id, E> {
                i64::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .map(Id)
                    .ok_or_else(|| E::custom("not an id"))
            }
            fn visit_i64<E: Error>(self, n: i64) -> Result<Id, E> {
                (n > 0)
                    .then_some(Id(n))
                    .ok_or_else(|| E::custom("not an id"))
            }
            fn visit_str<E: Error>(self, s: &str) -> Result<Id, E> {
                parse_id_str(s)
                    .map(Id)
                    .ok_or_else(|| E::custom("not an id"))
            }
        }
        d.deserialize_any(V)
    }
}

/// For `Option<Option<T>>` keys: absent stays `None` (with `#[serde(default)]`),
/// `null` becomes `Some(None)`, as PATCH tells "keep" from "clear".
pub fn given<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A datetime key, kept as the text sent (checked where its bounds are
/// known); anything but text or `null` is named a datetime in the error.
pub fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    struct Text;
    impl Visitor<'_> for Text {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a datetime")
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(Text).map(Some)
}

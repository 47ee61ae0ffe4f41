//! The protocol's vocabulary of numbers: one type per kind of id, so a user id cannot be passed
//! where a conversation id is expected, and a sequence number cannot be mistaken for either.
//!
//! Each is its plain integer (or string) on the wire (`serde(transparent)`) and in both
//! databases: `rusqlite` and `postgres` conversions sit behind the features of the same names,
//! so the relay and the engine bind and read them directly and this crate still does no I/O.
//! The inner value stays public, as in `std::num::Wrapping`: an id is a name for a number, and
//! code that must do arithmetic (a page size, a metric) says so with `.0`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares an integer id: derives, `Display`, `FromStr`, `From` the integer, SQL conversions.
macro_rules! int_id {
    ($(#[$meta:meta])* $name:ident($repr:ty)) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub $repr);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                $name(value)
            }
        }

        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::from(sql::to_i64(self.0)?))
            }
        }

        #[cfg(feature = "rusqlite")]
        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let n = value.as_i64()?;
                <$repr>::try_from(n)
                    .map($name)
                    .map_err(|_| rusqlite::types::FromSqlError::OutOfRange(n))
            }
        }

        #[cfg(feature = "postgres")]
        impl postgres_types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &postgres_types::Type,
                out: &mut bytes::BytesMut,
            ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                // A value past i64::MAX (only a `Seq` can be one) binds as i64::MAX: every
                // column is BIGINT, and "at most the largest" is what such a bound means.
                let n = i64::try_from(self.0).unwrap_or(i64::MAX);
                n.to_sql(ty, out)
            }
            fn accepts(ty: &postgres_types::Type) -> bool {
                <i64 as postgres_types::ToSql>::accepts(ty)
            }
            postgres_types::to_sql_checked!();
        }

        #[cfg(feature = "postgres")]
        impl<'a> postgres_types::FromSql<'a> for $name {
            fn from_sql(
                ty: &postgres_types::Type,
                raw: &'a [u8],
            ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
                let n = <i64 as postgres_types::FromSql>::from_sql(ty, raw)?;
                Ok($name(<$repr>::try_from(n)?))
            }
            fn accepts(ty: &postgres_types::Type) -> bool {
                <i64 as postgres_types::FromSql>::accepts(ty)
            }
        }
    };
}

int_id! {
    /// A user's id on one relay.
    UserId(i64)
}
int_id! {
    /// A conversation's id on one relay.
    ConversationId(i64)
}
int_id! {
    /// The relay-assigned id of a stored message (its row; clients address messages by
    /// conversation and [`Seq`]).
    MessageId(i64)
}
int_id! {
    /// A login session (one device).
    SessionId(i64)
}
int_id! {
    /// A position in one conversation's log: 1, 2, 3, … without gaps; 0 is "before the first".
    Seq(u64)
}
int_id! {
    /// A client-chosen request id, echoed in the reply.
    RequestId(u64)
}

impl Seq {
    /// Before the first entry: a cursor that has seen nothing.
    pub const ZERO: Seq = Seq(0);
    /// The largest position either database can hold; "no upper bound" in a page request.
    pub const MAX: Seq = Seq(i64::MAX as u64);

    /// The position after this one.
    pub const fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

/// The sender's own id for one message, unique per sender: it makes a resend after a lost
/// acknowledgement land once. At most [`crate::MAX_CLIENT_ID_LEN`] bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(pub String);

impl ClientId {
    /// The text of the id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for ClientId {
    fn from(value: String) -> Self {
        ClientId(value)
    }
}

impl From<&str> for ClientId {
    fn from(value: &str) -> Self {
        ClientId(value.to_owned())
    }
}

#[cfg(feature = "rusqlite")]
impl rusqlite::types::ToSql for ClientId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

#[cfg(feature = "rusqlite")]
impl rusqlite::types::FromSql for ClientId {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        String::column_result(value).map(ClientId)
    }
}

#[cfg(feature = "postgres")]
impl postgres_types::ToSql for ClientId {
    fn to_sql(
        &self,
        ty: &postgres_types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<postgres_types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.0.to_sql(ty, out)
    }
    fn accepts(ty: &postgres_types::Type) -> bool {
        <String as postgres_types::ToSql>::accepts(ty)
    }
    postgres_types::to_sql_checked!();
}

#[cfg(feature = "postgres")]
impl<'a> postgres_types::FromSql<'a> for ClientId {
    fn from_sql(
        ty: &postgres_types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        <String as postgres_types::FromSql>::from_sql(ty, raw).map(ClientId)
    }
    fn accepts(ty: &postgres_types::Type) -> bool {
        <String as postgres_types::FromSql>::accepts(ty)
    }
}

#[cfg(feature = "rusqlite")]
mod sql {
    /// SQLite integers are i64; a `Seq` past that range is refused rather than wrapped.
    pub(super) fn to_i64<T: TryInto<i64>>(n: T) -> rusqlite::Result<i64> {
        n.try_into()
            .map_err(|_| rusqlite::Error::ToSqlConversionFailure("id out of i64 range".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_numbers_and_strings_on_the_wire() {
        assert_eq!(serde_json::to_string(&UserId(7)).unwrap(), "7");
        assert_eq!(serde_json::from_str::<Seq>("42").unwrap(), Seq(42));
        assert_eq!(
            serde_json::to_string(&ClientId::from("c-1")).unwrap(),
            "\"c-1\""
        );
        assert!(serde_json::from_str::<Seq>("-1").is_err());
    }

    #[test]
    fn seq_steps_and_ids_parse() {
        assert_eq!(Seq::ZERO.next(), Seq(1));
        assert_eq!("12".parse::<ConversationId>().unwrap(), ConversationId(12));
    }
}

//! Statements prepared once per connection. `postgres::Client::query("…")` parses and plans
//! its text every time, in two round trips (prepare, then execute); the relay runs the same
//! few dozen statements over and over, so each connection's thread keeps them prepared and
//! executes by handle, in one round trip with PostgreSQL's cached plan.
//!
//! The store's functions take `&mut impl Sql` where they took `&mut impl GenericClient`; the
//! calls read the same. Each PostgreSQL connection is owned by one thread (the writer or the
//! reader), so the cache is per thread, and [`forget`] empties it when that thread's
//! connection is replaced. Prepared statements outlive transactions, rolled back or not.

use std::cell::RefCell;
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Error, GenericClient, Row, Statement};

/// Distinct statement texts kept per connection (the relay has fewer; anything past this is
/// prepared, used and closed).
const MAX_CACHED: usize = 512;

thread_local! {
    static PREPARED: RefCell<HashMap<String, Statement>> = RefCell::new(HashMap::new());
}

/// Forget this thread's prepared statements (its connection was replaced).
pub fn forget() {
    PREPARED.with(|p| p.borrow_mut().clear());
}

fn prepared(c: &mut impl GenericClient, sql: &str) -> Result<Statement, Error> {
    if let Some(st) = PREPARED.with(|p| p.borrow().get(sql).cloned()) {
        return Ok(st);
    }
    let st = c.prepare(sql)?;
    PREPARED.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < MAX_CACHED {
            p.insert(sql.to_owned(), st.clone());
        }
    });
    Ok(st)
}

/// Statement parameters.
pub type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// What the store's functions run statements with.
pub trait Sql {
    /// Every row.
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error>;
    /// Exactly one row.
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error>;
    /// At most one row.
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error>;
    /// Rows changed.
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error>;
}

impl<C: GenericClient> Sql for C {
    fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>, Error> {
        let st = prepared(self, sql)?;
        GenericClient::query(self, &st, params)
    }
    fn query_one(&mut self, sql: &str, params: Params<'_>) -> Result<Row, Error> {
        let st = prepared(self, sql)?;
        GenericClient::query_one(self, &st, params)
    }
    fn query_opt(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>, Error> {
        let st = prepared(self, sql)?;
        GenericClient::query_opt(self, &st, params)
    }
    fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<u64, Error> {
        let st = prepared(self, sql)?;
        GenericClient::execute(self, &st, params)
    }
}

//! The user's profile (display name) and finding people to chat with. Both need the relay;
//! offline they fail with [`Error::Offline`]. A new display name comes back to every device
//! and member as a changed conversation, so nothing is written to the cache here.

use tern_proto::{ClientFrame, FindPeople, Person, ServerFrame, SetProfile};

use crate::client::Client;
use crate::error::{Error, Result};

impl Client {
    /// Set the name others see instead of the username; `None` or blank clears it.
    pub async fn set_display_name(&self, name: Option<&str>) -> Result<()> {
        let display_name = name.map(str::to_owned);
        match self
            .request(move |id| ClientFrame::SetProfile(SetProfile { id, display_name }))
            .await?
        {
            ServerFrame::Ok { .. } => Ok(()),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }

    /// People matching `query`: contacts by username prefix or display name, anyone else by
    /// exact username.
    pub async fn find_people(&self, query: &str) -> Result<Vec<Person>> {
        let query = query.trim().to_owned();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        match self
            .request(move |id| ClientFrame::FindPeople(FindPeople { id, query }))
            .await?
        {
            ServerFrame::People { people, .. } => Ok(people),
            other => Err(Error::Internal(format!("unexpected reply {other:?}"))),
        }
    }
}

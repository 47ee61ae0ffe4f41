//! The names of the events the shell emits to the UI, defined once. `ui/js/api.js` mirrors them;
//! the payloads are documented where they are emitted ([`crate::events`], [`crate::tray`]).

/// Every engine event, serialized as is (and shell-originated notes such as settings changes).
pub const EVENT: &str = "tern://event";
/// The UI missed events and must reload its view from the cache.
pub const RESYNC: &str = "tern://resync";

//! When WebKit's JavaScript engine compiles the page's code to machine code, chosen before
//! anything starts (Linux).
//!
//! JavaScriptCore interprets a function first and compiles it once it has run enough (its
//! execution counter passes `thresholdForJITAfterWarmUp`, 500 by default). A chat's page runs
//! most of its code once, while it starts: with the default, enough of that start-up code
//! crossed the threshold that the web process held its machine code for good, about 6.5 MiB of
//! an idle window's memory (docs/benchmarks.md, "JavaScript compiled later"). At 20,000 the
//! start-up code stays interpreted, while what really runs hot (drawing rows as a long chat
//! scrolls, thousands of calls a second) is still compiled within a fraction of a second;
//! opening and scrolling through a chat of 10,000 messages measured no slower.
//!
//! JavaScriptCore reads its options from `JSC_<name>` variables in the web process, which
//! inherits the app's environment. A variable the user set keeps the user's value.

/// Each option with its value.
pub const COMPILE_LATER: [(&str, &str); 2] = [
    // Counted executions before the first (baseline) compilation of a function.
    ("JSC_thresholdForJITAfterWarmUp", "20000"),
    // The same for a function marked to compile soon (one that has been compiled before).
    ("JSC_thresholdForJITSoon", "2000"),
];

/// What to set: each of [`COMPILE_LATER`] the user has not set; nothing off Linux, where the
/// web view is not WebKitGTK.
pub fn plan(user_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    if !cfg!(target_os = "linux") {
        return Vec::new();
    }
    COMPILE_LATER
        .into_iter()
        .filter(|(name, _)| !user_set(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn both_thresholds_are_raised_unless_the_user_set_one() {
        assert_eq!(plan(|_| false), COMPILE_LATER.to_vec());
        let names: Vec<_> = plan(|name| name == "JSC_thresholdForJITSoon")
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["JSC_thresholdForJITAfterWarmUp"]);
    }
}

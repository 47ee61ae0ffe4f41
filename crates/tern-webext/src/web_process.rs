//! Inside a WebKitGTK web process: the entry point WebKit calls, the timer it starts, and the
//! trim itself.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::time::Instant;

use crate::policy::TrimPolicy;

/// The environment variable that makes the extension write each trim to standard error.
pub const LOG_VAR: &str = "TERN_WEBEXT_LOG";

/// Called by WebKit once, when it loads the extension into a new web process.
#[no_mangle]
pub extern "C" fn webkit_web_extension_initialize(_extension: *mut c_void) {
    start();
}

/// The timer's state, owned by the GLib source (freed with it).
struct Trimmer {
    policy: TrimPolicy,
    log: bool,
}

/// Start checking every [`TrimPolicy::CHECK_SECS`] on the default main context, at low
/// priority (after painting and input). Returns the GLib source id.
pub fn start() -> u32 {
    let state = Box::new(Trimmer {
        policy: TrimPolicy::new(TrimPolicy::DEFAULT_STEP, anonymous_resident().unwrap_or(0)),
        log: std::env::var_os(LOG_VAR).is_some(),
    });
    // SAFETY: `state` is handed to the source, which passes it back to `tick` on the thread
    // that runs the default main context and to `drop_state` once, when the source goes.
    unsafe {
        glib_sys::g_timeout_add_seconds_full(
            glib_sys::G_PRIORITY_LOW,
            TrimPolicy::CHECK_SECS,
            Some(tick),
            Box::into_raw(state).cast(),
            Some(drop_state),
        )
    }
}

unsafe extern "C" fn tick(data: glib_sys::gpointer) -> glib_sys::gboolean {
    // SAFETY: `data` is the `Trimmer` that `start` leaked, used only on this thread.
    let t = unsafe { &mut *data.cast::<Trimmer>() };
    let started = Instant::now();
    if let Some((before, after)) = check(&mut t.policy) {
        if t.log {
            eprintln!(
                "tern-webext: trimmed the heap: {} -> {} MiB anonymous resident in {:.1} ms",
                before >> 20,
                after >> 20,
                started.elapsed().as_secs_f64() * 1e3
            );
        }
    }
    glib_sys::GTRUE
}

unsafe extern "C" fn drop_state(data: glib_sys::gpointer) {
    // SAFETY: called once by GLib with the pointer `start` leaked.
    drop(unsafe { Box::from_raw(data.cast::<Trimmer>()) });
}

/// One check: when the policy says so, trim, and return the anonymous resident bytes before
/// and after.
pub fn check(policy: &mut TrimPolicy) -> Option<(u64, u64)> {
    let before = anonymous_resident()?;
    if !policy.check(before) {
        return None;
    }
    trim();
    let after = anonymous_resident().unwrap_or(before);
    policy.trimmed(after);
    Some((before, after))
}

/// Hand the free pages of every glibc arena back to the system (`malloc_trim(0)`: whole free
/// pages inside the heap too, not just its top).
pub fn trim() {
    // SAFETY: malloc_trim takes the arenas' locks itself; it only releases free memory.
    unsafe { libc::malloc_trim(0) };
}

/// The process's resident memory that is not backed by files (heap and anonymous mappings),
/// from `/proc/self/statm`, in bytes.
pub fn anonymous_resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut fields = statm.split_whitespace().skip(1);
    let resident: u64 = fields.next()?.parse().ok()?;
    let shared: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(resident.saturating_sub(shared) * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    /// The situation the extension exists for, with glibc's real allocator: every other block
    /// of 96 MiB freed, so the holes between live blocks stay resident (only the top of a heap
    /// goes back by itself), and the first check after the growth has settled gives their pages
    /// back.
    #[test]
    fn freed_holes_between_live_blocks_go_back_once_the_growth_settles() {
        const BLOCK: usize = 64 << 10;
        let start = anonymous_resident().unwrap();
        let mut policy = TrimPolicy::new(TrimPolicy::DEFAULT_STEP, start);
        // SAFETY: plain malloc/free of blocks this test owns; each is written within its size.
        let blocks: Vec<*mut u8> = unsafe {
            (0..(96 << 20) / BLOCK)
                .map(|_| {
                    let b = libc::malloc(BLOCK).cast::<u8>();
                    assert!(!b.is_null());
                    std::ptr::write_bytes(b, 1, BLOCK);
                    b
                })
                .collect()
        };
        let (freed, live): (Vec<_>, Vec<_>) = blocks
            .into_iter()
            .enumerate()
            .partition(|(i, _)| i % 2 == 0);
        for (_, b) in freed {
            // SAFETY: allocated above, freed once.
            unsafe { libc::free(b.cast()) };
        }
        let held = anonymous_resident().unwrap();
        assert!(
            held >= start + 80 * MIB,
            "glibc keeps the freed holes resident: {} -> {} MiB",
            start >> 20,
            held >> 20
        );
        assert_eq!(
            check(&mut policy),
            None,
            "it has just moved: wait for it to settle"
        );
        let (before, after) = check(&mut policy).expect("moved by a step and settled: a trim");
        assert!(
            after + 32 * MIB <= before,
            "the trim gave the holes' pages back: {} -> {} MiB",
            before >> 20,
            after >> 20
        );
        for (_, b) in live {
            // SAFETY: allocated above, freed once.
            unsafe { libc::free(b.cast()) };
        }
    }
}

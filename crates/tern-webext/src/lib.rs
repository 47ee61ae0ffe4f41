//! Tern's WebKitGTK web-process extension: gives the web process's freed heap back to the
//! system.
//!
//! WebKitGTK paints with cairo, pixman, HarfBuzz and GLib, which allocate with glibc's
//! `malloc`. Scrolling through a long chat churns hundreds of megabytes through that heap; when
//! it is freed, glibc keeps the pages (it returns only the top of the heap, and a live chunk
//! above the freed ones pins them). Measured under Xvfb (docs/benchmarks.md), the web process
//! held 602 MiB after scrolling through 10,000 messages, 337 MiB of it in the C heap, and
//! 269 MiB once `malloc_trim(0)` had handed the free pages back. WebKit does the same trim
//! itself, but only under memory pressure, whose first threshold is a third of the smaller of
//! the machine's memory and 3 GB, so on most desktops never.
//!
//! The desktop app points WebKit at the folder holding this library
//! (`src-tauri/src/webext.rs`); WebKit loads it into each web process and calls
//! `webkit_web_extension_initialize`, which starts a GLib timer on the web process's main loop
//! ([`web_process`]). The timer reads the process's anonymous resident memory and trims when
//! [`policy::TrimPolicy`] says so: once a burst of work has moved it by a step and settled, and
//! a few times over the following minute as the rest of what the burst left is freed. An idle
//! process is never touched.

pub mod policy;

#[cfg(target_os = "linux")]
pub mod web_process;

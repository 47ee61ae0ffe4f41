//! Tern desktop entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First, while the process has one thread: it may set environment variables.
    tern_desktop::web_env::prepare();
    tern_desktop::run();
}

//! Tern desktop entry point.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // First, while the process has one thread: it may set an environment variable.
    tern_desktop::rendering::choose();
    tern_desktop::run();
}

//! Build script: Tauri's code generation, with the config at the workspace root and the
//! capabilities under `src-tauri/`.

fn main() {
    let attrs =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    tauri_build::try_build(attrs).expect("tauri build step failed");
}

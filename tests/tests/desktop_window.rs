//! A long chat in the real desktop app (Xvfb, WebDriver): the message list holds a bounded
//! window of rows however far the user scrolls, back to the first message and down again to
//! the newest, and what it shows is always one gap-free run. Without a GPU render node the web
//! process paints without compositing (src-tauri/src/rendering.rs).

mod common;

use std::time::Duration;

use common::webdriver::{app_env, Driver, Xvfb};
use common::*;

/// The message numbers shown (bodies are `m<n>`), in page order.
async fn shown(app: &Driver) -> Vec<u64> {
    let v = app
        .js("return [...document.querySelectorAll('#messages li.msg .body')].map(b => b.textContent)")
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b.as_str()?.strip_prefix('m')?.parse().ok())
        .collect()
}

fn assert_run(numbers: &[u64], bound: usize) {
    assert!(
        numbers.len() <= bound,
        "{} rows held, bound {bound}",
        numbers.len()
    );
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap in what is shown: {numbers:?}"
    );
}

#[tokio::test]
async fn a_long_chat_keeps_a_bounded_gap_free_window_scrolling_back_and_forth() {
    const N: u64 = 1_300;
    const BOUND: usize = 400;
    let relay = Relay::start();
    let work = tempfile::tempdir().unwrap();
    let (bob, _b) = signup(&relay, "bob").await;
    let xvfb = Xvfb::start();
    let env = app_env(&xvfb, &work.path().join("app"), &relay.url());
    let app = Driver::launch(&bin("tern-desktop"), &env).await;
    app.register("alice").await;

    // On a machine without a GPU render node (this one renders with Mesa's software OpenGL),
    // the web process paints without compositing; with one, it keeps WebKit's default.
    let software = software_rendering();
    let expected = std::env::var("WEBKIT_DISABLE_COMPOSITING_MODE")
        .ok()
        .or(software.then(|| "1".to_owned()));
    assert_eq!(
        app.web_process_env("WEBKIT_DISABLE_COMPOSITING_MODE"),
        expected,
        "compositing off exactly when OpenGL would be software (render node: {})",
        !software
    );
    // The web process compiles page code later than WebKit's default (src-tauri/src/jit.rs):
    // start-up code that runs once stays interpreted, which keeps its machine code out of memory.
    for (name, value) in JIT_VARS {
        let expected = std::env::var(name).unwrap_or_else(|_| value.to_owned());
        assert_eq!(app.web_process_env(name), Some(expected), "{name}");
    }
    // Painting without compositing, the app's own process loads no Mesa: GTK's and WebKit's
    // probes for OpenGL are off (with Mesa's software rasterizer and LLVM it held 26 MiB more).
    // Unless the environment already says otherwise about any of them.
    let chosen_outside = SOFTWARE_RENDERING_VARS
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if software && !chosen_outside {
        let mesa: Vec<String> = app
            .app_process_files()
            .into_iter()
            .filter(|f| {
                ["libLLVM", "/dri/", "gallium", "_mesa", "libglapi"]
                    .iter()
                    .any(|lib| f.contains(lib))
            })
            .collect();
        assert!(mesa.is_empty(), "the app's process maps {mesa:?}");
    }

    // The web process has loaded the app's extension, which hands the memory it frees while
    // scrolling back to the system, from a folder holding it alone (WebKit loads every library
    // in that folder).
    let webext = app
        .web_process_files()
        .into_iter()
        .find(|f| f.ends_with("/libtern_webext.so"))
        .expect("the web process maps libtern_webext.so (cargo build -p tern-webext)");
    let folder = std::path::Path::new(&webext).parent().unwrap();
    let names: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["libtern_webext.so"], "{}", folder.display());

    let conv = bob.start_direct("alice").await.unwrap().conversation_id;
    for i in 1..=N {
        bob.send(conv, &format!("m{i}")).await.unwrap();
    }
    wait_settled(&bob).await;
    app.accept_first_request().await;
    app.wait_until(
        &format!("[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm{N}')"),
        "the newest message",
    )
    .await;

    // Back to the very first message.
    let mut reached = false;
    for _ in 0..400 {
        let numbers = shown(&app).await;
        assert_run(&numbers, BOUND);
        if numbers.first() == Some(&1) {
            reached = true;
            break;
        }
        app.js("const l = document.getElementById('messages'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'));")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reached, "scrolling back reached m1");
    assert!(
        !shown(&app).await.contains(&N),
        "the newest were let go while reading the oldest"
    );

    // And down again to the newest.
    let mut reached = false;
    for _ in 0..400 {
        let numbers = shown(&app).await;
        assert_run(&numbers, BOUND);
        let at_bottom = app
            .js("const l = document.getElementById('messages'); return l.scrollTop + l.clientHeight >= l.scrollHeight - 2")
            .await;
        if numbers.last() == Some(&N) && at_bottom == serde_json::json!(true) {
            reached = true;
            break;
        }
        app.js("const l = document.getElementById('messages'); l.scrollTop = l.scrollHeight; l.dispatchEvent(new Event('scroll'));")
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reached, "scrolling down reached m{N}");

    // A new message at the bottom joins the run.
    bob.send(conv, &format!("m{}", N + 1)).await.unwrap();

    app.wait_until(
        &format!("[...document.querySelectorAll('#messages .msg .body')].some(e => e.textContent === 'm{}')", N + 1),
        "the message sent after",
    )
    .await;
    assert_run(&shown(&app).await, BOUND);
    app.quit().await;
}

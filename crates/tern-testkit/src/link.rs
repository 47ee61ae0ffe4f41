//! A TCP link a test can cut: a loopback forwarder in front of one address (a database, a
//! bus), so one process can lose its way to a service that stays up for everyone else — the
//! network fault a shared server cannot stage by stopping. While cut, every open connection is
//! closed (shut down both ways: the peers see the connection end) and new ones are closed as
//! soon as they are accepted. Plain threads: the harness needs no runtime. Dropping the link
//! closes everything it forwards and stops it.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A forwarder from a free loopback port to `target`; it forwards until [`Link::cut`].
#[derive(Debug)]
pub struct Link {
    port: u16,
    shared: Arc<Shared>,
    accepting: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Cut (`true`) and both ends of every forwarded connection, under one lock: a connection
    /// is either registered before a cut (and closed by it) or refused after it.
    state: Mutex<(bool, Vec<TcpStream>)>,
    /// The link was dropped: the accept loop ends.
    stopped: AtomicBool,
}

impl Link {
    /// Start forwarding to `target`.
    pub fn start(target: SocketAddr) -> io::Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let inner = shared.clone();
        let accepting = std::thread::Builder::new()
            .name("test-link".into())
            .spawn(move || accept_loop(&listener, target, &inner))?;
        Ok(Link {
            port,
            shared,
            accepting: Some(accepting),
        })
    }

    /// The loopback port to connect to instead of the target's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Close every forwarded connection and refuse new ones until [`Link::restore`].
    pub fn cut(&self) {
        let mut state = self.shared.state.lock().unwrap();
        state.0 = true;
        for s in state.1.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Forward new connections again.
    pub fn restore(&self) {
        self.shared.state.lock().unwrap().0 = false;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.cut();
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.accepting.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, target: SocketAddr, shared: &Arc<Shared>) {
    while !shared.stopped.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of descriptors, say: try again shortly rather than spin.
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if shared.stopped.load(Ordering::SeqCst) || shared.state.lock().unwrap().0 {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        }
        let Ok(server) = TcpStream::connect(target) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        forward(shared, client, server);
    }
}

/// Copy both ways between `client` and `server` until either side closes; a cut that came
/// while the connection was being made closes it at once.
fn forward(shared: &Arc<Shared>, client: TcpStream, server: TcpStream) {
    let pairs = [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ];
    {
        let mut state = shared.state.lock().unwrap();
        if state.0 {
            let _ = client.shutdown(Shutdown::Both);
            let _ = server.shutdown(Shutdown::Both);
            return;
        }
        // Forget connections that already ended (they would only pile up).
        state.1.retain(|s| s.peer_addr().is_ok());
        state.1.push(client);
        state.1.push(server);
    }
    for pair in pairs {
        if let (Ok(mut from), Ok(mut to)) = pair {
            std::thread::spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
    }
}

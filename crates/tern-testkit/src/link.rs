//! A TCP link a test can cut: a loopback forwarder in front of one address (a database, a
//! bus), so one process can lose its way to a service that stays up for everyone else — the
//! network fault a shared server cannot stage by stopping. While cut, every open connection is
//! closed and new ones are closed as soon as they are accepted (the connecting side sees the
//! peer hang up at once, as after a reset). Plain threads: the harness needs no runtime.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A forwarder from a free loopback port to `target`; it forwards until [`Link::cut`].
#[derive(Debug)]
pub struct Link {
    port: u16,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    cut: AtomicBool,
    /// Both ends of every forwarded connection, to close them at a cut.
    open: Mutex<Vec<TcpStream>>,
}

impl Link {
    /// Start forwarding to `target`.
    pub fn start(target: SocketAddr) -> io::Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        std::thread::Builder::new()
            .name("test-link".into())
            .spawn(move || {
                for client in listener.incoming().flatten() {
                    if accepting.cut.load(Ordering::SeqCst) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(target) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    forward(&accepting, client, server);
                }
            })?;
        Ok(Link { port, shared })
    }

    /// The loopback port to connect to instead of the target's.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Close every forwarded connection and refuse new ones until [`Link::restore`].
    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
        for s in self.shared.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Forward new connections again.
    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }
}

/// Copy both ways between `client` and `server` until either side closes.
fn forward(shared: &Arc<Shared>, client: TcpStream, server: TcpStream) {
    let pairs = [
        (client.try_clone(), server.try_clone()),
        (server.try_clone(), client.try_clone()),
    ];
    {
        let mut open = shared.open.lock().unwrap();
        // Forget connections that already ended (their shutdown is harmless but they pile up).
        open.retain(|s| s.peer_addr().is_ok());
        open.push(client);
        open.push(server);
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

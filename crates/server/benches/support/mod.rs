//! What the server benches share: CPU time of the server process and of the load generator,
//! from `/proc` — on 2 shared cores whether a run saturated the machine, and where its time
//! went (user or kernel), shows here.

use std::time::Instant;

pub mod load;

/// User and kernel CPU of a process, in clock ticks (10 ms).
#[derive(Clone, Copy, Debug, Default)]
pub struct Ticks {
    pub user: u64,
    pub kernel: u64,
}

impl Ticks {
    pub fn of(pid: &str) -> Self {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                // Fields after the command name (which may hold spaces): utime is the 14th.
                let rest = stat.rsplit_once(')')?.1;
                let fields: Vec<&str> = rest.split_whitespace().collect();
                Some(Self {
                    user: fields.get(11)?.parse().ok()?,
                    kernel: fields.get(12)?.parse().ok()?,
                })
            })
            .unwrap_or_default()
    }

    pub fn total(self) -> u64 {
        self.user + self.kernel
    }

    fn since(self, earlier: Self) -> Self {
        Self {
            user: self.user.saturating_sub(earlier.user),
            kernel: self.kernel.saturating_sub(earlier.kernel),
        }
    }
}

/// CPU time of the server process and of this one (the load generator) since `start`.
pub struct Cpu {
    server: u32,
    at: Instant,
    ticks: (Ticks, Ticks),
}

impl Cpu {
    pub fn start(server: u32) -> Self {
        Self {
            server,
            at: Instant::now(),
            ticks: (Ticks::of(&server.to_string()), Ticks::of("self")),
        }
    }

    /// Server and load generator CPU used since the start.
    pub fn used(&self) -> (Ticks, Ticks) {
        (
            Ticks::of(&self.server.to_string()).since(self.ticks.0),
            Ticks::of("self").since(self.ticks.1),
        )
    }

    /// "server N % + load generator M % CPU" (100 % = one core; clock ticks of 10 ms).
    #[allow(dead_code)] // used by one bench of two
    pub fn report(&self) -> String {
        let secs = self.at.elapsed().as_secs_f64();
        let pct = |t: u64| t as f64 / secs; // 100 ticks per second = one core = 100 %
        let (server, generator) = self.used();
        format!(
            "server {:.0} % + load generator {:.0} % CPU",
            pct(server.total()),
            pct(generator.total())
        )
    }
}

/// The demo organisation served in this process on a fresh SQLite file `db`, tokens checked
/// with `auth`, with the per-caller share of running requests lifted (a bench's clients share
/// one PO's token, as integrations would); every other limit as served.
#[allow(dead_code)] // used by the benches that run the server in process
pub async fn demo_server(
    db: &std::path::Path,
    auth: &podledger_api::AuthConfig,
) -> podledger_server::Running {
    podledger_server::start(podledger_server::ServerConfig {
        demo: true,
        policy: podledger_api::Policy {
            max_concurrent_per_caller: usize::MAX,
            ..podledger_api::Policy::default()
        },
        ..podledger_server::ServerConfig::new(format!("sqlite://{}", db.display()), auth.clone())
    })
    .await
    .unwrap()
}

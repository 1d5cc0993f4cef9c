//! The argon2 bound: how many verifications per second this machine's cores can do at the
//! configured parameters, measured with one plain thread per core (no pool, no runtime), as the
//! ceiling the PIN path is compared with.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, Version};
use sip2auth::config::security::HashingConfig;

/// Hashes per second over `threads` threads for `seconds`, at the default parameters.
pub(crate) fn measure(threads: usize, run_for: Duration) -> Result<f64, argon2::Error> {
    let config = HashingConfig::default();
    let params = Params::new(
        config.memory_kib,
        config.iterations,
        config.parallelism,
        Some(32),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, done, params) = (stop.clone(), done.clone(), params.clone());
            std::thread::spawn(move || {
                let pepper = [7u8; 32];
                let argon =
                    Argon2::new_with_secret(&pepper, Algorithm::Argon2id, Version::V0x13, params)?;
                let mut out = [0u8; 32];
                while !stop.load(Ordering::Relaxed) {
                    argon.hash_password_into(b"4931", b"load-bound-salt!", &mut out)?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<(), argon2::Error>(())
            })
        })
        .collect();
    std::thread::sleep(run_for);
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.join().unwrap_or(Ok(()))?;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

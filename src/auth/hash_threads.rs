//! The hashing pool's threads: a fixed set of OS threads, one per slot, that run every argon2
//! job of the process. `spawn_blocking` would run each job on whichever blocking thread is
//! free; each of those threads keeps the allocator's memory of its last 19 MiB working set, so
//! a flood of PIN checks leaves hundreds of MiB resident. A fixed set bounds that memory to one
//! working set per slot, and the threads are the same ones from the first job to the last.
//!
//! Owns the threads and the job queue; the slot accounting stays in `pool.rs`. Uses nothing
//! else in the crate.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

type Task = Box<dyn FnOnce() + Send + 'static>;

/// The threads and their queue. Dropping the last handle ends them after their current job.
#[derive(Debug)]
pub(super) struct HashThreads {
    queue: mpsc::Sender<Task>,
}

impl HashThreads {
    /// Starts `count` threads (at least one).
    pub(super) fn start(count: usize) -> Arc<HashThreads> {
        let (sender, receiver) = mpsc::channel::<Task>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..count.max(1) {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sip2auth-hash-{index}"))
                .spawn(move || work(&receiver));
            if let Err(error) = spawned {
                // Fewer threads than slots still run every job (jobs wait in the queue).
                tracing::warn!(%error, "could not start a hashing thread");
            }
        }
        Arc::new(HashThreads { queue: sender })
    }

    /// Runs `job` on one of the threads and waits for its result. A panic in the job is carried
    /// to the caller's task, as `spawn_blocking` would.
    pub(super) async fn run<T, F>(&self, job: F) -> T
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        let task: Task = Box::new(move || {
            let outcome = panic::catch_unwind(AssertUnwindSafe(job));
            let _ = done.send(outcome);
        });
        if let Err(mpsc::SendError(task)) = self.queue.send(task) {
            // Every thread failed to start or has ended: run the job where a blocking job may.
            let _ = tokio::task::spawn_blocking(task).await;
        }
        match result.await {
            Ok(Ok(value)) => value,
            Ok(Err(payload)) => panic::resume_unwind(payload),
            // Invariant: a queued job is run (its panics caught) before its thread takes another,
            // and the threads end only once the queue is dropped, with this handle.
            Err(_) => unreachable!("a hashing job was dropped unrun"),
        }
    }
}

/// One thread's loop: the next job, until the queue is closed.
fn work(receiver: &Mutex<mpsc::Receiver<Task>>) {
    loop {
        let next = match receiver.lock() {
            Ok(receiver) => receiver.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match next {
            Ok(task) => task(),
            Err(mpsc::RecvError) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_named_threads_only() {
        let threads = HashThreads::start(2);
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let name = threads
                .run(|| std::thread::current().name().map(str::to_owned))
                .await;
            names.insert(name.unwrap_or_default());
        }
        assert!(names.len() <= 2, "{names:?}");
        assert!(names.iter().all(|n| n.starts_with("sip2auth-hash-")));
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panicking_job_panics_in_the_caller() {
        let threads = HashThreads::start(1);
        threads.run(|| panic!("boom")).await
    }
}

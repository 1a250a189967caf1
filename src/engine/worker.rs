//! The machinery every background job shares: a named thread per job, events through one
//! channel drained once per frame, a cancel flag per job, progress, and panics turned into
//! `Failed`. A job kind is a type implementing [`Job`] (its own module under `engine/jobs/`);
//! its typed output travels as a [`Payload`] that the submitter takes back with
//! [`Payload::take`], so the worker never needs to know the kinds.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use super::EngineError;

pub type JobId = u64;

/// Called after every event (the UI asks for a repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// One kind of background work.
pub trait Job: Send + 'static {
    /// What the job hands back when it finishes.
    type Output: Send + 'static;
    /// The job in a few words, for the job list ("open vectors.txt").
    fn label(&self) -> String;
    /// Does the work on the job's own thread, reporting through `ctx`.
    fn run(&self, ctx: &JobContext) -> Result<Self::Output, EngineError>;
    /// The memory the job needs at its peak (`analysis::memory`), checked by
    /// [`Worker::submit`] against the memory available before the job starts; `None` for
    /// small jobs.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        None
    }
}

/// A value of some job's own type (an output, or a partial result such as a layout preview).
pub struct Payload(Box<dyn Any + Send>);

impl Payload {
    pub fn new<T: Send + 'static>(value: T) -> Payload {
        Payload(Box::new(value))
    }

    /// The value, if it is a `T`; the payload back otherwise.
    pub fn take<T: 'static>(self) -> Result<T, Payload> {
        match self.0.downcast::<T>() {
            Ok(v) => Ok(*v),
            Err(b) => Err(Payload(b)),
        }
    }

    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.0.downcast_ref::<T>()
    }
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Payload(..)")
    }
}

#[derive(Debug)]
pub enum JobEvent {
    Progress {
        id: JobId,
        /// 0..1 when known.
        fraction: Option<f32>,
        text: String,
    },
    /// Something a job has before it ends (a t-SNE frame, the backend it runs on, a
    /// comparison's maps); its type says what it is.
    Partial {
        id: JobId,
        value: Payload,
    },
    Done {
        id: JobId,
        output: Payload,
    },
    Failed {
        id: JobId,
        error: String,
    },
    Cancelled {
        id: JobId,
    },
}

impl JobEvent {
    pub fn id(&self) -> JobId {
        match self {
            JobEvent::Progress { id, .. }
            | JobEvent::Partial { id, .. }
            | JobEvent::Done { id, .. }
            | JobEvent::Failed { id, .. }
            | JobEvent::Cancelled { id } => *id,
        }
    }

    /// Whether the job is over.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobEvent::Done { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled { .. }
        )
    }
}

/// What a running job reports through, and its cancel flag.
pub struct JobContext {
    id: JobId,
    tx: Sender<JobEvent>,
    waker: Option<Waker>,
    cancel: Arc<AtomicBool>,
}

impl JobContext {
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The flag set when the job is cancelled, for library calls that poll one.
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the job is cancelled.
    pub fn check(&self) -> Result<(), EngineError> {
        if self.cancelled() {
            Err(EngineError::Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn progress(&self, fraction: Option<f32>, text: impl Into<String>) {
        self.send(JobEvent::Progress {
            id: self.id,
            fraction,
            text: text.into(),
        });
    }

    /// Sends a partial result of the job's own type.
    pub fn partial<T: Send + 'static>(&self, value: T) {
        self.send(JobEvent::Partial {
            id: self.id,
            value: Payload::new(value),
        });
    }

    fn send(&self, e: JobEvent) {
        // The app may be gone (closing): nothing to report to then.
        let _ = self.tx.send(e);
        if let Some(w) = &self.waker {
            w();
        }
    }
}

/// Starts jobs and hands back their events.
pub struct Worker {
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    next: JobId,
    cancels: HashMap<JobId, Arc<AtomicBool>>,
    waker: Option<Waker>,
}

impl Default for Worker {
    fn default() -> Self {
        Self::new()
    }
}

impl Worker {
    pub fn new() -> Self {
        let (tx, rx) = channel();
        Worker {
            tx,
            rx,
            next: 1,
            cancels: HashMap::new(),
            waker: None,
        }
    }

    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = Some(waker);
    }

    /// Starts `job` on its own thread.
    pub fn submit<J: Job>(&mut self, job: J) -> JobId {
        let id = self.next;
        self.next += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        // A job that would not fit is refused before it starts (the app shows the reason).
        if let Some(estimate) = job.memory()
            && let Err(refusal) = super::memory::guard(&estimate)
        {
            let _ = self.tx.send(JobEvent::Failed {
                id,
                error: refusal.to_string(),
            });
            return id;
        }
        self.cancels.insert(id, cancel.clone());
        let ctx = JobContext {
            id,
            tx: self.tx.clone(),
            waker: self.waker.clone(),
            cancel,
        };
        let spawned = std::thread::Builder::new()
            .name(format!("job-{id}"))
            .spawn(move || {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(&ctx)));
                let event = match result {
                    Ok(Ok(output)) => JobEvent::Done {
                        id,
                        output: Payload::new(output),
                    },
                    Ok(Err(e)) if e.is_cancelled() => JobEvent::Cancelled { id },
                    Ok(Err(e)) => JobEvent::Failed {
                        id,
                        error: e.to_string(),
                    },
                    Err(p) => JobEvent::Failed {
                        id,
                        error: format!("internal error: {}", panic_text(&p)),
                    },
                };
                ctx.send(event);
            });
        if let Err(e) = spawned {
            let _ = self.tx.send(JobEvent::Failed {
                id,
                error: format!("could not start a thread: {e}"),
            });
        }
        id
    }

    /// Asks a job to stop; it reports `Cancelled` when it has.
    pub fn cancel(&self, id: JobId) {
        if let Some(c) = self.cancels.get(&id) {
            c.store(true, Ordering::SeqCst);
        }
    }

    /// Events since the last call (never blocks).
    pub fn poll(&mut self) -> Vec<JobEvent> {
        let events: Vec<JobEvent> = self.rx.try_iter().collect();
        for e in &events {
            if e.is_final() {
                self.cancels.remove(&e.id());
            }
        }
        events
    }

    /// Waits up to `timeout` for the next event (for tests and scripts).
    pub fn wait(&mut self, timeout: Duration) -> Option<JobEvent> {
        let e = self.rx.recv_timeout(timeout).ok()?;
        if e.is_final() {
            self.cancels.remove(&e.id());
        }
        Some(e)
    }

    /// Jobs not finished yet.
    pub fn running(&self) -> usize {
        self.cancels.len()
    }
}

fn panic_text(p: &Box<dyn Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a job panicked".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(u32);
    impl Job for Count {
        type Output = u32;
        fn label(&self) -> String {
            "count".into()
        }
        fn run(&self, ctx: &JobContext) -> Result<u32, EngineError> {
            for i in 0..self.0 {
                ctx.check()?;
                ctx.progress(Some(i as f32 / self.0 as f32), format!("{i}"));
                ctx.partial(i);
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(self.0)
        }
    }

    struct Panics;
    impl Job for Panics {
        type Output = ();
        fn label(&self) -> String {
            "panics".into()
        }
        fn run(&self, _: &JobContext) -> Result<(), EngineError> {
            panic!("boom")
        }
    }

    fn last(w: &mut Worker, id: JobId) -> (JobEvent, usize) {
        let mut partials = 0;
        loop {
            let e = w.wait(Duration::from_secs(30)).expect("an event in time");
            assert_eq!(e.id(), id);
            if let JobEvent::Partial { value, .. } = &e {
                assert!(value.get::<u32>().is_some());
                partials += 1;
            }
            if e.is_final() {
                return (e, partials);
            }
        }
    }

    #[test]
    fn typed_outputs_partials_panics_and_cancel() {
        let mut w = Worker::new();
        let id = w.submit(Count(5));
        match last(&mut w, id) {
            (JobEvent::Done { output, .. }, 5) => {
                let output = output.take::<String>().expect_err("not a String");
                assert_eq!(output.take::<u32>().expect("a u32"), 5);
            }
            e => panic!("{e:?}"),
        }
        let id = w.submit(Panics);
        match last(&mut w, id).0 {
            JobEvent::Failed { error, .. } => assert!(error.contains("boom"), "{error}"),
            e => panic!("{e:?}"),
        }
        let id = w.submit(Count(100_000));
        w.cancel(id);
        assert!(matches!(last(&mut w, id).0, JobEvent::Cancelled { .. }));
        assert_eq!(w.running(), 0);
    }

    /// A job whose estimate is over any machine's memory.
    struct Huge;
    impl Job for Huge {
        type Output = ();
        fn label(&self) -> String {
            "huge".into()
        }
        fn run(&self, _: &JobContext) -> Result<(), EngineError> {
            panic!("a refused job must not run")
        }
        fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
            Some(crate::analysis::memory::knn_all(1 << 40, 1 << 20, 10, 1))
        }
    }

    #[test]
    fn a_job_over_the_memory_available_is_refused_before_it_starts() {
        let mut w = Worker::new();
        let id = w.submit(Huge);
        match last(&mut w, id).0 {
            JobEvent::Failed { error, .. } => {
                assert!(error.contains("not enough memory for"), "{error}");
                assert!(error.contains("not started"), "{error}");
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(w.running(), 0);
    }
}

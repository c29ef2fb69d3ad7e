//! Group commit: requests that arrive while one batch is being written wait, then go
//! together in the next. Under load a thousand concurrent placements cost a few
//! transactions instead of a thousand; alone, a request goes at once.

use std::future::Future;
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

/// Requests waiting for their turn, each with where its answer goes.
pub(crate) type Batch<T, R> = Vec<(T, oneshot::Sender<R>)>;

/// Batches concurrent requests of type `T` answered with `R`.
#[derive(Debug)]
pub(crate) struct Coalesce<T, R> {
    queue: Mutex<Batch<T, R>>,
    turn: tokio::sync::Mutex<()>,
}

impl<T, R> Default for Coalesce<T, R> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            turn: tokio::sync::Mutex::new(()),
        }
    }
}

impl<T, R> Coalesce<T, R> {
    /// Queues `item`; whoever gets the turn runs `run` over everything queued (which
    /// answers each). `None` when the batch holding `item` was abandoned without an
    /// answer (its runner was cancelled): the outcome is unknown.
    pub(crate) async fn submit<F, Fut>(&self, item: T, run: F) -> Option<R>
    where
        F: FnOnce(Batch<T, R>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (tx, mut rx) = oneshot::channel();
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((item, tx));
        let turn = self.turn.lock().await;
        match rx.try_recv() {
            Ok(answer) => return Some(answer),
            Err(oneshot::error::TryRecvError::Closed) => return None,
            // Still queued: no runner took it, so this one runs the batch.
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let batch = std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner));
        run(batch).await;
        drop(turn);
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_requests_share_batches_and_each_gets_its_answer() {
        let coalesce = Arc::new(Coalesce::<u32, u32>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..200u32 {
            let (coalesce, runs) = (Arc::clone(&coalesce), Arc::clone(&runs));
            tasks.spawn(async move {
                let answer = coalesce
                    .submit(n, |batch| async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        // A write that takes a moment, so others queue behind it.
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        for (item, answer) in batch {
                            let _ = answer.send(item * 2);
                        }
                    })
                    .await;
                (n, answer)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (n, answer) = done.expect("a task");
            assert_eq!(answer, Some(n * 2));
        }
        let runs = runs.load(Ordering::SeqCst);
        assert!(
            runs < 200,
            "{runs} runs for 200 requests: nothing was batched"
        );
    }

    #[tokio::test]
    async fn a_batch_dropped_unanswered_reports_an_unknown_outcome() {
        let coalesce = Coalesce::<u32, u32>::default();
        let answer = coalesce.submit(1, |batch| async move { drop(batch) }).await;
        assert_eq!(answer, None);
    }
}
